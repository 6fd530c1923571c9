/**
 * A timeout that is moved or stopped far more often than it fires, such as
 * a connection's deadline for each frame. Moving it later or stopping it
 * only changes a number; the system timer is set again only when it fires
 * early (it then waits out the rest) or when the timeout moves earlier.
 *
 * A connection sets and clears three deadlines per piece; doing that with
 * `setTimeout`/`clearTimeout` took about 4% of a download's main thread
 * (issue #4).
 *
 * @module
 */

/** Calls a function once a moving deadline has passed. */
export class LazyTimeout {
  #onExpire: () => void;
  /** When the timeout is due (performance.now() ms); Infinity when stopped. */
  #due = Infinity;
  /** When the system timer fires; Infinity when none is set. */
  #firesAt = Infinity;
  #timer?: ReturnType<typeof setTimeout>;
  #disposed = false;

  /** A stopped timeout that calls `onExpire` when it expires. */
  constructor(onExpire: () => void) {
    this.#onExpire = onExpire;
  }

  /** Calls `onExpire` `ms` from now unless started again or stopped first. */
  start(ms: number): void {
    if (this.#disposed) return;
    const now = performance.now();
    this.#due = now + ms;
    if (this.#due < this.#firesAt) this.#arm(now);
  }

  /** True between {@linkcode start} and expiry or {@linkcode stop}. */
  get running(): boolean {
    return this.#due !== Infinity;
  }

  /**
   * Stops the timeout; the system timer, if set, fires and does nothing (it
   * does not keep the process alive meanwhile).
   */
  stop(): void {
    this.#due = Infinity;
  }

  /** Stops the timeout and clears the system timer; it cannot start again. */
  dispose(): void {
    this.#disposed = true;
    this.#due = Infinity;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Same as {@linkcode dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  #arm(now: number): void {
    clearTimeout(this.#timer);
    this.#firesAt = this.#due;
    this.#timer = setTimeout(() => this.#fire(), this.#due - now);
    // A deadline matters only while something waits on I/O, which keeps
    // the process alive by itself: a timer left behind by stop() must not.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#firesAt = Infinity;
    if (this.#due === Infinity) return;
    const now = performance.now();
    if (now < this.#due) {
      this.#arm(now);
      return;
    }
    this.#due = Infinity;
    this.#onExpire();
  }
}
