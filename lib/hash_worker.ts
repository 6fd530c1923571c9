/**
 * The hashing thread's side (runs inside a Worker; see `hash_thread.ts`).
 * Two jobs: the pieces of a file being shared, read here from the file
 * itself; and a download's part file, which it writes the verified pieces it
 * is handed to and follows with the whole-file SHA-256 in file order. The
 * piece buffers go back to the sender once the whole-file hash has taken
 * them (a piece that came ahead of it is kept until then), so they move
 * between threads without being copied.
 *
 * @module
 */

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import { createHash, type Hash } from "node:crypto";
import { DirectFile } from "./direct_file.ts";
import { readFull } from "./read_full.ts";
import { writeAll } from "./write_all.ts";

/** What the file being shared looked like when the caller opened it. */
export interface FileIdentity {
  /** Device of the file; the thread's open must find the same. */
  dev: number;
  /** Inode of the file, where the platform has them. */
  ino: number | null;
  /** Bytes in the file. */
  size: number;
  /** Last modification, ms since the epoch. */
  mtime: number | null;
}

/** What the thread needs to hash a shared file's pieces alongside the caller. */
export interface FilePiecesJob {
  /** Bytes per piece. */
  pieceSize: number;
  /** The file as the caller opened it; the thread checks it opens the same. */
  expect: FileIdentity;
  /**
   * `[0]` is the lowest piece nobody has claimed yet. Whoever moves it on
   * from `i` (`Atomics.add`, or `Atomics.compareExchange` for exactly `i`)
   * hashes piece `i`.
   */
  claims: Int32Array<SharedArrayBuffer>;
  /** Where each piece's SHA-256 goes, 32 bytes each. */
  digests: Uint8Array<SharedArrayBuffer>;
}

/** A download's part file, for the thread to write pieces to. */
export interface PartTarget {
  /** Path of the `.part` file, which exists. */
  path: string;
  /** Its device, as the caller's open handle has it. */
  dev: number;
  /** Its inode, as the caller's open handle has it. */
  ino: number | null;
  /** Bytes per piece. */
  pieceSize: number;
  /** Bytes in the whole file. */
  size: number;
}

/** A request to the hashing thread. */
export type HashRequest =
  | { seq: number; op: "file"; path: string } & FilePiecesJob
  | { seq: number; op: "open" } & PartTarget
  | {
    seq: number;
    op: "store";
    indexes: number[];
    buffers: ArrayBuffer[];
    lengths: number[];
  }
  | { seq: number; op: "present"; indexes: number[] }
  | { seq: number; op: "digest" };

/** The hashing thread's answer to one request. */
export type HashReply =
  | { seq: number; hashed: number }
  | { seq: number; changed: true }
  | { seq: number; buffers: ArrayBuffer[] }
  | { seq: number; hex: string }
  | { seq: number; error: string }
  | { seq: number; writeError: string };

const DIGEST_BYTES = 32;
/**
 * Pieces read back from the part file for the whole-file hash per answer, at
 * most (16 MiB): a resumed download's long run of pieces already on disk is
 * hashed a slice at a time between the writes instead of holding them up;
 * the digest hashes whatever is left.
 */
export const READ_BACK_PIECES_PER_ANSWER = 64;
/**
 * Pieces written ahead of the whole-file hash whose buffers the thread keeps
 * (4 MiB of 256 KiB pieces) rather than read them back later. Pieces are
 * picked near file order but arrive a little out of it: of a 1 GiB get,
 * 3,845 of 4,096 pieces were read back when none was kept. Keeping 16, a
 * get from 4 sharers read back 150-180 (32: ~20, but 3 MiB more peak RSS).
 */
export const MAX_HELD_PIECES = 16;

/** The download being written, once `open` has named it. */
interface Part extends PartTarget {
  file: Deno.FsFile;
  /** A second handle reading and writing past the page cache, where possible. */
  direct?: DirectFile;
  /** 1 for each piece on disk. */
  stored: Uint8Array;
  /**
   * Pieces written ahead of the cursor whose buffers are kept until the
   * hash reaches them (a piece read back costs a read from the file).
   */
  held: Map<number, Uint8Array>;
  /** The next piece for the whole-file hash. */
  cursor: number;
  hash: Hash;
  /** For pieces read back from the file. */
  scratch: Uint8Array;
}

