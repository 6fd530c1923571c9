/**
 * A folder download's target: `OUT/NAME.part/` with every file and folder
 * of the manifest, each verified piece written into its file, each file
 * hashed whole as its pieces arrive, and the folder renamed to `OUT/NAME`
 * only when every file matches its own ID. With `--force` an existing
 * folder `OUT/NAME` is replaced only if it holds nothing the share does
 * not have: refused before anything is fetched, and again at the end.
 *
 * @module
 */

import type { FileMeta } from "../protocol/messages.ts";
import { folderLayoutOf } from "../protocol/folder_layout.ts";
import type { BufferPool } from "../util/buffer_pool.ts";
import { PartBusyError } from "../storage/part_file.ts";
import {
  FolderPart,
  ForeignEntriesError,
  StrayEntriesError,
} from "../storage/folder_part.ts";
import {
  checkExistingFolderPieces,
  FolderStore,
} from "../storage/folder_store.ts";
import { HashThread, THREAD_MIN_PIECES } from "../storage/hash_thread.ts";
import { type PieceStore, THREAD_CAN_WRITE } from "../storage/piece_store.ts";
import { diskError, DownloadError } from "./_download_error.ts";
import { type OpenPartOptions, savedName } from "./_save.ts";
import type {
  CheckOptions,
  DownloadTarget,
  FinishHooks,
  StoreHooks,
} from "./_target.ts";
import { PartUse } from "./_part_use.ts";

/** Opens (or resumes) `OUT/NAME.part/` for the folder `meta`. */
export async function openFolderTarget(
  meta: FileMeta,
  options: OpenPartOptions,
): Promise<DownloadTarget & { readonly partPath: string }> {
  try {
    const part = await FolderPart.open({
      dir: options.outDir,
      name: savedName(meta, options.saveAs),
      meta,
      force: options.force,
    });
    return new FolderTarget(meta, part, options.signal);
  } catch (error) {
    if (error instanceof PartBusyError) throw new DownloadError(error.message);
    if (error instanceof ForeignEntriesError) throw notReplaceable(error);
    throw diskError(options.outDir, error);
  }
}

/**
 * The sentence for a `--force` that would delete what the user has in
 * the folder it replaces; `keptIn` is the `.part` folder the download is
 * kept in when it was refused only at the end.
 */
function notReplaceable(
  error: ForeignEntriesError,
  keptIn?: string,
): DownloadError {
  const { count, shown } = error;
  const [entries, them] = count === 1 ? ["entry", "it"] : ["entries", "them"];
  const list = shown.join(", ") + (count > shown.length ? ", …" : "");
  const found = `Cannot replace the folder ${error.path}: it ${
    keptIn ? "now holds" : "holds"
  } ${count} ${entries} the share does not have (${list}); --force would delete ${them}.`;
  return new DownloadError(
    keptIn
      ? `${found} The download is kept in ${keptIn}: move ${them} away and run the same get again, or leave out --force to save under a free name.`
      : `${found} Move ${them} away, or leave out --force to save under a free name.`,
  );
}

/**
 * The sentence for a `NAME.part/` that someone put entries in while the
 * download ran: its verified files are kept there to resume.
 */
function strayEntries(error: StrayEntriesError): DownloadError {
  const { count, shown } = error;
  const [entries, them] = count === 1 ? ["entry", "it"] : ["entries", "them"];
  const list = shown.join(", ") + (count > shown.length ? ", …" : "");
  return new DownloadError(
    `Not saved: ${error.path} holds ${count} ${entries} the share does not have (${list}), put there while it downloaded. Move ${them} out and run the same get again: it resumes from the verified files kept there.`,
  );
}

/**
 * A folder's `NAME.part/`: small files written and hashed on this thread,
 * large ones on a hashing thread (one at a time) where it may write.
 */
class FolderTarget implements DownloadTarget {
  #meta: FileMeta;
  #part: FolderPart;
  #store?: FolderStore;
  #thread?: HashThread;
  #use: PartUse;

  constructor(meta: FileMeta, part: FolderPart, signal?: AbortSignal) {
    this.#meta = meta;
    this.#part = part;
    this.#use = new PartUse(signal);
    const large = part.layout.files.some((file) =>
      file.pieces >= THREAD_MIN_PIECES
    );
    if (large && THREAD_CAN_WRITE) this.#thread = new HashThread();
  }

  get dir(): string {
    return this.#part.dir;
  }

  get name(): string {
    return this.#part.name;
  }

  /** The `.part` folder. */
  get partPath(): string {
    return this.#part.partPath;
  }

  get resumed(): boolean {
    return this.#part.resumed;
  }

  /** Files wholly stored so far, and files in all. */
  files(): { done: number; total: number } {
    const total = folderLayoutOf(this.#meta)!.files.length;
    return { done: this.#store?.filesDone ?? 0, total };
  }

  readPiece(index: number, into?: Uint8Array): Uint8Array {
    const meta = this.#meta;
    const length = folderLayoutOf(meta)!.pieceLength(index);
    return this.#part.read(index * meta.pieceSize, length, into);
  }

  openStore(hooks: StoreHooks, pool: BufferPool): PieceStore {
    this.#store = new FolderStore({
      ...this.#use.hooks(hooks),
      part: this.#part,
      meta: this.#meta,
      thread: this.#thread,
      readBack: (index) => this.readPiece(index, pool.take()),
    });
    return this.#use.track(this.#store);
  }

  checkExisting(_pool: BufferPool, options?: CheckOptions): Promise<number[]> {
    return checkExistingFolderPieces({
      meta: this.#meta,
      part: this.#part,
      signal: options?.signal,
      onChecked: options?.onChecked,
    });
  }

  async finish(hooks: FinishHooks): Promise<string> {
    this.#use.finishing();
    const meta = this.#meta;
    let bad: number[];
    try {
      bad = await this.#store!.badFiles();
    } catch (error) {
      throw hooks.diskError() ?? diskError(this.#part.dir, error);
    }
    hooks.partial?.close();
    if (bad.length > 0) {
      await this.#part.discard();
      const file = folderLayoutOf(meta)!.files[bad[0]];
      throw new DownloadError(
        `The downloaded ${
          file.path.join("/")
        } in ${meta.name} does not match its ID; the peers' metadata is wrong, nothing was saved under its name.`,
        { retryable: true },
      );
    }
    let path: string;
    try {
      path = await this.#part.commit();
    } catch (error) {
      if (error instanceof StrayEntriesError) throw strayEntries(error);
      if (error instanceof ForeignEntriesError) {
        throw notReplaceable(error, this.#part.partPath);
      }
      throw diskError(this.#part.dir, error);
    }
    if (hooks.adopt) {
      await hooks.adopt(path).catch((error) =>
        hooks.log?.(
          `Saved, but cannot keep sharing ${meta.name}: ${
            (error as Error).message ?? error
          }`,
        )
      );
    }
    return path;
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
