/**
 * What one address may ask of the tracker: reads (`query`, `list`,
 * `search`, `stats`) and writes (registrations, renewals, withdrawals)
 * each within a token bucket per address group (an IPv4 address, or an
 * IPv6 /64), so a few addresses flooding it cannot take the tracker's time
 * from everyone else, while an office of a thousand peers behind one
 * address still fits.
 *
 * @module
 */

import { addressGroup } from "../net/listener.ts";
import {
  QUERIES_PER_SECOND_PER_ADDRESS,
  QUERY_BURST_PER_ADDRESS,
  RateLimiter,
} from "./rate_limit.ts";

/**
 * Writes a second one address may make on average: a thousand peers
 * behind one address renewing every 60 s make 17, and registering 10 files
 * each after a restart, 10,000 at once (WRITE_BURST_PER_ADDRESS).
 */
export const WRITES_PER_SECOND_PER_ADDRESS = 1_000;
/** Writes one address may make at once before the rate applies. */
export const WRITE_BURST_PER_ADDRESS = 20_000;

/** Requests that only read the registry. */
const READS: ReadonlySet<string> = new Set([
  "query",
  "query-sealed",
  "list",
  "search",
  "stats",
]);
/** Requests that change it. */
const WRITES: ReadonlySet<string> = new Set([
  "register",
  "register-sealed",
  "announce",
  "unregister",
]);

/** Options for {@linkcode RequestLimits}. */
export interface RequestLimitsOptions {
  /** Reads a second per address; `Infinity` turns the limit off. @default {QUERIES_PER_SECOND_PER_ADDRESS} */
  queriesPerSecond?: number;
  /** Reads one address may make at once. @default {QUERY_BURST_PER_ADDRESS} */
  queryBurst?: number;
  /** Writes a second per address. @default {WRITES_PER_SECOND_PER_ADDRESS} */
  writesPerSecond?: number;
  /** Writes one address may make at once. @default {WRITE_BURST_PER_ADDRESS} */
  writeBurst?: number;
}

/** The read and write buckets of every address group. */
export class RequestLimits {
  #reads: RateLimiter;
  #writes: RateLimiter;

  /** Buckets with `options`' rates. */
  constructor(options: RequestLimitsOptions = {}) {
    this.#reads = new RateLimiter({
      rate: options.queriesPerSecond ?? QUERIES_PER_SECOND_PER_ADDRESS,
      burst: options.queryBurst ?? QUERY_BURST_PER_ADDRESS,
    });
    this.#writes = new RateLimiter({
      rate: options.writesPerSecond ?? WRITES_PER_SECOND_PER_ADDRESS,
      burst: options.writeBurst ?? WRITE_BURST_PER_ADDRESS,
    });
  }

  /**
   * Counts a request of `type` from `host` against its bucket: the ms it
   * should wait for its turn (0: none), or undefined when that would be
   * more than `maxWaitMs` (refuse it: nothing is counted). Other requests
   * (a `reach`, a `connect`) have limits of their own: 0.
   */
  reserve(type: string, host: string, maxWaitMs: number): number | undefined {
    const limiter = READS.has(type)
      ? this.#reads
      : WRITES.has(type)
      ? this.#writes
      : undefined;
    return limiter ? limiter.reserve(addressGroup(host), maxWaitMs) : 0;
  }

  /** Forgets buckets that are full again. */
  sweep(): void {
    this.#reads.sweep();
    this.#writes.sweep();
  }
}
