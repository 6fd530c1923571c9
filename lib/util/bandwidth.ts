/**
 * A bandwidth limit shared by everything that moves piece bytes one way: a
 * token bucket that fills at `rate` bytes a second up to a small burst.
 * Senders (or readers) call {@linkcode BandwidthLimiter.take} before each
 * piece and wait their turn, first come first served, so several
 * connections share the limit fairly.
 *
 * Every byte is paid for before it moves, a piece larger than the burst
 * too: over any stretch of time, at most `rate × seconds + burst` bytes
 * pass. The burst (BURST_SECONDS of traffic, one window) is all that goes
 * ahead of the rate, once at the start and again only after an idle
 * spell, so a get of a few MiB under `--download-limit 300K` averages
 * within 2% of 300 KiB/s.
 *
 * @module
 */

/**
 * Seconds of traffic the bucket holds when idle: the one burst let through
 * ahead of the rate, at the start or after an idle spell. Small, so a rate
 * measured over a few seconds stays within a few percent of the limit.
 */
export const BURST_SECONDS = 0.1;
/** Smallest rate a limiter accepts, in bytes a second. */
export const MIN_BANDWIDTH_LIMIT = 1024;
/** Highest bandwidth limit taken, bytes a second (1024G): more is no limit. */
export const MAX_BANDWIDTH_LIMIT = 1024 ** 4;

/** Options for {@linkcode BandwidthLimiter}. */
export interface BandwidthLimiterOptions {
  /** Bytes the bucket holds at most. @default {rate × BURST_SECONDS} */
  burst?: number;
  /** The clock, in ms. @default {performance.now} */
  now?: () => number;
}

interface Waiter {
  bytes: number;
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * A token bucket of bytes. A `take` larger than the burst waits while the
 * bucket fills past its usual size for it (it may hold as much as the
 * first waiter asks), so pieces of any size pass and none goes ahead of
 * the rate.
 *
 * @example
 * ```ts
 * const limit = new BandwidthLimiter(16 * 1024 ** 2); // 16 MiB/s
 * await limit.take(piece.length);
 * await conn.send({ type: "piece", index, data: piece });
 * ```
 */
export class BandwidthLimiter {
  /** Bytes a second. */
  readonly rate: number;
  /** Bytes the bucket holds at most. */
  readonly burst: number;
  #now: () => number;
  #tokens: number;
  #updated: number;
  #queue: Waiter[] = [];
  #timer?: ReturnType<typeof setTimeout>;
  #closed = false;

  /** A full bucket filling at `rate` bytes a second. */
  constructor(rate: number, options: BandwidthLimiterOptions = {}) {
    if (!(Number.isFinite(rate) && rate >= MIN_BANDWIDTH_LIMIT)) {
      throw new RangeError(
        `A bandwidth limit must be at least ${MIN_BANDWIDTH_LIMIT} bytes a second, got ${rate}`,
      );
    }
    this.rate = rate;
    this.burst = Math.max(1, options.burst ?? Math.ceil(rate * BURST_SECONDS));
    this.#now = options.now ?? (() => performance.now());
    this.#tokens = this.burst;
    this.#updated = this.#now();
  }

  /** Callers waiting for their turn. */
  get waiting(): number {
    return this.#queue.length;
  }

  /**
   * Resolves once `bytes` may move. Rejects with the signal's reason if
   * `signal` aborts first (nothing is taken then), or once the limiter is
   * closed.
   */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new Error("The bandwidth limiter is closed."));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.#refill();
    if (this.#queue.length === 0 && this.#enough(bytes)) {
      this.#tokens -= bytes;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { bytes, resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => this.#abandon(waiter);
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.#queue.push(waiter);
      if (this.#queue.length === 1) this.#schedule();
    });
  }

  /** Rejects every waiter and clears the timer; later takes reject. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const error = new Error("The bandwidth limiter is closed.");
    for (const waiter of this.#queue.splice(0)) {
      this.#forget(waiter);
      waiter.reject(error);
    }
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Whether the bucket can pay for `bytes` now. */
  #enough(bytes: number): boolean {
    return this.#tokens >= bytes;
  }

  /**
   * Adds what the time since the last refill earned: up to the burst, or
   * up to what the first waiter asks while one waits for more than that.
   */
  #refill(): void {
    const now = this.#now();
    const added = (now - this.#updated) / 1000 * this.rate;
    const most = Math.max(this.burst, this.#queue[0]?.bytes ?? 0);
    this.#tokens = Math.min(most, this.#tokens + added);
    this.#updated = now;
  }

  /** Lets waiters through in order while the bucket pays, then sleeps until the next can. */
  #release(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#refill();
    while (this.#queue.length > 0 && this.#enough(this.#queue[0].bytes)) {
      const waiter = this.#queue.shift()!;
      this.#tokens -= waiter.bytes;
      this.#forget(waiter);
      waiter.resolve();
    }
    if (this.#queue.length > 0) this.#schedule();
  }

  /** One timer for the head of the queue: no polling. */
  #schedule(): void {
    clearTimeout(this.#timer);
    const head = this.#queue[0];
    const missing = head.bytes - this.#tokens;
    const ms = Math.max(1, Math.ceil(missing / this.rate * 1000));
    this.#timer = setTimeout(() => this.#release(), ms);
  }

  #abandon(waiter: Waiter): void {
    const at = this.#queue.indexOf(waiter);
    if (at < 0) return;
    this.#queue.splice(at, 1);
    this.#forget(waiter);
    waiter.reject(waiter.signal!.reason);
    if (this.#queue.length === 0) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    } else if (at === 0) {
      // The one the timer was set for left: the next may go sooner.
      this.#release();
    }
  }

  #forget(waiter: Waiter): void {
    if (waiter.onAbort) {
      waiter.signal!.removeEventListener("abort", waiter.onAbort);
    }
  }
}
