/**
 * A file being shared: pieces are read from the original file at their
 * offsets (never copied into chunk files), and every read first checks that
 * the file still has the size and modification time it had when shared, so
 * a changed file is refused rather than served with wrong bytes.
 *
 * @module
 */

import type { FileMeta } from "../protocol/messages.ts";
import { pieceCount, pieceLength } from "../protocol/messages.ts";
import { readFull } from "../util/read_full.ts";

/**
 * How often a read also checks the path, not just the open file, so a file
 * deleted or replaced while shared is noticed without a stat per piece.
 */
export const PATH_CHECK_INTERVAL_MS = 1_000;

/** What the file looked like when it was shared. */
interface Fingerprint {
  size: number;
  mtimeMs: number | undefined;
  dev: number;
  ino: number | null;
}

/** An open file offered to downloaders, read piece by piece. */
export class SharedFile {
  /** The file's metadata, as registered with the tracker. */
  readonly meta: FileMeta;
  /** Where the file was opened from. */
  readonly path: string;
  #file: Deno.FsFile;
  #print: Fingerprint;
  #pieces: number;
  #pathCheckedAt = performance.now();
  #closed = false;

  private constructor(
    path: string,
    meta: FileMeta,
    file: Deno.FsFile,
    print: Fingerprint,
  ) {
    this.path = path;
    this.meta = meta;
    this.#file = file;
    this.#print = print;
    this.#pieces = pieceCount(meta.size, meta.pieceSize);
  }

  /**
   * Opens `path` to serve the file `meta` describes. Throws if it is not a
   * regular file of `meta.size` bytes; the caller is expected to have hashed
   * it just before.
   */
  static async open(path: string, meta: FileMeta): Promise<SharedFile> {
    const file = await Deno.open(path, { read: true });
    try {
      const info = file.statSync();
      if (!info.isFile) throw new TypeError(`"${path}" is not a regular file`);
      if (info.size !== meta.size) {
        throw new Error(
          `"${path}" is ${info.size} bytes, not the ${meta.size} bytes hashed; it changed, share it again`,
        );
      }
      return new SharedFile(path, meta, file, fingerprint(info));
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** Pieces in the file. */
  get pieces(): number {
    return this.#pieces;
  }

  /** True once {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Reads piece `index` from its offset in the file. Throws `RangeError` for
   * an index out of range, and an `Error` saying what changed if the file
   * changed (size, modification time, deleted or replaced) since sharing.
   * With `into` (at least a piece long) the piece is read into it, to reuse
   * buffers; the result is then a view of `into`.
   */
  readPiece(index: number, into?: Uint8Array): Promise<Uint8Array> {
    try {
      return Promise.resolve(this.#read(index, into));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Throws if the file changed since it was shared (see
   * {@linkcode readPiece}); checks the path as well as the open file.
   */
  check(): void {
    if (this.#closed) {
      throw new Error(`"${this.meta.name}" is no longer shared`);
    }
    const change = describeChange(this.#print, this.#file.statSync()) ??
      this.#pathChange();
    if (change) {
      throw new Error(`"${this.path}" ${change} since it was shared`);
    }
    this.#pathCheckedAt = performance.now();
  }

  /**
   * True when the only change is the modification time: the path still
   * names the open file, of the same size (a `touch`, or a program that
   * rewrote the same bytes in place). Only hashing it again tells whether
   * its bytes are the same.
   */
  touchedOnly(): boolean {
    if (this.#closed) return false;
    try {
      const info = this.#file.statSync();
      return info.nlink !== 0 && info.size === this.#print.size &&
        info.mtime?.getTime() !== this.#print.mtimeMs &&
        this.#pathChange() === undefined;
    } catch {
      return false;
    }
  }

  /** Closes the file; later reads throw. Safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  // Synchronous file calls: several times faster than async ones for
  // piece-sized reads from page cache (issue #4), and nothing can move the
  // file position between the seek and the read.
  #read(index: number, into?: Uint8Array): Uint8Array {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.#pieces) {
      throw new RangeError(
        `Piece ${index} is outside 0..${
          this.#pieces - 1
        } of "${this.meta.name}"`,
      );
    }
    if (performance.now() - this.#pathCheckedAt >= PATH_CHECK_INTERVAL_MS) {
      this.check();
    } else {
      this.#checkOpenFile();
    }
    const length = pieceLength(this.meta, index);
    const out = into && into.length >= length
      ? into.subarray(0, length)
      : new Uint8Array(length);
    this.#file.seekSync(index * this.meta.pieceSize, Deno.SeekMode.Start);
    if (readFull(this.#file, out) < out.length) {
      throw new Error(`"${this.path}" is shorter than when it was shared`);
    }
    return out;
  }

  #checkOpenFile(): void {
    if (this.#closed) {
      throw new Error(`"${this.meta.name}" is no longer shared`);
    }
    const change = describeChange(this.#print, this.#file.statSync());
    if (change) {
      throw new Error(`"${this.path}" ${change} since it was shared`);
    }
  }

  /** Why the path no longer names the open file, or undefined if it does. */
  #pathChange(): string | undefined {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(this.path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return "was deleted";
      throw error;
    }
    if (info.dev !== this.#print.dev || info.ino !== this.#print.ino) {
      return "was replaced by another file";
    }
    return undefined;
  }
}

function fingerprint(info: Deno.FileInfo): Fingerprint {
  return {
    size: info.size,
    mtimeMs: info.mtime?.getTime(),
    dev: info.dev,
    ino: info.ino,
  };
}

/** What changed between the fingerprint and `info`, or undefined. */
function describeChange(
  print: Fingerprint,
  info: Deno.FileInfo,
): string | undefined {
  if (info.nlink === 0) return "was deleted";
  if (info.size !== print.size) {
    return `changed size (${print.size} to ${info.size} bytes)`;
  }
  if (info.mtime?.getTime() !== print.mtimeMs) return "was modified";
  return undefined;
}
