/**
 * The reading side of a secret stream's framing: bytes from the socket in,
 * handshake messages (2-byte length) and records (4-byte length, checked
 * against the limit before a byte of the body is held) out.
 *
 * @module
 */

import { MAX_NOISE_MESSAGE, TAG_BYTES } from "./noise.ts";

/** Bytes of a handshake message's length prefix. */
export const HANDSHAKE_PREFIX_BYTES = 2;
/** Bytes of a transport record's length prefix. */
export const RECORD_PREFIX_BYTES = 4;
/**
 * Most plaintext bytes in one record: a 256 KiB piece with its frame head
 * fits in one (one seal, one write), and a receiver holds at most this much
 * of a record it has not yet checked.
 */
export const MAX_RECORD_PLAINTEXT = 256 * 1024 + 4096;
/** Largest record on the wire: the plaintext and its tag. */
export const MAX_RECORD_BYTES = MAX_RECORD_PLAINTEXT + TAG_BYTES;

/** What a secret stream runs over, and offers: a socket's shape. */
export interface ByteStream {
  /** Reads into `into`; the bytes read, or null at the end. */
  read(into: Uint8Array): Promise<number | null>;
  /** Writes some of `data`; the bytes written. */
  write(data: Uint8Array): Promise<number>;
  /** Closes it. */
  close(): void;
}

const EMPTY = new Uint8Array(0);
/** Bytes a record reader starts with; it grows up to one whole record. */
const READ_BUFFER_BYTES = 16 * 1024;
/**
 * What a compact record reader holds between records: it grows for a
 * larger one and shrinks back after it.
 */
export const COMPACT_READ_BUFFER_BYTES = 512;
/**
 * Largest record a push reader sets aside room for once its beginning
 * arrived: an announce's; a record announced larger (up to
 * MAX_RECORD_BYTES) gets its buffer only as its bytes come.
 */
export const KEEP_AHEAD_BYTES = 4096;

/** A record's length prefix says a size no record has: not p2p's stream. */
export class RecordBoundsError extends RangeError {
  /** The error for a record said to be `length` bytes. */
  constructor(length: number) {
    super(`A record of ${length} bytes is out of bounds`);
    this.name = "RecordBoundsError";
  }
}

/** Bytes in, handshake messages and records out. */
export class RecordReader {
  #raw: ByteStream;
  #buffer: Uint8Array;
  #compact: boolean;
  #start = 0;
  #end = 0;
  /** True while #buffer is bytes a push lent (see {@linkcode push}). */
  #borrowed = false;

