/**
 * Opening, synchronously, a file a folder walk found (to hash it, or later
 * to serve it), so that whatever was put in its place since cannot stall
 * the thread: on Linux and macOS the open neither follows a symbolic link
 * (`O_NOFOLLOW`) nor waits for a writer (`O_NONBLOCK`, so a FIFO opens at
 * once and reads nothing). A blocking open of a FIFO would hang the whole
 * peer, not one request, when it runs on the main thread. Windows has no
 * FIFOs among files and opens with `Deno.openSync`.
 *
 * Opening through `node:fs` costs ~10 µs more per file than `Deno.openSync`
 * (measured, 4 KiB files in page cache: 21 against 11 µs for open, read,
 * `fstat` and close), most of it in `fstatSync`.
 *
 * @module
 */

import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  read,
  readSync,
} from "node:fs";
import { readFull } from "../util/read_full.ts";
import type { FileIdentity } from "./hash_worker.ts";

/** What an open file is now. */
export interface OpenedInfo extends FileIdentity {
  /** Whether it is a regular file. */
  isFile: boolean;
  /** Its links: 0 once it was deleted. */
  nlink: number;
}

/** A file open for reading; closed when disposed. */
export interface OpenedFile extends Disposable {
  /** Reads into `buffer`; the bytes read, 0 at the end (or from a FIFO). */
  readSync(buffer: Uint8Array): number;
  /** {@linkcode readSync}, waiting on the blocking thread pool. */
  read(buffer: Uint8Array): Promise<number>;
  /**
   * Reads from byte `position` until `buffer` is full or the file ends;
   * the bytes read. Moves no file position another read depends on.
   */
  readAt(buffer: Uint8Array, position: number): number;
  /** What the open file is now: its identity, and whether a regular file. */
  identity(): OpenedInfo;
}

const NO_WAIT_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) |
  (constants.O_NONBLOCK ?? 0);

/**
 * Opens the file at `path` for reading without following a symbolic link
 * or waiting on a FIFO. Throws `Deno.errors.NotFound` if it is gone,
 * `Deno.errors.PermissionDenied` if it may not be read, and an `Error`
 * with a `code`: `"ELOOP"` if a symbolic link is there now, `"ENXIO"` for
 * a socket, `"EAGAIN"` (or `"EWOULDBLOCK"`) if another program holds a
 * lease on it (then {@linkcode openFoundWaiting} waits for it).
 */
export function openFound(path: string): OpenedFile {
  if (Deno.build.os === "windows") return denoFile(Deno.openSync(path));
  let fd: number;
  try {
    fd = openSync(path, NO_WAIT_FLAGS);
  } catch (error) {
    throw asDenoError(error);
  }
  return {
    readSync: (buffer) => readSync(fd, buffer, 0, buffer.length, null),
    readAt: (buffer, position) => {
      let filled = 0;
      while (filled < buffer.length) {
        const got = readSync(
          fd,
          buffer,
          filled,
          buffer.length - filled,
          position + filled,
        );
        if (got === 0) break;
        filled += got;
      }
      return filled;
    },
    read: (buffer) =>
      new Promise((resolve, reject) =>
        read(
          fd,
          buffer,
          0,
          buffer.length,
          null,
          (error, bytes) => error ? reject(error) : resolve(bytes),
        )
      ),
    identity: () => {
      const info = fstatSync(fd);
      return {
        isFile: info.isFile(),
        nlink: info.nlink,
        dev: info.dev,
        ino: info.ino,
        size: info.size,
        // Not `info.mtime`: before 1970 its Date is 1 ms off Deno's.
        mtime: info.mtimeMs,
      };
    },
    [Symbol.dispose]: () => closeSync(fd),
  };
}

/**
 * Opens the file at `path` with `Deno.open`, waiting (on the blocking
 * thread pool, not this thread) for whatever holds it: for a file whose
 * no-wait open said another program holds a lease on it.
 */
export async function openFoundWaiting(path: string): Promise<OpenedFile> {
  return denoFile(await Deno.open(path));
}

function denoFile(file: Deno.FsFile): OpenedFile {
  return {
    readSync: (buffer) => file.readSync(buffer) ?? 0,
    read: async (buffer) => await file.read(buffer) ?? 0,
    readAt: (buffer, position) => {
      file.seekSync(position, Deno.SeekMode.Start);
      return readFull(file, buffer);
    },
    identity: () => {
      const info = file.statSync();
      return {
        isFile: info.isFile,
        nlink: info.nlink ?? 1,
        dev: info.dev,
        ino: info.ino,
        size: info.size,
        mtime: info.mtime?.getTime() ?? null,
      };
    },
    [Symbol.dispose]: () => file.close(),
  };
}

/** `node:fs`'s error for a missing or forbidden file as `Deno.open`'s. */
function asDenoError(error: unknown): unknown {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "ENOENT") return new Deno.errors.NotFound(message);
  if (code === "EACCES" || code === "EPERM") {
    return new Deno.errors.PermissionDenied(message);
  }
  return error;
}
