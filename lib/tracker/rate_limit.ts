/**
 * Token buckets keyed by remote address: each address may make `rate`
 * requests a second on average and `burst` at once. A server asks before
 * answering and says `busy` when the bucket is empty, so one address
 * flooding it cannot slow the answers everyone else gets.
 *
 * @module
 */

/** Requests a second one address may make to the tracker, on average (an office behind one NAT address is many users; one flooder still costs the tracker little). */
export const QUERIES_PER_SECOND_PER_ADDRESS = 1_000;
/** Requests one address may make at once before the rate applies. */
export const QUERY_BURST_PER_ADDRESS = 2_000;
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
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket) {
      const refill = (now - bucket.updated) / 1000 * this.#rate;
      bucket.tokens = Math.min(this.#burst, bucket.tokens + refill);
      bucket.updated = now;
    } else {
      if (this.#buckets.size >= this.#maxKeys) this.sweep();
      // Still full of busy addresses: refuse rather than grow without bound.
      if (this.#buckets.size >= this.#maxKeys) return false;
      bucket = { tokens: this.#burst, updated: now };
      this.#buckets.set(key, bucket);
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
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
