/**
 * A single file's download target: its `.part` file, hashed whole on a
 * second thread when it is large (`piece_store.ts`), checked against the
 * file's ID and renamed into place (`_save.ts`).
 *
 * @module
 */

import type { FileMeta } from "../protocol/messages.ts";
import { folderLayoutOf } from "../protocol/folder_layout.ts";
import { pieceLength, piecesOf } from "../protocol/messages.ts";
import type { BufferPool } from "../util/buffer_pool.ts";
import { HashThread, THREAD_MIN_PIECES } from "../storage/hash_thread.ts";
import type { PartFile } from "../storage/part_file.ts";
import {
  openPieceStore,
  type PieceStore,
  THREAD_CAN_WRITE,
} from "../storage/piece_store.ts";
import { openFolderTarget } from "./_folder_target.ts";
import { checkExistingPieces } from "./_piece_check.ts";
import { finishDownload, openPart, type OpenPartOptions } from "./_save.ts";
import type {
  CheckOptions,
  DownloadTarget,
  FinishHooks,
  StoreHooks,
} from "./_target.ts";
import { PartUse } from "./_part_use.ts";

/** A download target, with where its `.part` (file or folder) is. */
export type PartTarget = DownloadTarget & {
  /** The `.part`'s path; its name may differ from the one saved under. */
  readonly partPath: string;
};

/** Opens the target a download of `meta` (a file or a folder) writes into. */
export async function openTarget(
  meta: FileMeta,
  options: OpenPartOptions,
): Promise<PartTarget> {
  if (folderLayoutOf(meta)) return await openFolderTarget(meta, options);
  return new FileTarget(meta, await openPart(meta, options), options.signal);
}

/** A single file's `.part`, hashed on a second thread when it is large. */
export class FileTarget implements DownloadTarget {
  #meta: FileMeta;
  #part: PartFile;
  #thread?: HashThread;
  #use: PartUse;

  /** The target of `meta` in `part`, for a download stopped by `signal`. */
  constructor(meta: FileMeta, part: PartFile, signal?: AbortSignal) {
    this.#meta = meta;
    this.#part = part;
    this.#use = new PartUse(signal);
    if (piecesOf(meta) >= THREAD_MIN_PIECES && THREAD_CAN_WRITE) {
      this.#thread = new HashThread();
    }
  }

  get dir(): string {
    return this.#part.dir;
  }

  get name(): string {
    return this.#part.name;
  }

  /** The `.part` file. */
  get partPath(): string {
    return this.#part.partPath;
  }

  get resumed(): boolean {
    return this.#part.resumed;
  }

  readPiece(index: number, into?: Uint8Array): Uint8Array {
    const meta = this.#meta;
    return this.#part.read(
      index * meta.pieceSize,
      pieceLength(meta, index),
      into,
    );
  }

  openStore(hooks: StoreHooks, pool: BufferPool): PieceStore {
    return this.#use.track(openPieceStore(piecesOf(this.#meta), {
      ...this.#use.hooks(hooks),
      part: this.#part,
      pieceSize: this.#meta.pieceSize,
      size: this.#meta.size,
      readBack: (index) => this.readPiece(index, pool.take()),
    }, this.#thread));
  }

  checkExisting(pool: BufferPool, options?: CheckOptions): Promise<number[]> {
    return checkExistingPieces({
      ...options,
      meta: this.#meta,
      part: this.#part,
      pool,
      thread: this.#thread,
    });
  }

  finish(hooks: FinishHooks): Promise<string> {
    this.#use.finishing();
    return finishDownload({ ...hooks, meta: this.#meta, part: this.#part });
  }

  stopHashing(): void {
    this.#thread?.close();
  }

  /** Closes the `.part`; takes it away if it may go and holds nothing. */
  close(): void {
    if (this.#use.mayGo) this.#part.abandon();
    else this.#part.close();
  }
}
