/**
 * Hashing a file to share: the whole-file SHA-256 (the file ID) and the
 * SHA-256 of every piece, in constant memory.
 *
 * Every byte is hashed twice, for its piece and for the whole file, and two
 * cores share the work. This thread reads the file in order into the
 * whole-file `node:crypto` hash, as a plain streaming SHA-256 would; a
 * hashing thread (`hash_thread.ts`) opens the same file itself and reads and
 * hashes pieces. One shared counter settles who hashes which piece: until
 * the thread has started, this thread also hashes each piece it reads; once
 * it has read the whole file, it reads again and hashes the pieces the
 * thread has not got to, so that both finish together. Reading pieces twice
 * from the page cache costs less than handing buffers between threads, and
 * neither thread waits for the other.
 *
 * Measured (1 GiB in page cache, 2 cores, against the plain streaming hash
 * in the same run): this thread handing 4 MiB batches it read to the
 * hashing thread 74-77%; this design 87-92%. About 5 points of that come
 * from how the loop yields (see {@linkcode pacer}).
 *
 * A folder of many small files is hashed by `SmallFileHasher`
 * (`small_file_hasher.ts`) instead: for those, the file-system calls
 * around each file cost more than hashing it.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  DEFAULT_PIECE_SIZE,
  HASH_BYTES,
  MAX_PIECE_SIZE,
  MAX_PIECES,
  MIN_PIECE_SIZE,
} from "../protocol/limits.ts";
import { HashThread, THREAD_MIN_PIECES } from "./hash_thread.ts";
import type { FileIdentity } from "./hash_worker.ts";
import { pieceCount } from "../protocol/messages.ts";
import { readFull, readFullAsync } from "../util/read_full.ts";

/** Bytes this thread reads at a time, in whole pieces (at least one). */
export const HASH_READ_BYTES = 256 * 1024;
/** Least time between two progress callbacks (about 10 a second). */
export const HASH_PROGRESS_INTERVAL_MS = 100;
/** Longest the hash loop runs before letting timers and sockets have a turn. */
export const HASH_YIELD_INTERVAL_MS = 20;

/** Options for {@linkcode hashFile}. */
export interface HashFileOptions {
  /** Bytes per piece, within MIN_PIECE_SIZE..MAX_PIECE_SIZE. @default {DEFAULT_PIECE_SIZE} */
  pieceSize?: number;
  /** Called with bytes hashed so far, at most about 10 times a second and once at the end. */
  onProgress?: (done: number, total: number) => void;
  /** Stops hashing; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** What {@linkcode hashFile} found. */
export interface FileHash {
  /** SHA-256 of the whole file, 64 lowercase hex chars. */
  id: string;
  /** Bytes hashed. */
  size: number;
  /** Bytes per piece. */
  pieceSize: number;
  /** SHA-256 of every piece, concatenated (32 bytes each). */
  pieceHashes: Uint8Array;
}

/**
 * Hashes a file: the whole-file SHA-256 and each piece's SHA-256. Throws if
 * the file changes while it is read.
 *
 * @example
 * ```ts
 * const { id, pieceHashes } = await hashFile("video.mp4", {
 *   onProgress: (done, total) => console.log(`${done} of ${total}`),
 * });
 * ```
 */
export async function hashFile(
  path: string,
  options: HashFileOptions = {},
): Promise<FileHash> {
  const pieceSize = checkPieceSize(options.pieceSize ?? DEFAULT_PIECE_SIZE);
  options.signal?.throwIfAborted();
  using file = await Deno.open(path, { read: true });
  const before = file.statSync();
  if (!before.isFile) throw new TypeError(`"${path}" is not a regular file`);
  const pieces = checkPieces(path, before.size, pieceSize);
  const job: Job = {
    path,
    file,
    total: before.size,
    pieces,
    pieceSize,
    claims: new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)),
    digests: new Uint8Array(new SharedArrayBuffer(pieces * HASH_BYTES)),
    buffer: new Uint8Array(Math.min(before.size, readBytes(pieceSize))),
    pace: pacer(before.size, options),
    signal: options.signal,
  };
  using thread = pieces >= THREAD_MIN_PIECES ? new HashThread() : undefined;
  const theirs = thread?.filePieces(path, {
    pieceSize,
    claims: job.claims,
    digests: job.digests,
    expect: fileIdentity(before),
  });
  // Awaited below unless this thread hashed every piece; if hashing stops
  // early, the thread closes and this rejects with nobody left to care.
  theirs?.catch(() => {});
  const { id, bytes, mine } = await readAndHash(job);
  if (bytes !== before.size) throw changedError(path);
  const ours = mine + await hashUnclaimed(job);
  if (ours < pieces) {
    const hashed = theirs && await abortable(theirs, options.signal);
    if (hashed === undefined || ours + hashed !== pieces) {
      throw changedError(path);
    }
  }
  if (!sameFile(file.statSync(), fileIdentity(before))) {
    throw changedError(path);
  }
  options.onProgress?.(bytes, before.size);
  return { id, size: bytes, pieceSize, pieceHashes: job.digests.slice() };
}

