/**
 * A download's wait for a peer once none is left (`waitMs`): since when,
 * ended by a timer when the time is up (not at the run loop's next tick,
 * up to SWARM_REFRESH_MS later), and how long it lasted, which the error of
 * a download that gave up states.
 *
 * @module
 */

/** The wait for a peer of one download; see the module documentation. */
export class PeerWait {
  #since?: number;
  #timer?: ReturnType<typeof setTimeout>;
  /** How long the wait lasted when its time was up; undefined before. */
  waitedMs?: number;

  /** Whether it waits now (also once its time is up). */
  get waiting(): boolean {
    return this.#since !== undefined;
  }

  /** Starts waiting; `up` is called once `waitMs` have passed, unless stopped. */
  start(waitMs: number, up: () => void): void {
    const since = performance.now();
    this.#since = since;
    this.#timer = setTimeout(() => {
      this.waitedMs = performance.now() - since;
      up();
    }, waitMs);
  }

  /** A peer came: no longer waiting. */
  stop(): void {
    this.close();
    this.#since = undefined;
    this.waitedMs = undefined;
  }

  /** Cancels the timer (the download ended), keeping what it measured. */
  close(): void {
    clearTimeout(this.#timer);
  }
}
