/**
 * Where a download's pieces go: one `.part` file for a file, or a
 * `NAME.part/` folder for a shared folder. The run loop (`download.ts`)
 * sees only this interface: read a verified piece back, store pieces,
 * re-verify what a resumed download already holds, check everything and
 * give it its real name. `_file_target.ts` and `_folder_target.ts`
 * implement it; `openTarget` picks one.
 *
 * @module
 */

import type { BufferPool } from "../util/buffer_pool.ts";
import type { PartialFile } from "../storage/partial_file.ts";
import type { PieceStore, PieceStoreOptions } from "../storage/piece_store.ts";
import type { DownloadError } from "./_download_error.ts";

/** What a store reports back to the download (see `PieceStoreOptions`). */
export type StoreHooks = Omit<
  PieceStoreOptions,
  "part" | "pieceSize" | "size" | "readBack"
>;

/** Options of {@linkcode DownloadTarget.finish}. */
export interface FinishHooks {
  /** The store the pieces were written through. */
  store: PieceStore;
  /** What was served while downloading; closed before the rename. */
  partial?: PartialFile;
  /** The disk error that stopped the download, if one did. */
  diskError: () => DownloadError | undefined;
  /** Serves the saved file or folder from now on (`get --seed`). */
  adopt?: (path: string) => Promise<void>;
  /** Receives one line if the saved file cannot be shared. */
  log?: (line: string) => void;
}

/** Options of {@linkcode DownloadTarget.checkExisting}. */
export interface CheckOptions {
  /** Cancels the check. */
  signal?: AbortSignal;
  /**
   * Called with the bytes checked so far: 0 before the check starts, then
   * now and then as it goes. @default {nothing}
   */
  onChecked?: (bytes: number) => void;
}

/** Where one download's pieces are written, and how it is finished. */
export interface DownloadTarget {
  /** The folder saved into (named by disk errors). */
  readonly dir: string;
  /** The name it will be saved under. */
  readonly name: string;
  /** True when an earlier download's pieces were found to resume from. */
  readonly resumed: boolean;
  /** Its `.part` (an earlier run's may have another name than `name`'s). */
  readonly partPath: string;
  /** A folder's files wholly stored so far, and its files in all. */
  files?(): { done: number; total: number };
  /** Reads verified piece `index` back, into `into` when given. */
  readPiece(index: number, into?: Uint8Array): Uint8Array;
  /** The store verified pieces are handed to. */
  openStore(hooks: StoreHooks, pool: BufferPool): PieceStore;
  /** Indices of the pieces already on disk that match their hash. */
  checkExisting(pool: BufferPool, options?: CheckOptions): Promise<number[]>;
  /** Checks everything against the ID(s) and gives it its real name. */
  finish(hooks: FinishHooks): Promise<string>;
  /** Stops the hashing thread, if any (the store is closed first). */
  stopHashing(): void;
  /** Closes what is open on disk. */
  close(): void;
}
