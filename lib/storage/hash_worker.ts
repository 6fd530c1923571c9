/**
 * The hashing thread's side (runs inside a Worker; see `hash_thread.ts`).
 * Two jobs: the pieces of a file being shared, read here from the file
 * itself; and a download's part file: it follows the verified pieces it is
 * handed with the whole-file SHA-256 in file order, and writes them in that
 * order too, several at once. The piece buffers go back to the sender once
 * the hash has taken them and they are written (a piece that came ahead of
 * the hash is kept until then), so they move between threads without being
 * copied.
 *
 * @module
 */

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import { createHash, type Hash } from "node:crypto";
import { DirectFile } from "./direct_file.ts";
import { readFull } from "../util/read_full.ts";
import { writeAll } from "../util/write_all.ts";

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
  | { seq: number; op: "flush" }
  | { seq: number; op: "digest" };

/** The hashing thread's answer to one request. */
export type HashReply =
  | { seq: number; hashed: number }
  | { seq: number; changed: true }
  | { seq: number; buffers: ArrayBuffer[]; written: number[] }
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
 * Pieces ahead of the whole-file hash that the thread keeps, unwritten
 * (4 MiB of 256 KiB pieces), rather than write them alone and read them
 * back later. Pieces are picked near file order but arrive a little out of
 * it: of a 1 GiB get, 3,845 of 4,096 pieces were read back when none was
 * kept. From 4 sharers, keeping 12 read back 350-500 pieces of a 1 GiB get,
 * 24 read back 250 (fewer than 100 of a 4 GiB get), 32 fewer than 50.
 * 24 was 5-10% faster than 12 in alternated plaintext gets, but an
 * encrypted get from 4 sharers held them all and peaked at 99-101 MiB,
 * over the 100 MiB bound; with 16 it peaked at 97-99 MiB in the same
 * alternated runs, in the same time within their spread (4 of each).
 */
export const MAX_HELD_PIECES = 16;

/**
 * Consecutive pieces written at once, at most (1 MiB of 256 KiB pieces):
 * written direct into a new 1 GiB file here, 1 MiB writes took 460 ms and
 * 256 KiB writes 635 ms (4 MiB: 410 ms, for 3 MiB more staging memory).
 * A 1 GiB get makes ~1,250 writes, some shorter than 4 pieces; keeping the
 * hashed pieces until 4 in a row fill a run (exactly 1,024 writes) was no
 * faster in alternated gets, so a short run goes out at once.
 */
export const WRITE_RUN_PIECES = 4;

/** The download being written, once `open` has named it. */
interface Part extends PartTarget {
  file: Deno.FsFile;
  /** A second handle reading and writing past the page cache, where possible. */
  direct?: DirectFile;
  /** 1 for each piece on disk. */
  stored: Uint8Array;
  /**
   * Pieces ahead of the cursor, not written yet: each is written once the
   * hash reaches it, with the pieces next to it in one write, or alone when
   * let go of (the hash then reads it back from the file).
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

/** The system's reason a write failed, as a {@linkcode WriteError}. */
function writeError(error: unknown): WriteError {
  return new WriteError((error as Error).message ?? String(error));
}

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
    throw writeError(error);
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
    direct: DirectFile.open({
      ...target,
      maxBytes: target.pieceSize * WRITE_RUN_PIECES,
    }),
    stored: new Uint8Array(Math.ceil(target.size / target.pieceSize)),
    held: new Map(),
    cursor: 0,
    hash: createHash("sha256"),
    scratch: new Uint8Array(target.pieceSize),
  };
}

/**
 * Takes pieces for the part file and feeds the whole-file hash every piece
 * it has from its cursor on: held, else read back from the file. A piece
 * is written once hashed, with the hashed pieces next to it, or when let go
 * of; one ahead of the cursor is held until the hash reaches it. Answers
 * with the pieces now on disk and the buffers the thread is done with.
 */
function store(
  request: Extract<HashRequest, { op: "store" }>,
): [HashReply, Transferable[]] {
  const target = openedPart();
  const { indexes, buffers, lengths } = request;
  const spare: ArrayBuffer[] = [];
  indexes.forEach((index, i) => {
    // A piece stored again (never expected) is not written or hashed twice.
    if (target.stored[index]) spare.push(buffers[i]);
    else {
      target.stored[index] = 1;
      target.held.set(index, new Uint8Array(buffers[i], 0, lengths[i]));
    }
  });
  const written: number[] = [];
  const free = [...spare, ...advanceAndFree(target, written)];
  return [{ seq: request.seq, buffers: free, written }, free];
}

