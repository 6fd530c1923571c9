/**
 * Requests take turns by address group, so that a burst from a few
 * addresses cannot hold up everyone else. Answering is one thread's work:
 * without turns, every request that arrived together is answered in one go,
 * in the order the reads completed, and a client whose request lands behind
 * a flood's few hundred waits for all of them (#22: 8 flooding addresses
 * made an honest client's p99 eight times its quiet figure).
 *
 * A request is answered at once while nobody waits and the current slice of
 * work is under {@linkcode TURN_BUDGET_MS}. Past it, requests queue by
 * address group and the tracker yields to the event loop (so that requests
 * just arrived are read and queued too); then the groups are served in turn,
 * one request each, a slice at a time. A group with one request waiting is
 * served within one round, however many the others have.
 *
 * @module
 */

/**
 * Most ms of answering in one go before the tracker yields, once requests
 * wait: what one group's burst may add to another's wait, and small beside
 * the ~2 ms a yield costs (a timer), so that a sustained flood still gets
 * most of the tracker.
 */
export const TURN_BUDGET_MS = 4;

/** Turns of requests, fair across address groups. */
export class FairTurns {
  /** Waiting requests by group, in turn order (a group served goes last). */
  #groups = new Map<string, (() => void)[]>();
  #waiting = 0;
  /** A request granted its turn and not yet done. */
  #busy = false;
  /** performance.now() when the current slice began; -1 when none is open. */
  #sliceStart = -1;
  #timer?: ReturnType<typeof setTimeout>;
  #budgetMs: number;
  #closed = false;

  /** Turns with slices of `budgetMs` (default {@linkcode TURN_BUDGET_MS}). */
  constructor(budgetMs = TURN_BUDGET_MS) {
    this.#budgetMs = budgetMs;
  }

  /**
   * Waits for `group`'s turn: undefined when it may go at once (the quiet
   * case: no promise), else a promise that resolves when it may. Call
   * {@linkcode done} once the request's synchronous work is over.
   */
  take(group: string): Promise<void> | undefined {
    if (this.#closed) return undefined;
    if (this.#waiting === 0 && !this.#busy && this.#inSlice()) {
      this.#busy = true;
      return undefined;
    }
    return new Promise((resolve) => {
      const queue = this.#groups.get(group);
      if (queue) queue.push(resolve);
      else this.#groups.set(group, [resolve]);
      this.#waiting++;
      // The slice's timer serves the queue when this slice is over.
      if (!this.#busy) this.#inSlice();
    });
  }

  /** The request given its turn is done: the next one may go. */
  done(): void {
    this.#busy = false;
    if (this.#waiting > 0 && this.#inSlice()) this.#grantNext();
  }

  /** Lets every waiting request go (the tracker is closing). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const queue of this.#groups.values()) {
      for (const resolve of queue) resolve();
    }
    this.#groups.clear();
    this.#waiting = 0;
  }

  /** True while the current slice has budget left; opens one if none is. */
  #inSlice(): boolean {
    const now = performance.now();
    if (this.#sliceStart < 0) {
      this.#sliceStart = now;
      // Fires once the event loop has turned: reads that completed meanwhile
      // have queued their requests, and a new slice begins.
      this.#timer = setTimeout(() => this.#nextSlice(), 0);
      return true;
    }
    return now - this.#sliceStart < this.#budgetMs;
  }

  #nextSlice(): void {
    this.#timer = undefined;
    this.#sliceStart = -1;
    if (this.#waiting > 0 && !this.#busy && this.#inSlice()) this.#grantNext();
  }

  /** Gives the turn to the first group in line, which then goes last. */
  #grantNext(): void {
    const [group, queue] = this.#groups.entries().next().value!;
    const resolve = queue.shift()!;
    this.#groups.delete(group);
    if (queue.length > 0) this.#groups.set(group, queue);
    this.#waiting--;
    this.#busy = true;
    resolve();
  }
}
