/**
 * A speed over the last few seconds, from a growing byte count: cheap to
 * ask often (it keeps one sample per SPEED_SAMPLE_MS). Its first figures
 * are honest: the time before the first byte moved is left out, and a
 * burst in the first moments (a socket's buffers emptied at once, the one
 * piece a bandwidth limit lets through at once) is spread over at least
 * MIN_SPAN_MS rather than shown as a huge rate.
 *
 * @module
 */

/** Least time between two kept samples. */
export const SPEED_SAMPLE_MS = 100;
/** Least time a speed is measured over, however recent the first byte. */
export const MIN_SPAN_MS = 1_000;

/** Options for {@linkcode SpeedMeter}. */
export interface SpeedMeterOptions {
  /** How far back the speed looks, in ms. */
  windowMs: number;
  /** Clock in ms. @default {performance.now} */
  now?: () => number;
}

/**
 * Bytes a second over `ms`, counted as at least MIN_SPAN_MS: what a speed
 * measured since the start of a job shows.
 *
 * @example
 * ```ts
 * rateOver(4096, 20); // 4096: 4 KiB in 20 ms is not shown as 200 KiB/s
 * rateOver(4096, 2_000); // 2048
 * ```
 */
export function rateOver(bytes: number, ms: number): number {
  return (bytes * 1000) / Math.max(ms, MIN_SPAN_MS);
}

/** Bytes a second over a sliding window. */
export class SpeedMeter {
  #windowMs: number;
  #now: () => number;
  #samples: { at: number; bytes: number }[] = [];
  /** Whether the count grew since the first sample. */
  #moving = false;

  /** A meter with no samples yet (speed 0). */
  constructor(options: SpeedMeterOptions) {
    this.#windowMs = options.windowMs;
    this.#now = options.now ?? (() => performance.now());
  }

  /** The speed, given the count of bytes so far. */
  speed(bytes: number): number {
    const now = this.#now();
    if (!this.#moving) {
      // Until the first byte moves, the time waited is no part of a speed.
      if (this.#samples.length === 0 || this.#samples[0].bytes === bytes) {
        this.#samples = [{ at: now, bytes }];
        return 0;
      }
      this.#moving = true;
    }
    const last = this.#samples.at(-1)!;
    if (now - last.at >= SPEED_SAMPLE_MS) {
      this.#samples.push({ at: now, bytes });
    }
    while (
      this.#samples.length > 2 && now - this.#samples[0].at > this.#windowMs
    ) {
      this.#samples.shift();
    }
    const first = this.#samples[0];
    return rateOver(bytes - first.bytes, now - first.at);
  }
}