  /** Reads `raw`; `compact` for one of many mostly idle connections. */
  constructor(raw: ByteStream, compact = false) {
    this.#raw = raw;
    this.#compact = compact;
    this.#buffer = new Uint8Array(
      compact ? COMPACT_READ_BUFFER_BYTES : READ_BUFFER_BYTES,
    );
  }

  /** The next `n` bytes (a copy). */
  async exactly(n: number): Promise<Uint8Array> {
    await this.#fill(n, false);
    const bytes = this.#buffer.slice(this.#start, this.#start + n);
    this.#start += n;
    return bytes;
  }

  /** The next handshake message (a copy). */
  async handshakeMessage(): Promise<Uint8Array> {
    const length = this.#length(await this.exactly(HANDSHAKE_PREFIX_BYTES));
    if (length > MAX_NOISE_MESSAGE) throw new RangeError("Too long");
    return await this.exactly(length);
  }

  /**
   * The next record, or null at a clean end between records. It is a view
   * into the reader's buffer, valid until the next call.
   */
  async record(): Promise<Uint8Array | null> {
    if (
      this.#compact && this.#start === this.#end &&
      this.#buffer.length > COMPACT_READ_BUFFER_BYTES
    ) {
      // The last record's view stays valid: it keeps the old buffer.
      this.#buffer = new Uint8Array(COMPACT_READ_BUFFER_BYTES);
      this.#start = this.#end = 0;
    }
    if (!await this.#fill(RECORD_PREFIX_BYTES, true)) return null;
    const length = this.#length(
      this.#buffer.subarray(this.#start, this.#start + RECORD_PREFIX_BYTES),
    );
    if (length < TAG_BYTES || length > MAX_RECORD_BYTES) {
      throw new RecordBoundsError(length);
    }
    await this.#fill(RECORD_PREFIX_BYTES + length, false);
    const at = this.#start + RECORD_PREFIX_BYTES;
    this.#start = at + length;
    return this.#buffer.subarray(at, at + length);
  }

  /**
   * Takes bytes its owner read from the socket itself (a push reader: one
   * read pending per connection, no read of its own); {@linkcode next}
   * then cuts records from them; call it after each push until it returns
   * undefined, so that a length out of bounds is refused before more is
   * held. Do not mix with {@linkcode record}.
   *
   * While nothing is held, records are cut from `bytes` itself, not a
   * copy: `bytes` must stay as it is until `next` returns undefined, which
   * copies what is left of a record begun. A tracker's announce often
   * arrives in one read, and this spares it an allocation and a copy
   * (measured in memory: a 700-byte announce in 512-byte reads, 1.25
   * against 3.0 µs).
   */
  push(bytes: Uint8Array): void {
    if (this.#end === this.#start) {
      this.#buffer = bytes;
      this.#start = 0;
      this.#end = bytes.length;
      this.#borrowed = true;
      return;
    }
    this.#keep();
    const kept = this.#end - this.#start;
    if (this.#buffer.length - this.#end < bytes.length) {
      const size = kept + bytes.length;
      const next = this.#buffer.length >= size
        ? this.#buffer
        : new Uint8Array(Math.max(size, this.#buffer.length * 2));
      if (next === this.#buffer) {
        next.copyWithin(0, this.#start, this.#end);
      } else {
        next.set(this.#buffer.subarray(this.#start, this.#end));
      }
      this.#buffer = next;
      this.#start = 0;
      this.#end = kept;
    }
    this.#buffer.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  /**
   * The next whole record among the bytes pushed (a view, valid until the
   * next call), or undefined until more arrive. Throws on a length out of
   * bounds as soon as its prefix is in.
   */
  next(): Uint8Array | undefined {
    const held = this.#end - this.#start;
    if (held < RECORD_PREFIX_BYTES) {
      if (held > 0) this.#keep();
      else if (this.#compact || this.#borrowed) this.#release();
      return undefined;
    }
    const length = this.#length(
      this.#buffer.subarray(this.#start, this.#start + RECORD_PREFIX_BYTES),
    );
    if (length < TAG_BYTES || length > MAX_RECORD_BYTES) {
      throw new RecordBoundsError(length);
    }
    if (held < RECORD_PREFIX_BYTES + length) {
      this.#keep(RECORD_PREFIX_BYTES + length);
      return undefined;
    }
    const at = this.#start + RECORD_PREFIX_BYTES;
    this.#start = at + length;
    return this.#buffer.subarray(at, at + length);
  }

  /**
   * Copies what is held out of the pusher's bytes, if it is there, into a
   * buffer with room for the rest of the record when it is
   * KEEP_AHEAD_BYTES or less (`whole` bytes with its prefix): its next
   * pushes then need no larger one. A larger record gets room only as its
   * bytes come, so that a length prefix alone costs no more than itself.
   */
  #keep(whole = 0): void {
    if (!this.#borrowed) return;
    const held = this.#end - this.#start;
    const kept = new Uint8Array(
      whole <= KEEP_AHEAD_BYTES ? Math.max(held, whole) : held,
    );
    kept.set(this.#buffer.subarray(this.#start, this.#end));
    this.#buffer = kept;
    this.#start = 0;
    this.#end = held;
    this.#borrowed = false;
  }

  /** Bytes pushed and not yet cut into a record: one cut off, at the end. */
  get holding(): number {
    return this.#end - this.#start;
  }

  /** A compact push reader holds no buffer between records, nor a lent one. */
  #release(): void {
    this.#buffer = EMPTY;
    this.#start = this.#end = 0;
    this.#borrowed = false;
  }

  #length(prefix: Uint8Array): number {
    let length = 0;
    for (const byte of prefix) length = length * 256 + byte;
    return length;
  }

  async #fill(n: number, atBoundary: boolean): Promise<boolean> {
    if (this.#end - this.#start >= n) return true;
    if (n > this.#buffer.length) {
      const grown = new Uint8Array(
        Math.min(
          Math.max(n, this.#buffer.length * 2),
          RECORD_PREFIX_BYTES + MAX_RECORD_BYTES,
        ),
      );
      grown.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = grown;
      this.#end -= this.#start;
      this.#start = 0;
    } else if (this.#start > 0) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    while (this.#end < n) {
      const got = await this.#raw.read(this.#buffer.subarray(this.#end));
      if (got === null) {
        if (atBoundary && this.#end === 0) return false;
        throw new Deno.errors.UnexpectedEof(
          "Connection closed inside a record",
        );
      }
      this.#end += got;
    }
    return true;
  }
}
