/**
 * How many requests one download link keeps in flight: about its rate
 * times its round trip, measured on the link itself, so a long or fast link
 * is kept full and a slow one is asked for little.
 *
 * The round trip comes from the connect and the handshake; the rate from
 * the pieces received, smoothed over RATE_SAMPLE_MS samples. A link whose
 * window is what limits it receives a window's worth a round trip, so the
 * next window is WINDOW_ROUND_TRIPS times that plus REQUESTS_IN_FLIGHT: it
 * grows by half or more a round trip (like TCP's slow start) until the link
 * itself is the limit, and shrinks when the link slows down.
 *
 * @module
 */

import {
  MAX_REQUESTS_IN_FLIGHT,
  REQUESTS_IN_FLIGHT,
} from "../protocol/limits.ts";

/** Round trips of the measured rate kept requested beyond REQUESTS_IN_FLIGHT. */
export const WINDOW_ROUND_TRIPS = 2;
/** How often the rate is sampled. */
export const RATE_SAMPLE_MS = 250;
/** Weight of the newest sample in the smoothed rate. */
export const RATE_SMOOTHING = 0.5;

/** Options for {@linkcode RequestWindow}. */
export interface RequestWindowOptions {
  /** Bytes in a full piece. */
  pieceSize: number;
  /** The most requests allowed now. @default {MAX_REQUESTS_IN_FLIGHT} */
  most?: () => number;
  /** Clock in ms. @default {performance.now} */
  now?: () => number;
}

/** One link's request window, from its round trip and measured rate. */
export class RequestWindow {
  #pieceSize: number;
  #most: () => number;
  #now: () => number;
  #rttMs = Infinity;
  #rate = 0;
  #bytes = 0;
  #since: number;

  /** A window of REQUESTS_IN_FLIGHT until something is measured. */
  constructor(options: RequestWindowOptions) {
    this.#pieceSize = options.pieceSize;
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
    const rtt = Number.isFinite(this.#rttMs) ? this.#rttMs : 0;
    const bdp = this.#rate * rtt / 1000 * WINDOW_ROUND_TRIPS;
    const wanted = REQUESTS_IN_FLIGHT + Math.ceil(bdp / this.#pieceSize);
    const most = Math.min(MAX_REQUESTS_IN_FLIGHT, this.#most());
    return Math.max(1, Math.min(wanted, most));
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

  /** Counts `bytes` received. */
  received(bytes: number): void {
    this.#bytes += bytes;
    const now = this.#now();
    const elapsed = now - this.#since;
    if (elapsed < RATE_SAMPLE_MS) return;
    const sample = this.#bytes * 1000 / elapsed;
    this.#rate = this.#rate === 0
      ? sample
      : this.#rate + (sample - this.#rate) * RATE_SMOOTHING;
    this.#bytes = 0;
    this.#since = now;
  }
}
