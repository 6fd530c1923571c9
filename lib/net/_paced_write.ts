/**
 * Writing one frame in parts: its head in the headroom before its binary
 * part or joined to it, and a binary part paced (`pace.ts`), the head going
 * out with the first chunk once that is paid for, then the rest a chunk at
 * a time. A frame stopped after its first byte cuts the connection, since
 * whatever was sent next would be read as the rest of that frame.
 *
 * @module
 */

import type { Pace } from "./pace.ts";

/** One frame to write paced. */
export interface PacedFrame {
  /** The frame's head (in the bytes just before `binary`, or apart). */
  head: Uint8Array;
  /** The binary part, paid for and written a chunk at a time. */
  binary: Uint8Array;
  /** The chunk size and how a chunk is paid for. */
  pace: Pace;
}

/** Where a paced frame goes. */
export interface PacedWriter {
  /** Writes all of `bytes` (rejects if it cannot). */
  write: (bytes: Uint8Array) => Promise<void>;
  /** Closes the connection: the frame failed after its first byte. */
  cut: () => void;
}

/**
 * Copies `head` into the bytes just before `binary` in its buffer (its
 * headroom, which the caller checked is there) and returns that view.
 */
export function putBefore(head: Uint8Array, binary: Uint8Array): Uint8Array {
  const before = new Uint8Array(
    binary.buffer,
    binary.byteOffset - head.length,
    head.length,
  );
  before.set(head);
  return before;
}

/**
 * `head` and `part` in one buffer: a view over both when `head` sits just
 * before `part` in its buffer (written in its headroom), else a copy.
 */
export function joinParts(head: Uint8Array, part: Uint8Array): Uint8Array {
  if (
    head.buffer === part.buffer &&
    head.byteOffset + head.length === part.byteOffset
  ) {
    return new Uint8Array(
      head.buffer,
      head.byteOffset,
      head.length + part.length,
    );
  }
  const whole = new Uint8Array(head.length + part.length);
  whole.set(head);
  whole.set(part, head.length);
  return whole;
}

/**
 * Writes `frame` through `writer` as its chunks are paid for. Stopped
 * before the first chunk is paid for, it writes nothing and the connection
 * stays usable; stopped later (a take rejects, a write fails), it cuts the
 * connection first. Rejects with the reason either way.
 */
export async function writePaced(
  frame: PacedFrame,
  writer: PacedWriter,
): Promise<void> {
  const { head, binary, pace } = frame;
  if (binary.length === 0) return await writer.write(head);
  let started = false;
  try {
    for (let at = 0; at < binary.length; at += pace.chunk) {
      const part = binary.subarray(at, at + pace.chunk);
      await pace.take(part.length);
      started = true;
      // The head goes with the first chunk: alone, it would cost a write
      // (and a packet) of its own.
      await writer.write(at === 0 ? joinParts(head, part) : part);
    }
  } catch (error) {
    if (started) writer.cut();
    throw error;
  }
}
