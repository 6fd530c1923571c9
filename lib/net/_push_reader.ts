/**
 * The read side of a compact connection (one of a tracker's many, mostly
 * idle): one socket read pending into a small buffer, and what it brings
 * pushed through the secret stream's records into a frame parser. While
 * idle a connection holds that one read and its buffer, not a chain of
 * async reads (frame reader, secret stream, record reader, socket) each
 * with its own promise and buffer. Peer links keep the pull readers: they
 * read large pieces straight into their buffers.
 *
 * @module
 */

import type { Frame, FrameLimits } from "../protocol/frame.ts";
import { FrameParser } from "../protocol/frame_parser.ts";
import type { SecretStream } from "../secure/secret_stream.ts";

/**
 * Bytes of a compact connection's socket read: a few announces a read,
 * and about all it holds while idle.
 */
export const PUSH_READ_BYTES = 512;

/**
 * Frames from a socket, without a read of its own: its owner reads into
 * {@linkcode chunk}, hands over the count with {@linkcode got}, and asks
 * {@linkcode next} for a frame. One async function, the owner's, waits.
 *
 * @example
 * ```ts
 * let frame;
 * while ((frame = reader.next()) === undefined) {
 *   if (reader.inFrame) startFrameDeadline();
 *   reader.got(await conn.read(reader.chunk));
 * }
 * ```
 */
export class PushReader {
  /** What the owner reads the socket into. */
  readonly chunk: Uint8Array = new Uint8Array(PUSH_READ_BYTES);
  #secret?: SecretStream;
  /** Plaintext bytes received so far. */
  bytes = 0;
  #frames: FrameParser;
  #ended = false;

  /**
   * Frames within `limits`; through `secret` when given (it owns the records
   * begun in the handshake).
   */
  constructor(secret: SecretStream | undefined, limits: FrameLimits) {
    this.#secret = secret;
    this.#frames = new FrameParser(limits);
  }

  /**
   * True while a frame, or the record carrying it, has begun and is not
   * yet whole: the owner's frame deadline then runs.
   */
  get inFrame(): boolean {
    return this.#frames.holding > 0 || (this.#secret?.holding ?? 0) > 0;
  }

  /** Takes `count` bytes read into {@linkcode chunk}; null: the socket ended. */
  got(count: number | null): void {
    if (count === null) {
      this.#ended = true;
      return;
    }
    const bytes = this.chunk.subarray(0, count);
    if (this.#secret) {
      this.#secret.push(bytes);
    } else {
      this.bytes += count;
      this.#frames.push(bytes);
    }
  }

  /**
   * The next frame; undefined until more bytes are read (then
   * {@linkcode inFrame} says whether one has begun); null once the socket
   * ended cleanly between frames. Throws when the socket ended inside a
   * record or frame, or on bad input.
   */
  next(): Frame | null | undefined {
    for (;;) {
      const frame = this.#frames.next();
      if (frame) return frame;
      const plain = this.#secret?.openNext();
      if (!plain) break;
      this.bytes += plain.length;
      this.#frames.push(plain, true);
    }
    return this.#ended ? this.#end() : undefined;
  }

  #end(): null {
    if (this.#frames.holding > 0) {
      throw new Deno.errors.UnexpectedEof("Connection closed inside a frame");
    }
    if ((this.#secret?.holding ?? 0) > 0) {
      throw new Deno.errors.UnexpectedEof("Connection closed inside a record");
    }
    return null;
  }
}
