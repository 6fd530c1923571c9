/**
 * Writes a download's pieces to its part file, and reads them back, past
 * the page cache (Linux `O_DIRECT`), through a page-aligned staging buffer.
 *
 * Why: the download is flushed to disk as it goes anyway (`part_file.ts`),
 * so the page cache only holds a copy nobody reads. Filling fresh page-cache
 * pages is the largest cost of a download on a VM whose host takes free
 * memory back: 1 GiB written into them took 1.2-2.0 s of system time here,
 * the same 1 GiB written direct 0.6 s of wall time with 0.15-0.2 s of CPU.
 *
 * Reading a piece back the usual way would undo part of that: read-ahead
 * fills page-cache pages past it, with zeros where pieces are still missing,
 * and each later direct write there must drop them again.
 *
 * Where direct I/O is not possible (no `O_DIRECT` on this system, a file
 * system that refuses it, a short last piece), the caller reads or writes
 * the piece the usual way: {@linkcode DirectFile.write} and
 * {@linkcode DirectFile.read} say so.
 *
 * @module
 */

import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readSync,
  writeSync,
} from "node:fs";

/**
 * Alignment of offsets and lengths written direct: the page size, which
 * covers every logical block size a disk reports (512 or 4096 bytes).
 */
export const DIRECT_ALIGN = 4096;
/** Bytes in one WebAssembly memory page (the staging buffer's unit). */
const WASM_PAGE_BYTES = 65_536;

/** The open file a {@linkcode DirectFile} must find at the path. */
export interface DirectTarget {
  /** Path of the file, which exists. */
  path: string;
  /** Device the caller's open handle has. */
  dev: number;
  /** Inode the caller's open handle has. */
  ino: number | null;
  /** Largest write asked of it (a run of pieces). */
  maxBytes: number;
}

/** A second handle on a file, opened for direct reads and writes. */
export class DirectFile {
  #fd: number;
  #staging: Uint8Array;
  #closed = false;

  private constructor(fd: number, staging: Uint8Array) {
    this.#fd = fd;
    this.#staging = staging;
  }

  /**
   * Opens `target.path` for direct I/O, or returns undefined where that
   * is not possible: no `O_DIRECT` on this system, refused by the file
   * system, or the path is no longer the caller's file.
   */
  static open(target: DirectTarget): DirectFile | undefined {
    const direct = (constants as Record<string, number | undefined>).O_DIRECT;
    if (direct === undefined) return undefined;
    let fd: number;
    try {
      fd = openSync(target.path, constants.O_RDWR | direct);
    } catch {
      return undefined;
    }
    try {
      const info = fstatSync(fd);
      if (info.dev !== target.dev || info.ino !== target.ino) {
        closeSync(fd);
        return undefined;
      }
      // WebAssembly memory is allocated in whole pages of the system's page
      // allocator, so its first byte is page-aligned (a plain ArrayBuffer
      // of this size comes from malloc, 16 bytes past a page).
      const pages = Math.ceil(target.maxBytes / WASM_PAGE_BYTES);
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
      return new DirectFile(
        fd,
        new Uint8Array(memory.buffer, 0, target.maxBytes),
      );
    } catch {
      closeSync(fd);
      return undefined;
    }
  }

  /**
   * Writes `data` (or several arrays laid end to end, in one write: pieces
   * next to each other in the file) at `offset` direct and returns true;
   * returns false when
   * it cannot go direct (unaligned offset or length, larger than the
   * staging buffer, or refused by the system): the caller then writes all
   * of `data` the usual way (over any part written here: the same bytes).
   * Errors other than a refusal (a full disk, say) are thrown.
   */
  write(offset: number, data: Uint8Array | readonly Uint8Array[]): boolean {
    const parts = data instanceof Uint8Array ? [data] : data;
    const length = parts.reduce((sum, part) => sum + part.length, 0);
    if (!this.#fits(offset, length)) return false;
    const staged = this.#staging.subarray(0, length);
    let at = 0;
    for (const part of parts) {
      staged.set(part, at);
      at += part.length;
    }
    let done = 0;
    while (done < staged.length) {
      let wrote: number;
      try {
        wrote = writeSync(
          this.#fd,
          staged,
          done,
          staged.length - done,
          offset + done,
        );
      } catch (error) {
        if (!refused(error)) throw error;
        // Refused (an alignment this file system does not take): this
        // piece (again, whole: same bytes) and every later one are written
        // the usual way.
        this.close();
        return false;
      }
      if (wrote <= 0) throw new Error("the disk took no bytes");
      done += wrote;
    }
    return true;
  }

  /**
   * Reads `length` bytes at `offset` direct into the staging buffer and
   * returns them, a view valid until the next call; undefined when it
   * cannot go direct (as for {@linkcode write}): the caller then reads the
   * usual way. Throws if the file ends first, or on errors other than a
   * refusal.
   */
  read(offset: number, length: number): Uint8Array | undefined {
    if (!this.#fits(offset, length)) return undefined;
    const out = this.#staging.subarray(0, length);
    let done = 0;
    while (done < length) {
      let got: number;
      try {
        got = readSync(this.#fd, out, done, length - done, offset + done);
      } catch (error) {
        if (!refused(error)) throw error;
        this.close();
        return undefined;
      }
      if (got <= 0) {
        throw new Error(`the file ends before byte ${offset + length}`);
      }
      done += got;
    }
    return out;
  }

  /** Closes the handle; later calls go the usual way. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** True if `length` bytes at `offset` can go direct. */
  #fits(offset: number, length: number): boolean {
    return !this.#closed && offset % DIRECT_ALIGN === 0 &&
      length % DIRECT_ALIGN === 0 && length <= this.#staging.length;
  }
}

/** True for the error a system gives for direct I/O it does not take. */
function refused(error: unknown): boolean {
  return (error as { code?: string }).code === "EINVAL";
}