/**
 * A file that changed while it was being hashed; the message names it
 * (`"PATH" changed while it was being hashed; try again`).
 */
export class FileChangedError extends Error {
  /** The file that changed. */
  readonly path: string;
  /** Creates the error for `path`. */
  constructor(path: string) {
    super(`"${path}" changed while it was being hashed; try again`);
    this.name = "FileChangedError";
    this.path = path;
  }
}

/** The error for a file that changed while it was being hashed. */
export function changedError(path: string): FileChangedError {
  return new FileChangedError(path);
}

/** Pieces of a file of `size` bytes; a `RangeError` past MAX_PIECES. */
export function checkPieces(
  path: string,
  size: number,
  pieceSize: number,
): number {
  const pieces = pieceCount(size, pieceSize);
  if (pieces > MAX_PIECES) {
    throw new RangeError(
      `"${path}" would have ${pieces} pieces of ${pieceSize} bytes, over the limit of ${MAX_PIECES}; choose a larger piece size`,
    );
  }
  return pieces;
}

/** What the hashing thread checks to know it opened the same file. */
export function fileIdentity(info: Deno.FileInfo): FileIdentity {
  return {
    dev: info.dev,
    ino: info.ino,
    size: info.size,
    mtime: info.mtime?.getTime() ?? null,
  };
}

/**
 * Whether `info` is the regular file `expect` describes, unchanged: the
 * same device and inode, size and modification time.
 */
export function sameFile(info: Deno.FileInfo, expect: FileIdentity): boolean {
  return sameIdentity({ ...fileIdentity(info), isFile: info.isFile }, expect);
}

/**
 * Whether `now` (an open file's identity, and whether it is a regular
 * file) is the regular file `expect` describes, unchanged.
 */
export function sameIdentity(
  now: FileIdentity & { isFile: boolean },
  expect: FileIdentity,
): boolean {
  return now.isFile && now.dev === expect.dev && now.ino === expect.ino &&
    now.size === expect.size && now.mtime === expect.mtime;
}

/**
 * Bytes read at a time with pieces of `pieceSize`: whole pieces,
 * HASH_READ_BYTES or one piece if larger.
 */
export function readBytes(pieceSize: number): number {
  return pieceSize * Math.max(1, Math.floor(HASH_READ_BYTES / pieceSize));
}

/** `pieceSize` if within MIN_PIECE_SIZE..MAX_PIECE_SIZE; else a `RangeError`. */
export function checkPieceSize(pieceSize: number): number {
  if (
    !Number.isSafeInteger(pieceSize) || pieceSize < MIN_PIECE_SIZE ||
    pieceSize > MAX_PIECE_SIZE
  ) {
    throw new RangeError(
      `Piece size ${pieceSize} is outside ${MIN_PIECE_SIZE}..${MAX_PIECE_SIZE} bytes`,
    );
  }
  return pieceSize;
}

/** One file being hashed, as this thread sees it. */
interface Job {
  path: string;
  file: Deno.FsFile;
  /** Bytes in the file. */
  total: number;
  pieces: number;
  pieceSize: number;
  /** Shared with the hashing thread; see {@linkcode HashThread.filePieces}. */
  claims: Int32Array<SharedArrayBuffer>;
  /** Every piece's SHA-256, whoever hashed it. */
  digests: Uint8Array<SharedArrayBuffer>;
  /** Whole pieces (see {@linkcode readBytes}), or the whole file if smaller. */
  buffer: Uint8Array<ArrayBuffer>;
  pace: (done: number) => boolean;
  signal?: AbortSignal;
}

