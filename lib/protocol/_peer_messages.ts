/**
 * Decoding the handshake between two peers (`hello`, `welcome`) and the
 * batches of pieces they may agree on there (`requests`, `pieces`): a
 * downloader whose `hello` says `batch` may be answered with `pieces`,
 * each carrying several (small) pieces one after another in its binary
 * part, and a server whose `welcome` says `batch` takes `requests` naming
 * several pieces. Older peers say neither and see neither.
 *
 * @module
 */

import { array, fullId, int, noBinary, port, text } from "./_fields.ts";
import { bitfieldBytes } from "./bitfield.ts";
import type { Frame } from "./frame.ts";
import type { Message } from "./message_types.ts";
import {
  MAX_AGENT_CHARS,
  MAX_BATCH_PIECES,
  MAX_PIECE_SIZE,
  MAX_PIECES,
  NODE_TAG_CHARS,
} from "./limits.ts";

/** A `hello`: the optional `port`, `agent` and `batch` checked if there. */
export function hello(frame: Frame): Message {
  noBinary(frame);
  const h = frame.header;
  return {
    type: "hello",
    version: int(h, "version", 0, 0xffff),
    id: fullId(h.id),
    ...(h.port === undefined ? {} : { port: port(h) }),
    ...(h.agent === undefined
      ? {}
      : { agent: text(h, "agent", MAX_AGENT_CHARS) }),
    ...optionalBatch(h),
  };
}

/**
 * A `welcome`: its binary part, when present, is the sender's bitfield and
 * must be exactly one bit per piece long; absent means it has every piece.
 */
export function welcome(frame: Frame): Message {
  const h = frame.header;
  const pieces = int(h, "pieces", 0, MAX_PIECES);
  const message = {
    type: "welcome" as const,
    id: fullId(h.id),
    pieces,
    ...optionalBatch(h),
    ...(h.node === undefined ? {} : { node: nodeTag(h.node) }),
  };
  if (frame.binary.length === 0) return message;
  if (frame.binary.length !== bitfieldBytes(pieces)) {
    throw new RangeError(
      `Bitfield is ${frame.binary.length} bytes, expected ${
        bitfieldBytes(pieces)
      }`,
    );
  }
  return { ...message, have: frame.binary };
}

const NODE_TAG = new RegExp(`^[0-9a-f]{${NODE_TAG_CHARS}}$`);

/** A `welcome`'s `node`: NODE_TAG_CHARS lowercase hex characters. */
function nodeTag(value: unknown): string {
  if (typeof value !== "string" || !NODE_TAG.test(value)) {
    throw new RangeError(
      `Field "node" must be ${NODE_TAG_CHARS} lowercase hex characters`,
    );
  }
  return value;
}

/** A `requests`: 1..MAX_BATCH_PIECES piece indices, no binary part. */
export function requests(frame: Frame): Message {
  noBinary(frame);
  return { type: "requests", indices: indexList(frame.header) };
}

/**
 * A `pieces`: as many `lengths` (each 1..MAX_PIECE_SIZE) as `indices`,
 * adding up to the binary part's length exactly.
 */
export function pieces(frame: Frame): Message {
  const h = frame.header;
  const indices = indexList(h);
  const lengths = array(h.lengths, "lengths", MAX_BATCH_PIECES).map(
    (length) => int({ length }, "length", 1, MAX_PIECE_SIZE),
  );
  if (lengths.length !== indices.length) {
    throw new RangeError(
      `A "pieces" names ${indices.length} pieces but ${lengths.length} lengths`,
    );
  }
  let total = 0;
  for (const length of lengths) total += length;
  if (total !== frame.binary.length) {
    throw new RangeError(
      `A "pieces" adds up to ${total} bytes but carries ${frame.binary.length}`,
    );
  }
  return { type: "pieces", indices, lengths, data: frame.binary };
}

/** The 1..MAX_BATCH_PIECES piece indices of `h.indices`. */
function indexList(h: Record<string, unknown>): number[] {
  const indices = array(h.indices, "indices", MAX_BATCH_PIECES).map(
    (index) => int({ index }, "index", 0, MAX_PIECES - 1),
  );
  if (indices.length === 0) {
    throw new RangeError(`A "${h.type}" must name at least one piece`);
  }
  return indices;
}

/** The optional `batch`: 1..MAX_BATCH_PIECES. */
function optionalBatch(h: Record<string, unknown>): { batch?: number } {
  return h.batch === undefined
    ? {}
    : { batch: int(h, "batch", 1, MAX_BATCH_PIECES) };
}
