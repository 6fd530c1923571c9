/**
 * Which piece each peer connection should ask for next. Pieces are handed
 * out lowest index first, so they arrive nearly in order and the whole-file
 * hash can follow the download closely; pieces given back by a failed peer
 * go out again before new ones.
 *
 * @module
 */

/** Hands out pieces to peer connections and tracks completion. */
export class PieceScheduler {
  #count: number;
  #nextFresh = 0;
  #released: number[] = [];
  #done: Uint8Array;
  #doneCount = 0;
  #stopped = false;
  #waiters: (() => void)[] = [];

  /** A scheduler for `count` pieces, all missing except those in `have`. */
  constructor(count: number, have: Iterable<number> = []) {
    this.#count = count;
    this.#done = new Uint8Array(count);
    for (const index of have) this.complete(index);
    this.#skipDone();
  }

  /** Number of pieces in the file. */
  get count(): number {
    return this.#count;
  }

  /** Pieces verified so far. */
  get completed(): number {
    return this.#doneCount;
  }

  /** True once every piece is verified. */
  get finished(): boolean {
    return this.#doneCount === this.#count;
  }

  /** True once finished or stopped: connections should wind down. */
  get over(): boolean {
    return this.finished || this.#stopped;
  }

  /** True if piece `index` is verified. */
  has(index: number): boolean {
    return this.#done[index] === 1;
  }

  /** The next piece to request, or `undefined` if none is unassigned. */
  next(): number | undefined {
    if (this.#stopped) return undefined;
    while (this.#released.length > 0) {
      const index = this.#released.shift()!;
      if (!this.has(index)) return index;
    }
    this.#skipDone();
    if (this.#nextFresh >= this.#count) return undefined;
    return this.#nextFresh++;
  }

  /** Gives a piece back (its peer failed); it will be handed out again. */
  release(index: number): void {
    if (this.has(index) || this.#released.includes(index)) return;
    const at = this.#released.findIndex((other) => other > index);
    this.#released.splice(at === -1 ? this.#released.length : at, 0, index);
    this.#wake();
  }

  /** Marks a piece verified and written. */
  complete(index: number): void {
    if (this.has(index)) return;
    this.#done[index] = 1;
    this.#doneCount++;
    if (this.finished) this.#wake();
  }

  /** Stops handing out pieces and wakes every waiter (cancel, failure). */
  stop(): void {
    this.#stopped = true;
    this.#wake();
  }

  /** Resolves when a piece is released, or the download is over. */
  waitForWork(): Promise<void> {
    if (this.over) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #skipDone(): void {
    while (this.#nextFresh < this.#count && this.has(this.#nextFresh)) {
      this.#nextFresh++;
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
