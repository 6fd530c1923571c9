/**
 * A scanned folder (`folder_scan.ts`) being shared: folder piece `i` is
 * read from the file that holds it (`protocol/folder_layout.ts`), at its
 * offset in that file, never copied. As for a single shared file
 * (`shared_file.ts`), every read first checks that the file still has the
 * size and modification time it had when scanned, so a changed file is
 * refused rather than served with wrong bytes. A folder may hold far more
 * files than a process may open, so only the most recently read
 * {@linkcode MAX_OPEN_FOLDER_FILES} stay open.
 *
 * @example
 * ```ts
 * using source = FolderSource.open(await scanFolder("holiday"));
 * const first = await source.readPiece(0);
 * ```
 *
 * @module
 */

import type { FileMeta } from "../protocol/messages.ts";
import {
  type FolderLayout,
  folderLayoutOf,
} from "../protocol/folder_layout.ts";
import type { ScannedFile, ScannedFolder } from "./folder_scan.ts";
import type { FileIdentity } from "./hash_worker.ts";
import type { PieceSource } from "./piece_source.ts";
import { PATH_CHECK_INTERVAL_MS } from "./shared_file.ts";
import { type OpenedFile, type OpenedInfo, openFound } from "./_found_file.ts";

/** Most files of one shared folder kept open at once (least recently read closed first). */
export const MAX_OPEN_FOLDER_FILES = 64;

/** Options for {@linkcode FolderSource.open}. */
export interface FolderSourceOptions {
  /** Most files kept open at once. @default {MAX_OPEN_FOLDER_FILES} */
  maxOpenFiles?: number;
}

/** An open file of the folder. */
interface Handle {
  file: OpenedFile;
  /** When the path was last checked to still name this file. */
  pathCheckedAt: number;
}

/** A scanned folder offered to downloaders, read piece by piece. */
export class FolderSource implements PieceSource {
  /** The folder's metadata, manifest included. */
  readonly meta: FileMeta;
  /** Every file, in manifest order, as scanned. */
  readonly files: readonly ScannedFile[];
  #layout: FolderLayout;
  #maxOpen: number;
  /** Open files by index in `files`, least recently read first. */
  #open = new Map<number, Handle>();
  #closed = false;

  private constructor(
    scanned: ScannedFolder,
    layout: FolderLayout,
    maxOpen: number,
  ) {
    this.meta = scanned.meta;
    this.files = scanned.files;
    this.#layout = layout;
    this.#maxOpen = maxOpen;
  }

  /**
   * Serves `scanned`. Files are opened when first read. Throws `TypeError`
   * if `scanned.meta` is not a folder or its files do not match its
   * manifest, `RangeError` for a bad `maxOpenFiles`.
   */
  static open(
    scanned: ScannedFolder,
    options: FolderSourceOptions = {},
  ): FolderSource {
    const maxOpen = options.maxOpenFiles ?? MAX_OPEN_FOLDER_FILES;
    if (!Number.isSafeInteger(maxOpen) || maxOpen < 1) {
      throw new RangeError(
        `maxOpenFiles must be a whole number of at least 1, not ${maxOpen}`,
      );
    }
    const layout = folderLayoutOf(scanned.meta);
    if (!layout) {
      throw new TypeError(`"${scanned.meta.name}" is a file, not a folder`);
    }
    const matches = layout.files.length === scanned.files.length &&
      layout.files.every((laid, i) => {
        const file = scanned.files[i];
        return laid.id === file.meta.id && laid.size === file.meta.size &&
          laid.path.join("/") === file.entryPath.join("/");
      });
    if (!matches) {
      throw new TypeError(
        `The files of "${scanned.meta.name}" do not match its manifest`,
      );
    }
    return new FolderSource(scanned, layout, maxOpen);
  }

  /** Pieces of all files together. */
  get pieces(): number {
    return this.#layout.pieces;
  }

  /** True once {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Files open now, at most `maxOpenFiles`. */
  get openFiles(): number {
    return this.#open.size;
  }