let part: Part | undefined;

/** Thrown when writing the part file fails: the disk's fault, not ours. */
class WriteError extends Error {}

/** Thrown when the file is not the one the caller opened, or not any more. */
class ChangedError extends Error {}

/**
 * Hashes pieces of `path` until none is left unclaimed: opens it, checks it
 * is the file the caller opened, then claims pieces one at a time and reads
 * and hashes each. Answers with how many pieces it hashed.
 */
function filePieces(
  request: Extract<HashRequest, { op: "file" }>,
): [HashReply, Transferable[]] {
  const { path, pieceSize, expect, claims, digests, seq } = request;
  using file = openSame(path, expect);
  const count = Math.ceil(expect.size / pieceSize);
  const buffer = new Uint8Array(pieceSize);
  let hashed = 0;
  let position = 0;
  for (
    let i = Atomics.add(claims, 0, 1);
    i < count;
    i = Atomics.add(claims, 0, 1)
  ) {
    const offset = i * pieceSize;
    if (offset !== position) file.seekSync(offset, Deno.SeekMode.Start);
    const piece = buffer.subarray(0, Math.min(pieceSize, expect.size - offset));
    if (readFull(file, piece) !== piece.length) throw new ChangedError();
    position = offset + piece.length;
    digests.set(
      createHash("sha256").update(piece).digest(),
      i * DIGEST_BYTES,
    );
    hashed++;
  }
  if (!sameFile(file.statSync(), expect)) throw new ChangedError();
  return [{ seq, hashed }, []];
}

function openSame(path: string, expect: FileIdentity): Deno.FsFile {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new ChangedError();
    throw error;
  }
  if (!sameFile(file.statSync(), expect)) {
    file.close();
    throw new ChangedError();
  }
  return file;
}

function sameFile(info: Deno.FileInfo, expect: FileIdentity): boolean {
  return info.isFile && info.dev === expect.dev && info.ino === expect.ino &&
    info.size === expect.size &&
    (info.mtime?.getTime() ?? null) === expect.mtime;
}

function openPart(target: PartTarget): void {
  closePart();
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(target.path, { read: true, write: true });
  } catch (error) {
    throw new WriteError((error as Error).message ?? String(error));
  }
  // Opened by path: refuse anything put in the download's place meanwhile
  // (a link elsewhere, say) before writing a byte to it.
  const info = file.statSync();
  if (info.dev !== target.dev || info.ino !== target.ino) {
    file.close();
    throw new WriteError(`${target.path} was replaced during the download`);
  }
  part = {
    ...target,
    file,
    direct: DirectFile.open({ ...target, maxBytes: target.pieceSize }),
    stored: new Uint8Array(Math.ceil(target.size / target.pieceSize)),
    held: new Map(),
    cursor: 0,
    hash: createHash("sha256"),
    scratch: new Uint8Array(target.pieceSize),
  };
}

/**
 * Writes each piece at its place in the part file, then feeds the whole-file
 * hash every piece now on disk from its cursor on: from the pieces held,
 * else read back from the file. Answers with the buffers of the pieces
 * hashed now (and of any let go of); a piece ahead of the cursor is held
 * until the hash reaches it.
 */
function store(
  request: Extract<HashRequest, { op: "store" }>,
): [HashReply, Transferable[]] {
  const target = openedPart();
  const { indexes, buffers, lengths } = request;
  const spare: ArrayBuffer[] = [];
  indexes.forEach((index, i) => {
    const piece = new Uint8Array(buffers[i], 0, lengths[i]);
    writePiece(target, index, piece);
    target.stored[index] = 1;
    // A piece stored again (never expected) is not hashed twice.
    if (index < target.cursor || target.held.has(index)) spare.push(buffers[i]);
    else target.held.set(index, piece);
  });
  const free = [...spare, ...advanceAndFree(target)];
  return [{ seq: request.seq, buffers: free }, free];
}