/** What the reading pass found. */
interface ReadResult {
  /** The whole-file SHA-256, hex. */
  id: string;
  /** Bytes read (fewer than the size if the file shrank). */
  bytes: number;
  /** Pieces this pass hashed: the first `mine`. */
  mine: number;
}

/**
 * The reading pass: reads the whole file in order into the whole-file hash
 * and, until the hashing thread has claimed a piece, claims and hashes each
 * piece it reads too.
 */
async function readAndHash(job: Job): Promise<ReadResult> {
  const { total, pieceSize, claims, buffer } = job;
  const whole = createHash("sha256");
  let done = 0;
  let mine = 0;
  let claiming = true;
  while (done < total) {
    const chunk = buffer.subarray(0, Math.min(buffer.length, total - done));
    if (await read(job, chunk, done) !== chunk.length) break;
    whole.update(chunk);
    for (let at = 0; claiming && at < chunk.length; at += pieceSize) {
      claiming = Atomics.compareExchange(claims, 0, mine, mine + 1) === mine;
      if (!claiming) break;
      hashPiece(job, mine, chunk.subarray(at, at + pieceSize));
      mine++;
    }
    done += chunk.length;
  }
  return { id: whole.digest("hex"), bytes: done, mine };
}

/**
 * After the reading pass: claims, reads again and hashes the pieces the
 * hashing thread has not got to yet, so that both threads finish together.
 * Returns how many it hashed; throws if the file shrank.
 */
async function hashUnclaimed(job: Job): Promise<number> {
  const { file, total, pieces, pieceSize, claims, buffer } = job;
  let hashed = 0;
  for (
    let i = Atomics.add(claims, 0, 1);
    i < pieces;
    i = Atomics.add(claims, 0, 1)
  ) {
    const piece = buffer.subarray(
      0,
      Math.min(pieceSize, total - i * pieceSize),
    );
    file.seekSync(i * pieceSize, Deno.SeekMode.Start);
    if (await read(job, piece, total) !== piece.length) {
      throw changedError(job.path);
    }
    hashPiece(job, i, piece);
    hashed++;
  }
  return hashed;
}

function hashPiece(job: Job, index: number, piece: Uint8Array): void {
  job.digests.set(
    createHash("sha256").update(piece).digest(),
    index * HASH_BYTES,
  );
}

/**
 * Fills `buffer` from the file's position (fewer bytes at its end); every
 * HASH_YIELD_INTERVAL_MS asynchronously, to let timers and sockets run.
 * Throws once the job's signal aborts.
 */
async function read(
  job: Job,
  buffer: Uint8Array,
  done: number,
): Promise<number> {
  const got = job.pace(done)
    ? await readFullAsync(job.file, buffer)
    : readFull(job.file, buffer);
  job.signal?.throwIfAborted();
  return got;
}

/** `promise`, or a rejection with the signal's reason once it aborts. */
function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(signal.reason);
    signal.addEventListener("abort", stop, { once: true });
    promise.then(resolve, reject).finally(() =>
      signal.removeEventListener("abort", stop)
    );
  });
}

/**
 * Returns a function to call before each read: it reports progress at most
 * every HASH_PROGRESS_INTERVAL_MS, and returns true every
 * HASH_YIELD_INTERVAL_MS, when the next read should be asynchronous.
 * Waiting for an asynchronous read lets timers and sockets run for the cost
 * of a thread hop (~0.1 ms), where `setTimeout(0)` would leave the thread
 * idle for ~2 ms (measured: 50 of those were ~10% of hashing 1 GiB).
 */
function pacer(
  total: number,
  options: HashFileOptions,
): (done: number) => boolean {
  let lastProgress = performance.now();
  const yieldDue = yieldClock();
  return (done) => {
    const now = performance.now();
    if (options.onProgress && now - lastProgress >= HASH_PROGRESS_INTERVAL_MS) {
      lastProgress = now;
      options.onProgress(done, total);
    }
    return yieldDue();
  };
}

/**
 * Returns a function that is true once every HASH_YIELD_INTERVAL_MS: for a
 * loop of synchronous file calls, when its next call should be
 * asynchronous instead, so that timers and sockets get a turn while it
 * waits (see {@linkcode pacer} for why not `setTimeout`).
 */
export function yieldClock(): () => boolean {
  let last = performance.now();
  return () => {
    const now = performance.now();
    if (now - last < HASH_YIELD_INTERVAL_MS) return false;
    last = now;
    return true;
  };
}
