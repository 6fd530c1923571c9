/**
 * A link's side of batches (issue #23): the requests for many pieces in
 * few messages when the peer takes `requests`, and the pieces of one
 * `pieces` message taken apart.
 *
 * @module
 */

import type { Message } from "../protocol/messages.ts";

/** Requests a link sends at once, when that many are free. */
export const REQUEST_BATCH = 4;

/**
 * Requests a link waits to have free before it sends any: REQUEST_BATCH,
 * or half its window to a peer that takes `requests` (fewer, larger
 * batches each way), never more than the window.
 */
export function sendAtOnce(inFlight: number, batch: number): number {
  const least = batch > 1
    ? Math.max(REQUEST_BATCH, Math.floor(inFlight / 2))
    : REQUEST_BATCH;
  return Math.min(least, inFlight);
}

/**
 * A download whose pieces average under 1/SMALL_PIECES_FRACTION of its
 * piece size (a folder of small files) asks for them in batches.
 */
export const SMALL_PIECES_FRACTION = 4;

/**
 * Most pieces a link names per `requests`: the peer's `batch` (from its
 * `welcome`) when the download's pieces are small, else 0 (one `request`
 * each, sent REQUEST_BATCH at a time as to older peers: a link of large
 * pieces keeps its window full rather than waiting for half of it).
 */
export function linkBatch(
  peerBatch: number | undefined,
  sizes: { pieceSize: number; pieceBytes?: number },
): number {
  const mean = sizes.pieceBytes ?? sizes.pieceSize;
  return mean * SMALL_PIECES_FRACTION <= sizes.pieceSize ? peerBatch ?? 0 : 0;
}

/** One piece of a `pieces` message. */
export interface BatchedPiece {
  /** The piece's index, as the peer numbers them. */
  index: number;
  /** Its bytes, in a buffer of their own. */
  data: Uint8Array;
}

/**
 * The messages asking for `indices`: one `requests` per `batch` of them
 * when the peer takes batches (`batch` > 1), else one `request` each.
 */
export function requestMessages(indices: number[], batch: number): Message[] {
  if (batch <= 1 || indices.length === 1) {
    return indices.map((index) => ({ type: "request", index }));
  }
  const messages: Message[] = [];
  for (let at = 0; at < indices.length; at += batch) {
    messages.push({
      type: "requests",
      indices: indices.slice(at, at + batch),
    });
  }
  return messages;
}

/**
 * The pieces of a `pieces` (lengths already checked to add up), each
 * copied out: a piece buffer goes to the store, which keeps it or hands
 * it back to a pool on its own, so no two pieces may share one. The
 * frame's own buffer is then given to `recycle` (the pool's, if it was
 * long enough to come from there).
 */
export function splitPieces(
  message: Extract<Message, { type: "pieces" }>,
  recycle?: (data: Uint8Array) => void,
): BatchedPiece[] {
  const pieces: BatchedPiece[] = [];
  let at = 0;
  for (let i = 0; i < message.indices.length; i++) {
    const length = message.lengths[i];
    pieces.push({
      index: message.indices[i],
      data: message.data.slice(at, at + length),
    });
    at += length;
  }
  recycle?.(message.data);
  return pieces;
}
