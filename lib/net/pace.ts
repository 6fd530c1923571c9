/**
 * Sending a large binary part (a piece) under a bandwidth limit as its
 * bytes are paid for, a chunk at a time, instead of paying for all of it
 * and then writing it in one burst: at a low limit a piece takes longer
 * than a downloader waits without bytes (PEER_STALL_TIMEOUT_MS), and a
 * piece sent whole would reach it as that long a silence, then a burst
 * (issue #19). Paced, its bytes arrive steadily and the link counts them
 * as progress.
 *
 * @module
 */

import type { BandwidthLimiter } from "../util/bandwidth.ts";

/**
 * Seconds of the limit's rate in one chunk: a few chunks a second keep the
 * bytes moving; larger ones would cost more records and writes for nothing.
 */
export const PACE_SECONDS = 0.25;
/** Fewest bytes in one chunk (a 1 KiB/s limit sends one a second). */
export const MIN_PACE_BYTES = 1024;

/** How a binary part is sent paced (`Connection.send`'s `pace`). */
export interface Pace {
  /** Bytes written at a time. */
  chunk: number;
  /** Resolves once `bytes` more may go (a bandwidth limiter's take). */
  take: (bytes: number) => Promise<void>;
}

/**
 * How to send `bytes` under `limiter`: paced in chunks of PACE_SECONDS of
 * its rate, or undefined when they fit in one chunk (paid for before the
 * send, and sent in one write as without a limit). A take rejects when
 * `signal` aborts.
 */
export function paceFor(
  limiter: BandwidthLimiter,
  bytes: number,
  signal?: AbortSignal,
): Pace | undefined {
  const chunk = Math.max(
    MIN_PACE_BYTES,
    Math.ceil(limiter.rate * PACE_SECONDS),
  );
  if (bytes <= chunk) return undefined;
  return { chunk, take: (part) => limiter.take(part, signal) };
}
