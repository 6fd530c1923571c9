/**
 * Token buckets keyed by remote address: each address may make `rate`
 * requests a second on average and `burst` at once. A server asks before
 * answering. {@linkcode RateLimiter.take} says no when the bucket is empty
 * (the server says `busy`); {@linkcode RateLimiter.reserve} lets a request
 * wait for a token earned soon instead, so a client a little over its rate
 * is slowed down rather than refused, and one that keeps asking is held to
 * the rate without costing the tracker the answers it is refused.
 *
 * @module
 */

/**
 * Reads a second one address may make to the tracker, on average. A
 * thousand peers behind one address (an office, a carrier-grade NAT)
 * querying 1% of them a second, as the crowd bench does, make 10; eight
 * flooding addresses get at most 2,000 answers a second between them, an
 * eighth of what the tracker answers on one core (#22: at 1,000 a second
 * each, eight of them took half a core and made an honest client's p99
 * seven times its quiet figure).
 */
export const QUERIES_PER_SECOND_PER_ADDRESS = 250;
/**
 * Reads one address may make at once before the rate applies: a second's
 * worth. Past it a read waits for its token rather than being refused, so
 * a thousand peers behind one address starting at once are slowed, not
 * failed; a flood's first second is what a larger burst would lengthen (at
 * 2,000, eight flooding addresses were answered 8,000 a second for 2.7 s,
 * and an honest client's p99 was 20-36 ms against 13 with 250).
 */
export const QUERY_BURST_PER_ADDRESS = 250;
/** Most addresses whose buckets are remembered at once. */
export const MAX_RATE_LIMITED_ADDRESSES = 65_536;

/** Options for {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  /** Tokens added a second. @default {QUERIES_PER_SECOND_PER_ADDRESS} */
  rate?: number;
  /** Tokens a bucket holds at most. @default {QUERY_BURST_PER_ADDRESS} */
  burst?: number;
  /** Buckets remembered at once. @default {MAX_RATE_LIMITED_ADDRESSES} */
  maxKeys?: number;
  /** The clock, in ms. @default {performance.now} */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

/**
 * Per-address token buckets.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ rate: 10, burst: 20 });
 * if (!limiter.take("10.0.0.5")) reply("busy");
 * ```
 */
export class RateLimiter {
  #rate: number;
  #burst: number;
  #maxKeys: number;
  #now: () => number;
  #buckets = new Map<string, Bucket>();

  /** Full buckets for every address. */
  constructor(options: RateLimiterOptions = {}) {
    this.#rate = options.rate ?? QUERIES_PER_SECOND_PER_ADDRESS;
    this.#burst = options.burst ?? QUERY_BURST_PER_ADDRESS;
    this.#maxKeys = options.maxKeys ?? MAX_RATE_LIMITED_ADDRESSES;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Takes one token from `key`'s bucket; false if it is empty. */
  take(key: string): boolean {
    return this.reserve(key, 0) === 0;
  }

  /**
   * Takes one token from `key`'s bucket, one not earned yet if need be:
   * the ms until it is (0: now), or undefined when that is more than
   * `maxWaitMs` (then nothing is taken). Requests reserved one after
   * another wait one after another, each 1/rate s after the last.
   */
  reserve(key: string, maxWaitMs: number): number | undefined {
    // No limit (and no 0 × Infinity refill to make a NaN of the bucket).
    if (this.#rate === Infinity) return 0;
    const bucket = this.#bucket(key);
    if (!bucket) return undefined;
    const left = bucket.tokens - 1;
    if (left >= 0) {
      bucket.tokens = left;
      return 0;
    }
    const waitMs = -left / this.#rate * 1000;
    if (waitMs > maxWaitMs) return undefined;
    bucket.tokens = left;
    return waitMs;
  }

  /** `key`'s bucket, refilled to now; undefined when too many are held. */
  #bucket(key: string): Bucket | undefined {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket) {
      const refill = (now - bucket.updated) / 1000 * this.#rate;
      bucket.tokens = Math.min(this.#burst, bucket.tokens + refill);
      bucket.updated = now;
    } else {
      if (this.#buckets.size >= this.#maxKeys) this.sweep();
      // Still full of busy addresses: refuse rather than grow without bound.
      if (this.#buckets.size >= this.#maxKeys) return undefined;
      bucket = { tokens: this.#burst, updated: now };
      this.#buckets.set(key, bucket);
    }
    return bucket;
  }

  /** Forgets buckets that have refilled (they hold nothing to remember). */
  sweep(): void {
    const now = this.#now();
    for (const [key, bucket] of this.#buckets) {
      const tokens = bucket.tokens + (now - bucket.updated) / 1000 * this.#rate;
      if (tokens >= this.#burst) this.#buckets.delete(key);
    }
  }

  /** Addresses remembered right now. */
  get size(): number {
    return this.#buckets.size;
  }
}