  /**
   * Reads folder piece `index` from its file. Throws `RangeError` for an
   * index out of range, and an `Error` saying what changed if that file
   * changed (size, modification time, deleted or replaced) since it was
   * scanned. With `into` (at least a piece long) the piece is read into
   * it; the result is then a view of `into`.
   */
  readPiece(index: number, into?: Uint8Array): Promise<Uint8Array> {
    try {
      return Promise.resolve(this.#read(index, into));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Closes every open file; later reads throw. Safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { file } of this.#open.values()) file[Symbol.dispose]();
    this.#open.clear();
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  // Synchronous file calls, as in SharedFile: faster for piece-sized reads
  // from page cache, and nothing moves the position between seek and read.
  #read(index: number, into?: Uint8Array): Uint8Array {
    if (this.#closed) {
      throw new Error(`"${this.meta.name}" is no longer shared`);
    }
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.pieces) {
      throw new RangeError(
        `Piece ${index} is outside 0..${
          this.pieces - 1
        } of "${this.meta.name}"`,
      );
    }
    const f = this.#layout.fileOf(index);
    const { path } = this.files[f];
    const { file } = this.#handle(f);
    const length = this.#layout.pieceLength(index);
    const out = into && into.length >= length
      ? into.subarray(0, length)
      : new Uint8Array(length);
    const local = index - this.#layout.files[f].firstPiece;
    if (file.readAt(out, local * this.meta.pieceSize) < out.length) {
      this.#forget(f);
      throw new Error(`"${path}" is shorter than when it was shared`);
    }
    return out;
  }

  /**
   * The open file `f`, opened now if it is not (closing the least recently
   * read one past the cap); throws if it changed since it was scanned.
   */
  #handle(f: number): Handle {
    const { path, identity } = this.files[f];
    const known = this.#open.get(f);
    if (known) {
      this.#open.delete(f);
      this.#open.set(f, known);
      let change = describeChange(identity, known.file.identity(), false);
      if (
        !change &&
        performance.now() - known.pathCheckedAt >= PATH_CHECK_INTERVAL_MS
      ) {
        change = pathChange(path, identity);
        known.pathCheckedAt = performance.now();
      }
      if (change) {
        this.#forget(f);
        throw changedError(path, change);
      }
      return known;
    }
    const file = openFile(path);
    const change = describeChange(identity, file.identity(), true);
    if (change) {
      file[Symbol.dispose]();
      throw changedError(path, change);
    }
    for (const [oldest, handle] of this.#open) {
      if (this.#open.size < this.#maxOpen) break;
      handle.file[Symbol.dispose]();
      this.#open.delete(oldest);
    }
    const handle = { file, pathCheckedAt: performance.now() };
    this.#open.set(f, handle);
    return handle;
  }

  /** Closes file `f` if open. */
  #forget(f: number): void {
    this.#open.get(f)?.file[Symbol.dispose]();
    this.#open.delete(f);
  }
}

/**
 * Opens file `path` of the folder to serve it: a link, FIFO or socket put
 * in its place since the scan is a change, never followed or waited on
 * (`_found_file.ts`).
 */
function openFile(path: string): OpenedFile {
  try {
    return openFound(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw changedError(path, "was deleted");
    }
    const code = (error as { code?: string }).code;
    if (code === "ELOOP" || code === "ENXIO") {
      throw changedError(path, "was replaced by another file");
    }
    throw new Error(
      `Cannot read "${path}": ${
        error instanceof Error ? error.message : error
      }`,
    );
  }
}

function changedError(path: string, change: string): Error {
  return new Error(
    `"${path}" ${change} since it was shared; share the folder again`,
  );
}

/**
 * What changed between `identity` (as scanned) and `info`, or undefined;
 * with `sameFile`, also whether `info` is another file altogether.
 */
function describeChange(
  identity: FileIdentity,
  info: OpenedInfo,
  sameFile: boolean,
): string | undefined {
  if (info.nlink === 0) return "was deleted";
  if (
    sameFile &&
    (!info.isFile || info.dev !== identity.dev || info.ino !== identity.ino)
  ) {
    return "was replaced by another file";
  }
  if (info.size !== identity.size) {
    return `changed size (${identity.size} to ${info.size} bytes)`;
  }
  if (info.mtime !== identity.mtime) return "was modified";
  return undefined;
}

/** Why `path` no longer names the file scanned, or undefined if it does. */
function pathChange(path: string, identity: FileIdentity): string | undefined {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "was deleted";
    throw error;
  }
  if (info.dev !== identity.dev || info.ino !== identity.ino) {
    return "was replaced by another file";
  }
  return undefined;
}
