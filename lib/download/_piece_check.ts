/**
 * Checks pieces against the SHA-256 hashes in a file's metadata: one piece
 * as it arrives from a peer, or every piece of a resumed `.part` before the
 * download asks peers for the rest.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { HASH_BYTES } from "../protocol/limits.ts";
import {
  type FileMeta,
  pieceCount,
  pieceLength,
} from "../protocol/messages.ts";
import type { BufferPool } from "../util/buffer_pool.ts";
import { fileIdentity } from "../storage/file_hash.ts";
import type { HashThread } from "../storage/hash_thread.ts";
import type { PartFile } from "../storage/part_file.ts";

/** Pieces re-verified between yields to the event loop when resuming. */
export const RESUME_YIELD_PIECES = 64;

/** Options for {@linkcode checkExistingPieces}. */
export interface ResumeCheckOptions {
  /** The file's metadata, with the hash of each piece. */
  meta: FileMeta;
  /** The resumed `.part` file. */
  part: PartFile;
  /** Lends the buffers pieces are read into. */
  pool: BufferPool;
  /** Reads and hashes pieces alongside this thread. @default {none} */
  thread?: HashThread;
  /** Cancels the check. */
  signal?: AbortSignal;
  /**
   * Called with the bytes checked so far: 0 before the check starts, then
   * every RESUME_YIELD_PIECES pieces. @default {nothing}
   */
  onChecked?: (bytes: number) => void;
}

/**
 * Re-verifies the pieces of a resumed `.part`, resolving to the indices of
 * those that match their hash, in order: they are kept, the rest (never
 * written, torn by a crash, damaged) are fetched again. The hashing thread,
 * if there is one, reads and hashes pieces alongside this thread, whoever
 * claims a piece first hashing it (as when sharing, `file_hash.ts`).
 */
export async function checkExistingPieces(
  options: ResumeCheckOptions,
): Promise<number[]> {
  const { meta, part, pool, thread, signal, onChecked } = options;
  const count = pieceCount(meta.size, meta.pieceSize);
  const claims = new Int32Array(
    new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
  );
  // A piece left without its digest (the thread failed) matches nothing
  // and is fetched again.
  const digests = new Uint8Array(new SharedArrayBuffer(count * HASH_BYTES));
  onChecked?.(0);
  const theirs = thread?.filePieces(part.partPath, {
    pieceSize: meta.pieceSize,
    claims,
    digests,
    expect: fileIdentity(part.info()),
  }).catch(() => undefined);
  let hashed = 0;
  for (
    let index = Atomics.add(claims, 0, 1);
    index < count;
    index = Atomics.add(claims, 0, 1)
  ) {
    if (hashed++ % RESUME_YIELD_PIECES === 0) {
      // The pieces before this one are hashed, or being hashed by the thread.
      if (hashed > 1) onChecked?.(index * meta.pieceSize);
      await new Promise((resolve) => setTimeout(resolve, 0));
      signal?.throwIfAborted();
    }
    const data = part.read(
      index * meta.pieceSize,
      pieceLength(meta, index),
      pool.take(),
    );
    digests.set(
      createHash("sha256").update(data).digest(),
      index * HASH_BYTES,
    );
    pool.give(data);
  }
  await theirs;
  signal?.throwIfAborted();
  const good: number[] = [];
  for (let index = 0; index < count; index++) {
    const digest = digests.subarray(
      index * HASH_BYTES,
      (index + 1) * HASH_BYTES,
    );
    if (sameHash(digest, meta.pieceHashes, index)) good.push(index);
  }
  return good;
}

/** True if `data` is piece `index` according to `hashes`. */
export function matches(
  data: Uint8Array,
  hashes: Uint8Array,
  index: number,
): boolean {
  return sameHash(createHash("sha256").update(data).digest(), hashes, index);
}

/** True if `digest` is piece `index`'s SHA-256 in `hashes`. */
function sameHash(
  digest: Uint8Array,
  hashes: Uint8Array,
  index: number,
): boolean {
  const offset = index * HASH_BYTES;
  for (let i = 0; i < HASH_BYTES; i++) {
    if (digest[i] !== hashes[offset + i]) return false;
  }
  return true;
}
