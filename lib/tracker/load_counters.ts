/**
 * What a tracker counts about its own load, for `stats` and `/metrics`:
 * requests answered, announces and queries (in all, and a second over a
 * sliding window), requests and connections refused by reason, and bytes
 * received. A refused request is answered (with an error) and counted
 * both as what it asked for and under its reason: the load is what
 * arrives, the refusals say how much of it was turned away. Counting is a
 * few integer adds per request; the rates keep one bucket a second, so
 * nothing grows with traffic.
 *
 * @module
 */

import type { RefusalReason as ListenerRefusal } from "../net/listener.ts";
import type { ErrorCode } from "../protocol/messages.ts";

/** The span `announcesPerSecond` and `queriesPerSecond` average over. */
export const LOAD_WINDOW_MS = 10_000;

/**
 * Why a tracker refused a request or a connection. The tracker's own:
 * `rate-limit` (reads past the per-address token bucket), `quota` (a
 * registration past a registry quota), `conflict` (one host registering
 * different metadata for an ID), `bad-request` (malformed or unknown
 * requests), `timeout` (a connection idle or too slow, closed); and the
 * listener's, about connections (`net/listener.ts`): `full` (the total
 * cap), `address-full` (the cap per address or /64), `handshakes` (too
 * many in their handshake at once), `handshake-failed`, `evicted` (closed
 * to make room for a less used address).
 */
export type RefusalReason =
  | "rate-limit"
  | "quota"
  | "conflict"
  | "bad-request"
  | "timeout"
  | ListenerRefusal;

/** Every reason, in the order `/metrics` lists them (each from zero). */
export const REFUSAL_REASONS: readonly RefusalReason[] = [
  "rate-limit",
  "quota",
  "conflict",
  "bad-request",
  "timeout",
  "full",
  "address-full",
  "handshakes",
  "handshake-failed",
  "evicted",
];

/** Requests counted as announces: a peer saying it shares something. */
const ANNOUNCES: ReadonlySet<string> = new Set([
  "announce",
  "register",
  "register-sealed",
]);
/** Requests counted as queries: a lookup of who shares what. */
const QUERIES: ReadonlySet<string> = new Set([
  "query",
  "query-sealed",
  "list",
  "search",
]);

/** The counters' part of a `stats` answer. */
export interface LoadReport {
  /** Requests answered since start. */
  requests: number;
  /** Milliseconds since start. */
  uptimeMs: number;
  /** `announce`, `register` and `register-sealed` requests answered since start. */
  announces: number;
  /** `query`, `query-sealed`, `list` and `search` requests answered since start. */
  queries: number;
  /** Announces a second, over the last {@linkcode LOAD_WINDOW_MS}. */
  announcesPerSecond: number;
  /** Queries a second, over the last {@linkcode LOAD_WINDOW_MS}. */
  queriesPerSecond: number;
  /** Refusals since start, by reason; reasons never seen are left out. */
  refused: Record<string, number>;
  /** Requests since start that waited for their rate's token. */
  rateWaits: number;
  /**
   * Accepts since start that failed for want of file descriptors (one
   * every `ACCEPT_RETRY_MS` while the tracker is out of them).
   */
  outOfFiles: number;
  /** Frame bytes received from clients since start (after decryption). */
  bytesReceived: number;
}

/** Options for {@linkcode LoadCounters}. */
export interface LoadCountersOptions {
  /** The clock, in ms. @default {performance.now} */
  now?: () => number;
  /** The span rates average over. @default {LOAD_WINDOW_MS} */
  windowMs?: number;
}

/**
 * A tracker's load counters.
 *
 * @example
 * ```ts
 * const load = new LoadCounters();
 * load.answered("announce");
 * load.refuse("rate-limit");
 * load.report().announces; // 1
 * ```
 */
export class LoadCounters {
  #now: () => number;
  #started: number;
  #requests = 0;
  #bytes = 0;
  #announces: WindowedCount;
  #queries: WindowedCount;
  #refused = new Map<string, number>();
  #rateWaits = 0;
  #outOfFiles = 0;

  /** Counters from zero, starting the clock. */
  constructor(options: LoadCountersOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#started = this.#now();
    const windowMs = options.windowMs ?? LOAD_WINDOW_MS;
    this.#announces = new WindowedCount(windowMs, this.#started);
    this.#queries = new WindowedCount(windowMs, this.#started);
  }

  /** Counts one answered request of type `type`. */
  answered(type: string): void {
    this.#requests++;
    if (ANNOUNCES.has(type)) this.#announces.add(this.#now());
    else if (QUERIES.has(type)) this.#queries.add(this.#now());
  }

  /** Counts one refusal for `reason`; nothing when `reason` is undefined. */
  refuse(reason: RefusalReason | undefined): void {
    if (reason === undefined) return;
    this.#refused.set(reason, (this.#refused.get(reason) ?? 0) + 1);
  }

  /** Counts one request that waits for its rate's token. */
  rateWaited(): void {
    this.#rateWaits++;
  }

  /** Counts one accept that failed for want of file descriptors. */
  outOfFiles(): void {
    this.#outOfFiles++;
  }

  /** Counts `count` bytes received from a client. */
  received(count: number): void {
    this.#bytes += count;
  }

  /** The counters as they are now. */
  report(): LoadReport {
    const now = this.#now();
    return {
      requests: this.#requests,
      uptimeMs: Math.round(now - this.#started),
      announces: this.#announces.total,
      queries: this.#queries.total,
      announcesPerSecond: this.#announces.perSecond(now),
      queriesPerSecond: this.#queries.perSecond(now),
      refused: Object.fromEntries(this.#refused),
      rateWaits: this.#rateWaits,
      outOfFiles: this.#outOfFiles,
      bytesReceived: this.#bytes,
    };
  }
}

/**
 * The refusal a registry error stands for, or undefined for answers that
 * are not refusals (`not-found`, `ambiguous`).
 */
export function registryRefusal(code: ErrorCode): RefusalReason | undefined {
  switch (code) {
    case "busy":
      return "quota";
    case "conflict":
      return "conflict";
    case "bad-request":
      return "bad-request";
    default:
      return undefined;
  }
}

/**
 * A count in all and over a sliding window of one-second buckets: the rate
 * is the window's events over the time it covers (since start, if that is
 * shorter; at least a second), rounded to hundredths.
 */
class WindowedCount {
  total = 0;
  #started: number;
  #seconds: Float64Array;
  #counts: Float64Array;

  constructor(windowMs: number, started: number) {
    const buckets = Math.max(1, Math.ceil(windowMs / 1000));
    this.#started = started;
    this.#seconds = new Float64Array(buckets).fill(-1);
    this.#counts = new Float64Array(buckets);
  }

  add(now: number): void {
    this.total++;
    const second = Math.floor(now / 1000);
    const slot = second % this.#seconds.length;
    if (this.#seconds[slot] !== second) {
      this.#seconds[slot] = second;
      this.#counts[slot] = 0;
    }
    this.#counts[slot]++;
  }

  perSecond(now: number): number {
    const second = Math.floor(now / 1000);
    const oldest = second - this.#seconds.length;
    let sum = 0;
    for (let slot = 0; slot < this.#seconds.length; slot++) {
      if (this.#seconds[slot] > oldest) sum += this.#counts[slot];
    }
    // The buckets cover the current second so far and the whole ones before.
    const from = Math.max((oldest + 1) * 1000, this.#started);
    const spanMs = Math.max(1000, now - from);
    return Math.round(sum / (spanMs / 1000) * 100) / 100;
  }
}
