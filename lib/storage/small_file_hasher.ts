/**
 * Hashing the many small files of a folder share, one after another on
 * this thread with synchronous file calls: for those, the file-system
 * calls around each file cost more than hashing it, and `hashFile`'s
 * asynchronous calls (a round trip to the blocking thread pool each) took
 * most of a share's time.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { DEFAULT_PIECE_SIZE, HASH_BYTES } from "../protocol/limits.ts";
import { pieceCount } from "../protocol/messages.ts";
import { readFull, readFullAsync } from "../util/read_full.ts";
import {
  changedError,
  checkPieces,
  checkPieceSize,
  type FileHash,
  readBytes,
  sameIdentity,
  yieldClock,
} from "./file_hash.ts";
import type { FileIdentity } from "./hash_worker.ts";
import { type OpenedFile, openFound, openFoundWaiting } from "./_found_file.ts";

/** Options for {@linkcode SmallFileHasher}. */
export interface SmallFileHasherOptions {
  /** Bytes per piece, within MIN_PIECE_SIZE..MAX_PIECE_SIZE. @default {DEFAULT_PIECE_SIZE} */
  pieceSize?: number;
  /** Stops hashing; {@linkcode SmallFileHasher.hash} rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Hashes files a folder walk found, one after another on this thread, as
 * `hashFile` (`file_hash.ts`) would but for a folder of many small ones (fewer
 * than THREAD_MIN_PIECES pieces each, which `hashFile` keeps off the
 * hashing thread too): one read buffer serves them all, and each file
 * costs four synchronous file-system calls, open, read, one `fstat` after
 * the read, close.
 *
 * The walk's `lstat` is the file's identity before the read, so the one
 * `fstat` after it shows both that the file opened is the one the walk
 * found (device and inode: whatever a symbolic link put in its place leads
 * to is refused, never hashed) and that it did not change meanwhile (size
 * and modification time); `hashFile` and the scan's second `lstat` took
 * three stats for that. Synchronous calls spare a round trip to the
 * blocking thread pool each: measured (10,000 files of 4 KiB in page
 * cache, 2 cores, the peer's permissions and V8 flags), open, read, fstat
 * and close took 35 µs a file one file at a time, 55 µs with 16 files at a
 * time asynchronously. Every HASH_YIELD_INTERVAL_MS one read is
 * asynchronous instead, to let timers and sockets run. The open follows no
 * symbolic link and waits for no FIFO (`_found_file.ts`): a FIFO put in a
 * file's place would otherwise hang the peer.
 *
 * @example
 * ```ts
 * const hasher = new SmallFileHasher({ pieceSize: 256 * 1024 });
 * const found = fileIdentity(await Deno.lstat("notes.txt"));
 * const { id } = await hasher.hash("notes.txt", found);
 * ```
 */
export class SmallFileHasher {
  #pieceSize: number;
  #signal?: AbortSignal;
  /** Grown as larger files come, up to {@linkcode readBytes}. */
  #buffer = new Uint8Array(0);
  #yieldDue = yieldClock();

  /** A hasher for pieces of `options.pieceSize`; throws `RangeError` if out of bounds. */
  constructor(options: SmallFileHasherOptions = {}) {
    this.#pieceSize = checkPieceSize(options.pieceSize ?? DEFAULT_PIECE_SIZE);
    this.#signal = options.signal;
  }

  /**
   * Hashes the file at `path`, which must be the regular file `found`
   * describes (as `lstat` saw it) and stay so while it is read. Rejects as
   * `Deno.open` does if it cannot be opened (`Deno.errors.NotFound` once
   * it is gone), with an `Error` if it is another file or changed, and a
   * `RangeError` past MAX_PIECES pieces.
   */
  async hash(path: string, found: FileIdentity): Promise<FileHash> {
    this.#signal?.throwIfAborted();
    const pieceSize = this.#pieceSize;
    checkPieces(path, found.size, pieceSize);
    using file = await openHashed(path);
    let hashed: Omit<FileHash, "size" | "pieceSize"> | null;
    try {
      hashed = await this.#hashContents(file, found.size);
    } catch (error) {
      // Reading something else in the file's place (a folder, say) can
      // fail: that is a change, as below.
      if (this.#signal?.aborted || sameIdentity(file.identity(), found)) {
        throw error;
      }
      throw changedError(path);
    }
    if (!hashed || !sameIdentity(file.identity(), found)) {
      throw changedError(path);
    }
    const { id, pieceHashes } = hashed;
    return { id, size: found.size, pieceSize, pieceHashes };
  }

  /**
   * Reads `size` bytes of `file` into the whole-file hash and the piece
   * hashes; null if the file ends before.
   */
  async #hashContents(
    file: OpenedFile,
    size: number,
  ): Promise<Omit<FileHash, "size" | "pieceSize"> | null> {
    const pieceSize = this.#pieceSize;
    const buffer = this.#bufferFor(size);
    const pieceHashes = new Uint8Array(
      pieceCount(size, pieceSize) * HASH_BYTES,
    );
    // The SHA-256 of a file of one piece is that piece's: hashed once.
    const whole = pieceHashes.length === HASH_BYTES
      ? undefined
      : createHash("sha256");
    let id = "";
    let piece = 0;
    for (let done = 0; done < size;) {
      const chunk = buffer.subarray(0, Math.min(buffer.length, size - done));
      const got = this.#yieldDue()
        ? await readFullAsync(file, chunk)
        : readFull(file, chunk);
      this.#signal?.throwIfAborted();
      if (got !== chunk.length) return null;
      whole?.update(chunk);
      for (let at = 0; at < chunk.length; at += pieceSize) {
        const digest = createHash("sha256")
          .update(chunk.subarray(at, at + pieceSize)).digest();
        pieceHashes.set(digest, piece++ * HASH_BYTES);
        if (!whole) id = digest.toString("hex");
      }
      done += chunk.length;
    }
    return { id: whole ? whole.digest("hex") : id, pieceHashes };
  }

  /**
   * The read buffer, grown if it cannot hold `size` bytes (or whole pieces
   * of them, for a file larger than {@linkcode readBytes}); doubling, so a
   * scan whose files grow a little at a time allocates a few times only.
   */
  #bufferFor(size: number): Uint8Array {
    const most = readBytes(this.#pieceSize);
    const need = Math.min(size, most);
    if (this.#buffer.length < need) {
      this.#buffer = new Uint8Array(
        Math.min(most, Math.max(need, 2 * this.#buffer.length)),
      );
    }
    return this.#buffer;
  }
}

/**
 * Opens `path`, found by a folder walk, for {@linkcode SmallFileHasher}: a
 * symbolic link or socket in its place is a change since the walk, and a
 * file another program holds a lease on is waited for.
 */
async function openHashed(path: string): Promise<OpenedFile> {
  try {
    return openFound(path);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ELOOP" || code === "ENXIO") throw changedError(path);
    if (code === "EAGAIN" || code === "EWOULDBLOCK") {
      return await openFoundWaiting(path);
    }
    throw error;
  }
}
