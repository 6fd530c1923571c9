/**
 * Framing: `[4-byte big-endian length][JSON object][binary part]`. The JSON
 * object says how long its binary part is in its `binary` field (absent or 0
 * for none). This layer knows nothing of message types; it checks every
 * length against a named limit before allocating anything.
 *
 * @module
 */

import { MAX_BINARY_BYTES, MAX_JSON_BYTES } from "./limits.ts";

/** One decoded frame: a JSON object and its binary part, if it has one. */
export interface Frame {
  /** The JSON part, always a plain object. */
  header: Record<string, unknown>;
  /** The binary part; empty when the frame has none. */
  binary: Uint8Array;
}

/** Anything frames can be read from: a `Deno.Conn`, or bytes in memory. */
export interface ByteReader {
  /** Reads into `p`; resolves to bytes read, or `null` at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
}

/** Limits applied while decoding frames. */
export interface FrameLimits {
  /** Largest JSON part in bytes. @default {MAX_JSON_BYTES} */
  maxJsonBytes?: number;
  /** Largest binary part in bytes. @default {MAX_BINARY_BYTES} */
  maxBinaryBytes?: number;
  /**
   * Narrows the binary limit per frame from its JSON part, before the binary
   * part is read: a server that knows which message types carry one (and
   * how long) refuses the rest from the header alone. @default {no narrowing}
   */
  binaryLimit?: (header: Record<string, unknown>) => number;
  /**
   * Supplies a buffer of at least `length` bytes to read a binary part into,
   * so a receiver of many pieces reuses its buffers instead of allocating
   * (and the system zeroing) a new one per piece. The frame's `binary` is
   * then a view of it. Called only after the length passed every limit.
   * @default {a new buffer per frame}
   */
  binaryBuffer?: (length: number) => Uint8Array | undefined;
  /**
   * Hold only COMPACT_BUFFER_BYTES while waiting for a frame, growing for a
   * larger one and shrinking back after it: for a server holding many
   * mostly idle connections (a tracker). @default {false: BUFFER_BYTES,
   * kept}
   */
  compact?: boolean;
}

/** Options for one {@linkcode FrameReader.read}. */
export interface ReadFrameOptions {
  /** Called once the first byte of the frame has arrived. */
  onStart?: () => void;
}

const PREFIX_BYTES = 4;
const BUFFER_BYTES = 64 * 1024;
/** What a compact reader (`FrameLimits.compact`) holds between frames. */
export const COMPACT_BUFFER_BYTES = 512;
/**
 * A binary part is read into a buffer that starts this large and doubles as
 * bytes arrive, so a sender that declares 32 MiB and sends 10 bytes makes
 * the receiver hold only about what it sent.
 */
const BINARY_CHUNK_BYTES = 1024 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes the length prefix and JSON part of a frame. Send `binary` right
 * after it; its length is written into the JSON as `binary`.
 *
 * @example
 * ```ts
 * const head = encodeFrameHead({ type: "piece", index: 3 }, piece.length);
 * await conn.write(head); await conn.write(piece);
 * ```
 */
export function encodeFrameHead(
  header: Record<string, unknown>,
  binaryLength = 0,
): Uint8Array {
  const json = encoder.encode(
    JSON.stringify(
      binaryLength > 0 ? { ...header, binary: binaryLength } : header,
    ),
  );
  if (json.length > MAX_JSON_BYTES) {
    throw new RangeError(
      `Frame JSON is ${json.length} bytes, over the limit of ${MAX_JSON_BYTES}`,
    );
  }
  const out = new Uint8Array(PREFIX_BYTES + json.length);
  new DataView(out.buffer).setUint32(0, json.length);
  out.set(json, PREFIX_BYTES);
  return out;
}

/** Encodes a whole frame into one buffer (copies `binary`). */
export function encodeFrame(
  header: Record<string, unknown>,
  binary?: Uint8Array,
): Uint8Array {
  const head = encodeFrameHead(header, binary?.length ?? 0);
  if (!binary?.length) return head;
  const out = new Uint8Array(head.length + binary.length);
  out.set(head);
  out.set(binary, head.length);
  return out;
}

/** Parses a frame's JSON part: UTF-8, valid JSON, and a plain object. */
export function parseFrameJson(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw new SyntaxError(
      `Frame JSON is not valid: ${(error as Error).message}`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError("Frame JSON is not an object");
  }
  return value as Record<string, unknown>;
}

/** Reads the declared binary length from a frame's JSON part. */
export function binaryLengthOf(
  header: Record<string, unknown>,
  maxBinaryBytes: number,
): number {
  const value = header.binary;
  if (value === undefined) return 0;
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new TypeError(`Frame field "binary" is not a valid length`);
  }
  if ((value as number) > maxBinaryBytes) {
    throw new RangeError(
      `Frame binary part of ${value} bytes is over the limit of ${maxBinaryBytes}`,
    );
  }
  return value as number;
}

