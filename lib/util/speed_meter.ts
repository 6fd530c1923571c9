/**
 * A speed over the last few seconds, from a growing byte count: cheap to
 * ask often (it keeps one sample per SPEED_SAMPLE_MS). Its figures are
 * honest: the time before the first byte moved is left out once bytes
 * move steadily, a burst in the first moments (a socket's buffers emptied
 * at once) is spread over at least MIN_SPAN_MS rather than shown as a huge
 * rate, and a count that grows a piece at a time, further apart than the
 * window (a low `--download-limit`), shows the rate of its steps.
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

/** A count of bytes seen at a time. */
interface Point {
  at: number;
  bytes: number;
  /** When the count was last seen lower, before it grew to this. */
  quietAt: number;
}

/**
 * Bytes a second over a sliding window, measured from one growth of the
 * count to another: a count that grows in steps farther apart than the
 * window (a 256 KiB piece every 25 s under a 10 KiB/s limit) shows each
 * step over the time since the one before, ~10 KiB/s, not a spike and
 * then 0. The first step is measured from the first look while it is the
 * only one (its bytes may have been coming all along); once more follow,
 * the wait before it is left out, as is a pause of a window or more
 * between steps that come faster. A step that is late brings the speed
 * down, and one more than twice as late as usual (and a window late),
 * to 0.
 */
export class SpeedMeter {
  #windowMs: number;
  #now: () => number;
  /** The first look (while #fromStart), then each growth: one per SPEED_SAMPLE_MS, the last kept current. */
  #points: Point[] = [];
  #fromStart = true;
  #lastLook = 0;

  /** A meter with no samples yet (speed 0). */
  constructor(options: SpeedMeterOptions) {
    this.#windowMs = options.windowMs;
    this.#now = options.now ?? (() => performance.now());
  }

  /** The speed, given the count of bytes so far. */
  speed(bytes: number): number {
    const now = this.#now();
    const points = this.#points;
    const last = points.at(-1);
    if (last === undefined || bytes < last.bytes) {
      this.#points = [{ at: now, bytes, quietAt: now }];
      this.#fromStart = true;
    } else if (bytes > last.bytes) {
      const before = points.at(-2);
      if (before && now - before.at < SPEED_SAMPLE_MS) {
        points[points.length - 1] = { ...last, at: now, bytes };
      } else {
        points.push({ at: now, bytes, quietAt: this.#lastLook });
      }
    }
    this.#lastLook = now;
    return this.#rate(now);
  }

  #rate(now: number): number {
    const points = this.#points;
    const end = points.length - 1;
    if (end === 0) return 0;
    const latest = points[end];
    // The latest growth at least a window before the last one.
    let from = end - 1;
    while (from > 0 && latest.at - points[from].at < this.#windowMs) from--;
    // A wait (before the first growth) or a pause (of a window or more)
    // before steps that came over twice as fast is no part of a speed.
    const next = points[from + 1];
    const before = next.at - points[from].at;
    const after = (latest.at - next.at) / (end - from - 1);
    const waited = (from === 0 && this.#fromStart) ||
      before >= this.#windowMs;
    const base = from + 1 < end && waited && before > 2 * after
      ? { at: next.quietAt, bytes: points[from].bytes }
      : points[from];
    if (from > 0) {
      this.#points = points.slice(from);
      this.#fromStart = false;
    }
    const span = latest.at - base.at;
    const gap = span / (end - from);
    const idle = now - latest.at;
    if (idle > Math.max(this.#windowMs, 2 * gap)) return 0;
    return rateOver(latest.bytes - base.bytes, span + Math.max(0, idle - gap));
  }
}
