/**
 * A budget of events per second: counts events in one-second windows and
 * says when a window's budget is spent (datagrams read from anyone, sent to
 * everyone).
 *
 * @module
 */

/** Allows `limit` events in each window of a second. */
export class PerSecondBudget {
  #limit: number;
  #start = -Infinity;
  #used = 0;

  /** A budget of `limit` events a second. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Counts one event; false if the window's budget is spent. */
  take(): boolean {
    const now = performance.now();
    if (now - this.#start >= 1_000) {
      this.#start = now;
      this.#used = 0;
    }
    if (this.#used >= this.#limit) return false;
    this.#used++;
    return true;
  }

  /** Ms until the next window. */
  msToNext(): number {
    return Math.max(0, Math.ceil(this.#start + 1_000 - performance.now()));
  }
}
