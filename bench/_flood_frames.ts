/**
 * The wire of the flood floor (`flood_floor.ts`): frames of a 4-byte
 * big-endian length and a payload, of the sizes the tracker's own messages
 * take on the wire (a `query` 124 bytes, its answer about 580, an
 * `announce`'s answer 57), and, for the cipher variant, each payload sealed
 * as one ChaCha20-Poly1305 record by `node:crypto` (a 16-byte tag; nonces
 * counted per direction, as Noise's are). No JSON, no registry: what any
 * server of such requests does at the least.
 *
 * @module
 */

import { createCipheriv, createDecipheriv } from "node:crypto";

/** Bytes of a frame's length prefix. */
export const LENGTH_BYTES = 4;
/** Payload bytes of a request: a tracker `query` is 124 bytes on the wire. */
export const REQUEST_PAYLOAD_BYTES = 120;
/** Payload bytes of a query's answer: the tracker's were 421-709, about 580. */
export const QUERY_REPLY_PAYLOAD_BYTES = 576;
/** Payload bytes of an announce's answer (and of a `busy`): the tracker's 57 on the wire. */
export const SHORT_REPLY_PAYLOAD_BYTES = 53;
/** Largest payload accepted: anything larger is not this bench's. */
export const MAX_PAYLOAD_BYTES = 4_096;
/** Bytes of a record's authentication tag. */
export const TAG_BYTES = 16;

/** What a request asks for (its payload's first byte, in clear or sealed). */
export const KIND = { query: 1, announce: 2, busy: 3 } as const;

/**
 * Splits a byte stream into frames' payloads: push what a read brought,
 * then take payloads until none is whole.
 *
 * @example
 * ```ts
 * const frames = new FrameSplitter();
 * frames.push(bytes);
 * for (let p; (p = frames.next()) !== undefined;) handle(p);
 * ```
 */
export class FrameSplitter {
  #buffer = new Uint8Array(1_024);
  #start = 0;
  #end = 0;

  /** Bytes held that do not yet make a whole frame. */
  get holding(): number {
    return this.#end - this.#start;
  }

  /** Appends `bytes` (copied). */
  push(bytes: Uint8Array): void {
    if (this.#end + bytes.length > this.#buffer.length) {
      const held = this.#buffer.subarray(this.#start, this.#end);
      const size = Math.max(
        this.#buffer.length,
        2 * (held.length + bytes.length),
      );
      const next = size > this.#buffer.length
        ? new Uint8Array(size)
        : this.#buffer;
      next.set(held);
      this.#buffer = next;
      this.#end = held.length;
      this.#start = 0;
    }
    this.#buffer.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  /**
   * The next whole frame's payload (a view, valid until the next push), or
   * undefined. Throws RangeError on a length over MAX_PAYLOAD_BYTES.
   */
  next(): Uint8Array | undefined {
    if (this.#end - this.#start < LENGTH_BYTES) return undefined;
    const b = this.#buffer;
    const s = this.#start;
    const length = ((b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) |
      b[s + 3]) >>> 0;
    if (length > MAX_PAYLOAD_BYTES) {
      throw new RangeError(`A frame of ${length} bytes is too large`);
    }
    if (this.#end - s < LENGTH_BYTES + length) return undefined;
    this.#start = s + LENGTH_BYTES + length;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return b.subarray(s + LENGTH_BYTES, s + LENGTH_BYTES + length);
  }
}

/** `payload` with its length prefix, as one buffer to write. */
export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(LENGTH_BYTES + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, LENGTH_BYTES);
  return out;
}

/**
 * A payload of `kind` that is `bytes` long on the wire's payload: with
 * `sealed`, its plaintext is TAG_BYTES shorter (the tag makes it up).
 */
export function plaintext(
  kind: number,
  bytes: number,
  sealed: boolean,
): Uint8Array {
  const out = new Uint8Array(sealed ? bytes - TAG_BYTES : bytes);
  out.fill(0x61);
  out[0] = kind;
  return out;
}

/** The key every side of the bench uses: what it costs, not what it hides, is measured. */
const BENCH_KEY = new Uint8Array(32).fill(7);
const NONCE_BYTES = 12;

/**
 * One connection's records: sealed one way, opened the other, each with
 * its own nonce counter, by `node:crypto`'s chacha20-poly1305.
 */
export class RecordCipher {
  #sent = 0;
  #received = 0;
  #nonce = new Uint8Array(NONCE_BYTES);
  #view = new DataView(this.#nonce.buffer);

  /** Seals `plain` with the next sending nonce: the ciphertext, then its tag. */
  seal(plain: Uint8Array): Uint8Array {
    const cipher = createCipheriv(
      "chacha20-poly1305",
      BENCH_KEY,
      this.#next(this.#sent++),
      {
        authTagLength: TAG_BYTES,
      },
    );
    const body = cipher.update(plain);
    cipher.final();
    const out = new Uint8Array(body.length + TAG_BYTES);
    out.set(body);
    out.set(cipher.getAuthTag(), body.length);
    return out;
  }

  /** Opens `sealed` with the next receiving nonce; throws if its tag is wrong. */
  open(sealed: Uint8Array): Uint8Array {
    if (sealed.length < TAG_BYTES) throw new RangeError("A record too short");
    const cut = sealed.length - TAG_BYTES;
    const decipher = createDecipheriv(
      "chacha20-poly1305",
      BENCH_KEY,
      this.#next(this.#received++),
      { authTagLength: TAG_BYTES },
    );
    decipher.setAuthTag(sealed.subarray(cut));
    const body = decipher.update(sealed.subarray(0, cut));
    decipher.final();
    return new Uint8Array(body.buffer, body.byteOffset, body.length);
  }

  #next(counter: number): Uint8Array {
    this.#view.setUint32(4, counter >>> 0, true);
    this.#view.setUint32(8, Math.floor(counter / 2 ** 32), true);
    return this.#nonce;
  }
}
