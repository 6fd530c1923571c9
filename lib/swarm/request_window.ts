/**
 * How many requests one download link keeps in flight: about its rate
 * times its round trip, measured on the link itself, so a long or fast link
 * is kept full and a slow one is asked for little.
 *
 * The round trip comes from the connect and the handshake; the rate from
 * the bytes received, sampled every RATE_SAMPLE_MS and smoothed. A link
 * starts with REQUESTS_IN_FLIGHT. Once measured, its window is
 * WINDOW_ROUND_TRIPS round trips of its rate plus WINDOW_MARGIN_MS of it
 * (at most REQUESTS_IN_FLIGHT pieces): a link whose window is what limits
 * it receives a window a round trip, so its next window is twice that, and
 * it grows (like TCP's slow start) until the link itself is the limit; a
 * slow link keeps only one or two pieces asked for. While the rate still
 * rises (each sample RATE_RISING times the smoothed rate or more), the
 * window is not cut below its start or its largest so far: the first
 * samples of a new connection come from TCP's slow start and would make a
 * window too small for the link it is about to be.
 *
 * All of it is reckoned in bytes and turned into requests by the mean
 * bytes of a piece (`pieceBytes`): a folder of small files has pieces far
 * shorter than its piece size, and counted as full pieces only a few bytes
 * would be on their way (8 requests of 4 KiB pieces where 8 of 256 KiB
 * were meant). For a file the two are the same.
 *
 * @module
 */

import {
  MAX_REQUESTS_IN_FLIGHT,
  REQUESTS_IN_FLIGHT,
} from "../protocol/limits.ts";

/** Round trips of the measured rate kept requested. */
export const WINDOW_ROUND_TRIPS = 2;
/**
 * On top of the round trips, this long of the measured rate is kept
 * requested (at most REQUESTS_IN_FLIGHT pieces, at least one): a fast link
 * has its 8 pieces in hand as before, a slow one is not made to hoard
 * pieces that others could send sooner.
 */
export const WINDOW_MARGIN_MS = 1_000;
/** Fewest requests a link keeps in flight once its rate is known. */
export const MIN_REQUESTS_IN_FLIGHT = 2;
/** How often the rate is sampled. */
export const RATE_SAMPLE_MS = 250;
/** Weight of the newest sample in the smoothed rate. */
export const RATE_SMOOTHING = 0.5;
/**
 * A sample this many times the smoothed rate or more means the link is
 * still speeding up (TCP's slow start, or a window that was the limit):
 * its window is not cut while that lasts.
 */
export const RATE_RISING = 1.5;

/** Options for {@linkcode RequestWindow}. */
export interface RequestWindowOptions {
  /** Bytes in a full piece. */
  pieceSize: number;
  /**
   * Mean bytes of the download's pieces (its bytes over its pieces), which
   * is less than `pieceSize` when most pieces are short (a folder of small
   * files). @default {pieceSize}
   */
  pieceBytes?: number;
  /** The most requests allowed now. @default {MAX_REQUESTS_IN_FLIGHT} */
  most?: () => number;
  /** Clock in ms. @default {performance.now} */
  now?: () => number;
}

/** One link's request window, from its round trip and measured rate. */
export class RequestWindow {
  #pieceSize: number;
  #pieceBytes: number;
  #most: () => number;
  #now: () => number;
  #rttMs = Infinity;
  #rate = 0;
  #bytes = 0;
  #since: number;
  /** Whether the rate is still rising (it is until measured). */
  #rising = true;
  /** While the rate rises, the largest window so far: it is kept. */
  #floor = 0;

  /** A window of REQUESTS_IN_FLIGHT until something is measured. */
  constructor(options: RequestWindowOptions) {
    this.#pieceSize = options.pieceSize;
    this.#pieceBytes = Math.max(
      1,
      Math.min(options.pieceBytes ?? options.pieceSize, options.pieceSize),
    );
    this.#most = options.most ?? (() => MAX_REQUESTS_IN_FLIGHT);
    this.#now = options.now ?? (() => performance.now());
    this.#since = this.#now();
  }

  /** The smallest round trip seen, in ms (Infinity before any). */
  get rttMs(): number {
    return this.#rttMs;
  }

  /** The smoothed rate, bytes a second. */
  get rate(): number {
    return this.#rate;
  }

  /** Requests to keep in flight now. */
  get size(): number {
    const most = Math.min(MAX_REQUESTS_IN_FLIGHT, this.#most());
    const piece = this.#pieceBytes;
    // REQUESTS_IN_FLIGHT full pieces' worth of bytes, in requests.
    const start = Math.ceil(REQUESTS_IN_FLIGHT * this.#pieceSize / piece);
    const floor = this.#rising ? Math.max(start, this.#floor) : 0;
    if (this.#rate === 0) return Math.max(1, Math.min(start, most));
    const rtt = Number.isFinite(this.#rttMs) ? this.#rttMs : 0;
    const bdp = this.#rate * rtt / 1000 * WINDOW_ROUND_TRIPS;
    const margin = Math.min(
      start,
      Math.ceil(this.#rate * WINDOW_MARGIN_MS / 1000 / piece),
    );
    const wanted = Math.max(
      MIN_REQUESTS_IN_FLIGHT,
      margin + Math.ceil(bdp / piece),
    );
    return Math.max(1, Math.min(Math.max(wanted, floor), most));
  }

  /** Records a round trip of `ms` (the smallest one counts). */
  roundTrip(ms: number): void {
    this.#rttMs = Math.min(this.#rttMs, ms);
  }

  /** Starts measuring the rate from now (pieces are about to be asked for). */
  start(): void {
    this.#bytes = 0;
    this.#since = this.#now();
  }

  /**
   * Counts `bytes` received since the last call (piece bytes as they
   * arrive, not only whole pieces, so a slow link is measured in time).
   */
  received(bytes: number): void {
    this.#bytes += bytes;
    const now = this.#now();
    const elapsed = now - this.#since;
    if (elapsed < RATE_SAMPLE_MS) return;
    const sample = this.#bytes * 1000 / elapsed;
    const before = this.size;
    this.#rising = this.#rate === 0 || sample >= this.#rate * RATE_RISING;
    this.#rate = this.#rate === 0
      ? sample
      : this.#rate + (sample - this.#rate) * RATE_SMOOTHING;
    this.#floor = this.#rising ? Math.max(before, this.size) : 0;
    this.#bytes = 0;
    this.#since = now;
  }
}
