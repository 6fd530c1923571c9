/**
 * A speed over the last few seconds, from a growing byte count: cheap to
 * ask often (it keeps one sample per SPEED_SAMPLE_MS).
 *
 * @module
 */

/** Least time between two kept samples. */
export const SPEED_SAMPLE_MS = 100;

/** Options for {@linkcode SpeedMeter}. */
export interface SpeedMeterOptions {
  /** How far back the speed looks, in ms. */
  windowMs: number;
  /** Clock in ms. @default {performance.now} */
  now?: () => number;
}

/** Bytes a second over a sliding window. */
export class SpeedMeter {
  #windowMs: number;
  #now: () => number;
  #samples: { at: number; bytes: number }[] = [];

  /** A meter with no samples yet (speed 0). */
  constructor(options: SpeedMeterOptions) {
    this.#windowMs = options.windowMs;
    this.#now = options.now ?? (() => performance.now());
  }

  /** The speed, given the count of bytes so far. */
  speed(bytes: number): number {
    const now = this.#now();
    const last = this.#samples.at(-1);
    if (!last || now - last.at >= SPEED_SAMPLE_MS) {
      this.#samples.push({ at: now, bytes });
    }
    while (
      this.#samples.length > 2 && now - this.#samples[0].at > this.#windowMs
    ) {
      this.#samples.shift();
    }
    const first = this.#samples[0];
    const seconds = (now - first.at) / 1000;
    return seconds > 0 ? (bytes - first.bytes) / seconds : 0;
  }
}
