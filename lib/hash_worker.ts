/**
 * The hashing thread's side (runs inside a Worker; see `hash_thread.ts`).
 * Two jobs: the pieces of a file being shared, read here from the file
 * itself; and a running whole-file SHA-256 of buffers it is handed, which go
 * back to the sender with the answer, so they move between threads without
 * being copied.
 *
 * @module
 */

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import { createHash, type Hash } from "node:crypto";
import { readFull } from "./read_full.ts";

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

/** A request to the hashing thread. */
export type HashRequest =
  | { seq: number; op: "file"; path: string } & FilePiecesJob
  | { seq: number; op: "update"; buffers: ArrayBuffer[]; lengths: number[] }
  | { seq: number; op: "digest" };

/** The hashing thread's answer to one request. */
export type HashReply =
  | { seq: number; hashed: number }
  | { seq: number; changed: true }
  | { seq: number; buffers: ArrayBuffer[] }
  | { seq: number; hex: string }
  | { seq: number; error: string };

const DIGEST_BYTES = 32;
let stream: Hash = createHash("sha256");

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

function answer(request: HashRequest): [HashReply, Transferable[]] {
  switch (request.op) {
    case "file":
      return filePieces(request);
    case "update":
      request.buffers.forEach((buffer, i) =>
        stream.update(new Uint8Array(buffer, 0, request.lengths[i]))
      );
      return [
        { seq: request.seq, buffers: request.buffers },
        request.buffers,
      ];
    case "digest": {
      const hex = stream.digest("hex");
      stream = createHash("sha256");
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
        : { seq, error: String(error) },
    );
  }
};
