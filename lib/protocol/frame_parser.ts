/**
 * Frames cut from bytes pushed in, for a reader that does its own socket
 * reads: the same frames and limits as `frame.ts`'s `FrameReader`, but no
 * read of its own and no promise while waiting, and no buffer held between
 * frames. A tracker holds one per connection, mostly idle.
 *
 * @module
 */

import {
  binaryLengthOf,
  type Frame,
  type FrameLimits,
  parseFrameJson,
} from "./frame.ts";
import { MAX_BINARY_BYTES, MAX_JSON_BYTES } from "./limits.ts";

const PREFIX_BYTES = 4;
const EMPTY = new Uint8Array(0);

/**
 * Cuts frames from pushed bytes; every length is checked against its limit
 * as soon as it is in, before more is held. `binaryBuffer` is not used: a
 * binary part is held as it arrives, growing with it.
 *
 * @example
 * ```ts
 * const parser = new FrameParser();
 * parser.push(encodeFrame({ type: "ping" }));
 * parser.next(); // { header: { type: "ping" }, binary: Uint8Array(0) }
 * parser.next(); // undefined: needs more bytes
 * ```
 */
export class FrameParser {
  #maxJson: number;
  #maxBinary: number;
  #binaryLimit?: (header: Record<string, unknown>) => number;
  #buffer: Uint8Array = EMPTY;
  #start = 0;
  #end = 0;
  /** The header of the frame whose binary part is arriving. */
  #header?: Record<string, unknown>;
  #binaryLength = 0;

  /** A parser with `limits` (defaults as in `limits.ts`). */
  constructor(limits: FrameLimits = {}) {
    this.#maxJson = limits.maxJsonBytes ?? MAX_JSON_BYTES;
    this.#maxBinary = limits.maxBinaryBytes ?? MAX_BINARY_BYTES;
    this.#binaryLimit = limits.binaryLimit;
  }

  /**
   * Takes a copy of `bytes`; with `owned` (the caller will not touch them
   * again), takes `bytes` themselves when nothing is held, without a copy.
   * Call {@linkcode next} until it returns undefined before pushing more, so
   * that limits are checked in time.
   */
  push(bytes: Uint8Array, owned = false): void {
    if (bytes.length === 0) return;
    const kept = this.#end - this.#start;
    if (owned && kept === 0) {
      this.#buffer = bytes;
      this.#start = 0;
      this.#end = bytes.length;
      return;
    }
    if (this.#buffer.length - this.#end < bytes.length) {
      const size = kept + bytes.length;
      if (this.#buffer.length >= size) {
        this.#buffer.copyWithin(0, this.#start, this.#end);
      } else {
        const grown = new Uint8Array(Math.max(size, this.#buffer.length * 2));
        grown.set(this.#buffer.subarray(this.#start, this.#end));
        this.#buffer = grown;
      }
      this.#start = 0;
      this.#end = kept;
    }
    this.#buffer.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  /**
   * The next whole frame, or undefined until more bytes arrive. Throws
   * (`RangeError`, `TypeError`, `SyntaxError`) on a frame that breaks a
   * limit or is not valid; the parser is then of no further use.
   */
  next(): Frame | undefined {
    if (this.#header === undefined && !this.#readHead()) return undefined;
    if (this.#end - this.#start < this.#binaryLength) return undefined;
    const header = this.#header!;
    const binary = this.#binaryLength === 0
      ? new Uint8Array(0)
      : this.#buffer.slice(this.#start, this.#start + this.#binaryLength);
    this.#start += this.#binaryLength;
    this.#header = undefined;
    this.#binaryLength = 0;
    if (this.#start === this.#end) this.#release();
    return { header, binary };
  }

  /** Bytes of a frame begun and not yet whole (0 between frames). */
  get holding(): number {
    return this.#end - this.#start + (this.#header ? 1 : 0);
  }

  /** Parses the length and JSON part once they are in; false until then. */
  #readHead(): boolean {
    const held = this.#end - this.#start;
    if (held < PREFIX_BYTES) return false;
    const b = this.#buffer;
    const at = this.#start;
    const jsonLength = ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) |
      b[at + 3]) >>> 0;
    if (jsonLength === 0 || jsonLength > this.#maxJson) {
      throw new RangeError(
        `Frame JSON length ${jsonLength} is outside 1..${this.#maxJson}`,
      );
    }
    if (held < PREFIX_BYTES + jsonLength) return false;
    const header = parseFrameJson(
      b.subarray(at + PREFIX_BYTES, at + PREFIX_BYTES + jsonLength),
    );
    const limit = this.#binaryLimit
      ? Math.min(this.#maxBinary, this.#binaryLimit(header))
      : this.#maxBinary;
    this.#binaryLength = binaryLengthOf(header, limit);
    this.#header = header;
    this.#start = at + PREFIX_BYTES + jsonLength;
    return true;
  }

  /** Between frames, nothing is kept. */
  #release(): void {
    this.#buffer = EMPTY;
    this.#start = this.#end = 0;
  }
}