/**
 * {@linkcode advance} (with the read-back allowance of one answer), then
 * {@linkcode letGo}: the buffers the thread is done with.
 */
function advanceAndFree(target: Part): ArrayBuffer[] {
  const done = advance(target, READ_BACK_PIECES_PER_ANSWER);
  letGo(target, done);
  return done.map((piece) => piece.buffer as ArrayBuffer);
}

/**
 * Past {@linkcode MAX_HELD_PIECES}, lets go of the pieces furthest ahead of
 * the cursor (into `free`): the hash reads them back from the file.
 */
function letGo(target: Part, free: Uint8Array[]): void {
  if (target.held.size <= MAX_HELD_PIECES) return;
  const furthest = [...target.held.keys()].sort((a, b) => b - a);
  for (const index of furthest.slice(0, target.held.size - MAX_HELD_PIECES)) {
    free.push(target.held.get(index)!);
    target.held.delete(index);
  }
}

function writePiece(target: Part, index: number, piece: Uint8Array): void {
  try {
    const offset = index * target.pieceSize;
    if (target.direct?.write(offset, piece)) return;
    target.file.seekSync(offset, Deno.SeekMode.Start);
    writeAll(target.file, piece);
  } catch (error) {
    throw new WriteError((error as Error).message ?? String(error));
  }
}

/**
 * Feeds the whole-file hash from its cursor while the pieces are stored:
 * from the pieces held, else read back from the file, at most `readBacks` of
 * those. Returns the held pieces it hashed (no longer held).
 */
function advance(target: Part, readBacks: number): Uint8Array[] {
  const count = target.stored.length;
  const done: Uint8Array[] = [];
  while (target.cursor < count && target.stored[target.cursor]) {
    const index = target.cursor;
    let piece = target.held.get(index);
    if (piece) {
      target.held.delete(index);
      done.push(piece);
    } else {
      if (readBacks-- <= 0) break;
      piece = readBack(target, index);
    }
    target.hash.update(piece);
    target.cursor++;
  }
  return done;
}

/** Reads a stored piece back from the part file: direct where possible. */
function readBack(target: Part, index: number): Uint8Array {
  const offset = index * target.pieceSize;
  const length = Math.min(target.pieceSize, target.size - offset);
  const direct = target.direct?.read(offset, length);
  if (direct) return direct;
  target.file.seekSync(offset, Deno.SeekMode.Start);
  const piece = target.scratch.subarray(0, length);
  if (readFull(target.file, piece) !== piece.length) {
    throw new Error(`the part file ends before piece ${index}`);
  }
  return piece;
}

function closePart(): void {
  part?.direct?.close();
  part?.file.close();
  part = undefined;
}

function openedPart(): Part {
  if (!part) throw new Error("no part file is open");
  return part;
}

function answer(request: HashRequest): [HashReply, Transferable[]] {
  switch (request.op) {
    case "file":
      return filePieces(request);
    case "open":
      openPart(request);
      return [{ seq: request.seq, buffers: [] }, []];
    case "store":
      return store(request);
    case "present": {
      const target = openedPart();
      for (const index of request.indexes) target.stored[index] = 1;
      const free = advanceAndFree(target);
      return [{ seq: request.seq, buffers: free }, free];
    }
    case "digest": {
      const target = openedPart();
      const count = target.stored.length;
      advance(target, Infinity);
      if (target.cursor !== count) {
        throw new Error(`only ${target.cursor} of ${count} pieces are stored`);
      }
      const hex = target.hash.digest("hex");
      closePart();
      return [{ seq: request.seq, hex }, []];
    }
  }
}

self.onmessage = (event: MessageEvent<HashRequest>) => {
  const { seq } = event.data;
  try {
    const [reply, transfer] = answer(event.data);
    self.postMessage(reply, transfer);
  } catch (error) {
    self.postMessage(
      error instanceof ChangedError
        ? { seq, changed: true }
        : error instanceof WriteError
        ? { seq, writeError: error.message }
        : { seq, error: String(error) },
    );
  }
};