/**
 * {@linkcode advance} (with the read-back allowance of one answer), writes
 * the pieces it hashed, then {@linkcode letGo}: the buffers the thread is
 * done with. The indexes written go to `written`.
 */
function advanceAndFree(target: Part, written: number[]): ArrayBuffer[] {
  const done = advance(target, READ_BACK_PIECES_PER_ANSWER);
  writeRuns(target, done, written);
  const gone = letGo(target);
  writeRuns(target, gone, written);
  return [...done, ...gone].map(([, piece]) => piece.buffer as ArrayBuffer);
}

/**
 * Past {@linkcode MAX_HELD_PIECES}, lets go of the pieces furthest ahead of
 * the cursor: returned in file order, to be written; the hash reads them
 * back from the file.
 */
function letGo(target: Part): [number, Uint8Array][] {
  if (target.held.size <= MAX_HELD_PIECES) return [];
  const furthest = [...target.held.keys()].sort((a, b) => b - a)
    .slice(0, target.held.size - MAX_HELD_PIECES);
  return furthest.reverse().map((index) => {
    const piece = target.held.get(index)!;
    target.held.delete(index);
    return [index, piece];
  });
}

/** Writes every held piece and lets go of it (the download stops). */
function flushHeld(target: Part, written: number[]): ArrayBuffer[] {
  const all = [...target.held].sort(([a], [b]) => a - b);
  target.held.clear();
  writeRuns(target, all, written);
  return all.map(([, piece]) => piece.buffer as ArrayBuffer);
}

/**
 * Writes pieces (in file order) at their places: each run of consecutive
 * ones in one direct write where it can, up to {@linkcode WRITE_RUN_PIECES}
 * at once, else one at a time the usual way. Their indexes go to `written`.
 */
function writeRuns(
  target: Part,
  pieces: [number, Uint8Array][],
  written: number[],
): void {
  for (let start = 0; start < pieces.length;) {
    let end = start + 1;
    while (
      end < pieces.length && end - start < WRITE_RUN_PIECES &&
      pieces[end][0] === pieces[end - 1][0] + 1
    ) end++;
    const run = pieces.slice(start, end);
    if (!writeDirect(target, run)) {
      for (const [index, piece] of run) writePiece(target, index, piece);
    }
    for (const [index] of run) written.push(index);
    start = end;
  }
}

/** Writes a run of consecutive pieces in one direct write, if it can. */
function writeDirect(target: Part, run: [number, Uint8Array][]): boolean {
  if (!target.direct) return false;
  try {
    return target.direct.write(
      run[0][0] * target.pieceSize,
      run.map(([, piece]) => piece),
    );
  } catch (error) {
    throw writeError(error);
  }
}

function writePiece(target: Part, index: number, piece: Uint8Array): void {
  try {
    target.file.seekSync(index * target.pieceSize, Deno.SeekMode.Start);
    writeAll(target.file, piece);
  } catch (error) {
    throw writeError(error);
  }
}

/**
 * Feeds the whole-file hash from its cursor while the pieces are stored:
 * from the pieces held, else read back from the file (a piece not held is
 * on disk), at most `readBacks` of those. Returns the held pieces it hashed
 * (no longer held, not written yet), in file order.
 */
function advance(target: Part, readBacks: number): [number, Uint8Array][] {
  const count = target.stored.length;
  const done: [number, Uint8Array][] = [];
  while (target.cursor < count && target.stored[target.cursor]) {
    const index = target.cursor;
    let piece = target.held.get(index);
    if (piece) {
      target.held.delete(index);
      done.push([index, piece]);
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
      return [{ seq: request.seq, buffers: [], written: [] }, []];
    case "store":
      return store(request);
    case "present": {
      const target = openedPart();
      for (const index of request.indexes) target.stored[index] = 1;
      const written: number[] = [];
      const free = advanceAndFree(target, written);
      return [{ seq: request.seq, buffers: free, written }, free];
    }
    case "flush": {
      const written: number[] = [];
      const free = part ? flushHeld(part, written) : [];
      return [{ seq: request.seq, buffers: free, written }, free];
    }
    case "digest": {
      const target = openedPart();
      const count = target.stored.length;
      writeRuns(target, advance(target, Infinity), []);
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