/**
 * Reads frames one after another from a {@linkcode ByteReader}, buffering
 * small reads and reading large binary parts straight into their own buffer.
 */
export class FrameReader {
  #reader: ByteReader;
  #maxJson: number;
  #maxBinary: number;
  #binaryLimit?: (header: Record<string, unknown>) => number;
  #binaryBuffer?: (length: number) => Uint8Array | undefined;
  #buffer: Uint8Array;
  #compact: boolean;
  #start = 0;
  #end = 0;

  /** Wraps `reader`; limits default to those in `limits.ts`. */
  constructor(reader: ByteReader, limits: FrameLimits = {}) {
    this.#reader = reader;
    this.#compact = limits.compact ?? false;
    this.#buffer = new Uint8Array(
      this.#compact ? COMPACT_BUFFER_BYTES : BUFFER_BYTES,
    );
    this.#maxJson = limits.maxJsonBytes ?? MAX_JSON_BYTES;
    this.#maxBinary = limits.maxBinaryBytes ?? MAX_BINARY_BYTES;
    this.#binaryLimit = limits.binaryLimit;
    this.#binaryBuffer = limits.binaryBuffer;
  }

  /**
   * Reads the next frame. Resolves to `null` when the stream ends cleanly
   * between frames; throws when it ends inside one or breaks a limit.
   */
  async read(options: ReadFrameOptions = {}): Promise<Frame | null> {
    const idle = this.#start === this.#end;
    if (this.#compact && idle && this.#buffer.length > COMPACT_BUFFER_BYTES) {
      // Grown for a large frame, now read: give the memory back.
      this.#buffer = new Uint8Array(COMPACT_BUFFER_BYTES);
      this.#start = this.#end = 0;
    }
    if (!await this.#fill(1)) return null;
    options.onStart?.();
    await this.#need(PREFIX_BYTES);
    const view = new DataView(this.#buffer.buffer, this.#start, PREFIX_BYTES);
    const jsonLength = view.getUint32(0);
    if (jsonLength === 0 || jsonLength > this.#maxJson) {
      throw new RangeError(
        `Frame JSON length ${jsonLength} is outside 1..${this.#maxJson}`,
      );
    }
    this.#start += PREFIX_BYTES;
    await this.#need(jsonLength);
    const header = parseFrameJson(
      this.#buffer.subarray(this.#start, this.#start + jsonLength),
    );
    this.#start += jsonLength;
    const limit = this.#binaryLimit
      ? Math.min(this.#maxBinary, this.#binaryLimit(header))
      : this.#maxBinary;
    const binary = await this.#readBinary(binaryLengthOf(header, limit));
    return { header, binary };
  }

  /** Ensures `n` buffered bytes; throws at end of stream. */
  async #need(n: number): Promise<void> {
    if (!await this.#fill(n)) {
      throw new Deno.errors.UnexpectedEof("Connection closed inside a frame");
    }
  }

  /** Buffers at least `n` bytes; false if the stream ends first. */
  async #fill(n: number): Promise<boolean> {
    if (this.#end - this.#start >= n) return true;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#buffer.length - this.#start < n) {
      const kept = this.#end - this.#start;
      if (this.#buffer.length >= n) {
        this.#buffer.copyWithin(0, this.#start, this.#end);
      } else {
        const next = new Uint8Array(n);
        next.set(this.#buffer.subarray(this.#start, this.#end));
        this.#buffer = next;
      }
      this.#start = 0;
      this.#end = kept;
    }
    while (this.#end - this.#start < n) {
      const got = await this.#reader.read(this.#buffer.subarray(this.#end));
      if (got === null) return false;
      this.#end += got;
    }
    return true;
  }

  /**
   * Reads a binary part of `length` bytes: from the buffer first, then
   * straight from the reader into a buffer that grows as bytes arrive.
   */
  async #readBinary(length: number): Promise<Uint8Array> {
    const given = length > 0 ? this.#binaryBuffer?.(length) : undefined;
    let out = given && given.length >= length
      ? given.subarray(0, length)
      : new Uint8Array(Math.min(length, BINARY_CHUNK_BYTES));
    const buffered = Math.min(length, this.#end - this.#start);
    out.set(this.#buffer.subarray(this.#start, this.#start + buffered));
    this.#start += buffered;
    let filled = buffered;
    while (filled < length) {
      if (filled === out.length) {
        const grown = new Uint8Array(Math.min(length, out.length * 2));
        grown.set(out);
        out = grown;
      }
      const got = await this.#reader.read(out.subarray(filled));
      if (got === null) {
        throw new Deno.errors.UnexpectedEof(
          "Connection closed inside a frame's binary part",
        );
      }
      filled += got;
    }
    return out;
  }
}
