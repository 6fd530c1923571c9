/**
 * A {@linkcode ByteReader} over arrays of chunks, for framing tests in
 * memory: split frames, several in one read, reads shorter than a chunk.
 *
 * @module
 */

import type { ByteReader } from "../lib/protocol/frame.ts";

/** A reader over `chunks` (one per read, less if `p` is short) that records its reads. */
export class ChunkReader implements ByteReader {
  #chunks: Uint8Array[];
  /** Largest `p.length` any read was called with. */
  largestRequest = 0;
  /** Number of read calls. */
  reads = 0;

  /** Hands out `chunks` in order (empty ones dropped), then the end. */
  constructor(chunks: Uint8Array[]) {
    this.#chunks = chunks.filter((chunk) => chunk.length > 0);
  }

  read(p: Uint8Array): Promise<number | null> {
    this.reads++;
    this.largestRequest = Math.max(this.largestRequest, p.length);
    const chunk = this.#chunks[0];
    if (chunk === undefined) return Promise.resolve(null);
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(n);
    return Promise.resolve(n);
  }
}
