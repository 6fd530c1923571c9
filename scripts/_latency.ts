/**
 * Latencies as a histogram of logarithmic buckets (5% wide, 0.01 ms to
 * about 2 minutes): constant memory however many are recorded, and
 * histograms from several processes merge exactly, so the percentiles of
 * a crowd split over processes are those of the whole crowd (to the
 * bucket's 5%).
 *
 * @module
 */

/** Smallest latency told apart, ms. */
const FLOOR_MS = 0.01;
/** Ratio between one bucket's upper bound and its lower one. */
const RATIO = 1.05;
/** Buckets: FLOOR_MS × RATIO^BUCKETS is about 130 s. */
const BUCKETS = 480;

/** Percentiles of a {@linkcode Latencies}, ms (0 when none were recorded). */
export interface LatencySummary {
  /** Latencies recorded. */
  count: number;
  /** Median. */
  p50: number;
  /** 99th percentile. */
  p99: number;
  /** Largest recorded (exact). */
  max: number;
}

/** A histogram of latencies in ms; see the module documentation. */
export class Latencies {
  #counts = new Uint32Array(BUCKETS);
  #count = 0;
  #max = 0;

  /** Records one latency of `ms`. */
  add(ms: number): void {
    const bucket = ms <= FLOOR_MS
      ? 0
      : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / FLOOR_MS) / LOG_RATIO));
    this.#counts[bucket]++;
    this.#count++;
    if (ms > this.#max) this.#max = ms;
  }

  /** Adds every latency of `other` (its {@linkcode toJSON} form) to this one. */
  merge(other: LatenciesJson): void {
    for (let i = 0; i < BUCKETS && i < other.counts.length; i++) {
      this.#counts[i] += other.counts[i];
    }
    this.#count += other.count;
    if (other.max > this.#max) this.#max = other.max;
  }

  /** Forgets every latency recorded so far. */
  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#max = 0;
  }

  /** The latency below which a share `q` (0..1) of them fall: its bucket's upper bound. */
  percentile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      if (seen >= rank) return Math.min(this.#max, FLOOR_MS * RATIO ** i);
    }
    return this.#max;
  }

  /** Count, median, 99th percentile and maximum. */
  summary(): LatencySummary {
    return {
      count: this.#count,
      p50: this.percentile(0.5),
      p99: this.percentile(0.99),
      max: this.#max,
    };
  }

  /** The histogram as plain data, to send to another process. */
  toJSON(): LatenciesJson {
    return { counts: [...this.#counts], count: this.#count, max: this.#max };
  }
}

/** A {@linkcode Latencies} as plain data. */
export interface LatenciesJson {
  /** Count in each bucket. */
  counts: number[];
  /** Latencies in all. */
  count: number;
  /** Largest, ms. */
  max: number;
}

const LOG_RATIO = Math.log(RATIO);
