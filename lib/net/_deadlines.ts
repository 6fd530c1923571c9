/**
 * The deadlines of many mostly idle connections (a tracker's) on one
 * system timer, instead of one timer each: a deadline is a number in a
 * set, and the one timer fires at the earliest, expires what is due and
 * sets itself for the next. Moving a deadline later only changes its
 * number. With many deadlines, sweeps are spaced at least
 * {@linkcode SWEEP_GAP_PER_DEADLINE_MS} per deadline apart (100 ms for
 * 100,000), so one may fire that much late but never early.
 *
 * @module
 */

/**
 * Least gap between two sweeps, per deadline in the set: a sweep visits
 * every one, and deadlines expiring one after another must not make the
 * sweeps back to back.
 */
export const SWEEP_GAP_PER_DEADLINE_MS = 0.001;

/** A deadline shaped like `LazyTimeout`: start, stop, dispose. */
export interface Deadline {
  /** Expires `ms` from now unless started again or stopped first. */
  start(ms: number): void;
  /** Stops it; it may be started again. */
  stop(): void;
  /** Stops it for good. */
  dispose(): void;
}

/** Every shared deadline, on one timer. */
class DeadlineSet {
  #all = new Set<SharedDeadline>();
  #timer?: ReturnType<typeof setTimeout>;
  /** When the timer fires (performance.now() ms); Infinity when unset. */
  #firesAt = Infinity;
  #lastSweep = -Infinity;

  add(deadline: SharedDeadline): void {
    this.#all.add(deadline);
  }

  remove(deadline: SharedDeadline): void {
    this.#all.delete(deadline);
    if (this.#all.size === 0) this.#clear();
  }

  /** A deadline was set to `due`: the timer fires by then (or soon after). */
  due(due: number, now: number): void {
    if (due < this.#firesAt) this.#arm(due, now);
  }

  #arm(due: number, now: number): void {
    clearTimeout(this.#timer);
    const at = Math.max(
      due,
      this.#lastSweep + this.#all.size * SWEEP_GAP_PER_DEADLINE_MS,
    );
    this.#firesAt = at;
    this.#timer = setTimeout(() => this.#sweep(), Math.max(0, at - now));
    // Like LazyTimeout's: something waiting on I/O keeps the process alive.
    Deno.unrefTimer(this.#timer);
  }

  #clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#firesAt = Infinity;
  }

  #sweep(): void {
    this.#timer = undefined;
    this.#firesAt = Infinity;
    const now = performance.now();
    this.#lastSweep = now;
    let next = Infinity;
    const expired: SharedDeadline[] = [];
    for (const deadline of this.#all) {
      const due = deadline.dueAt;
      if (due <= now) expired.push(deadline);
      else if (due < next) next = due;
    }
    for (const deadline of expired) deadline.expire();
    // An expiry may have started deadlines (and set the timer) already.
    if (next < this.#firesAt && this.#all.size > 0) this.#arm(next, now);
  }
}

const shared = new DeadlineSet();

/** One deadline in the shared set. */
class SharedDeadline implements Deadline {
  #onExpire: () => void;
  #due = Infinity;
  #disposed = false;

  constructor(onExpire: () => void) {
    this.#onExpire = onExpire;
  }

  get dueAt(): number {
    return this.#due;
  }

  start(ms: number): void {
    if (this.#disposed) return;
    const now = performance.now();
    if (this.#due === Infinity) shared.add(this);
    this.#due = now + ms;
    shared.due(this.#due, now);
  }

  stop(): void {
    // Stays in the set until the next sweep or start: a stop and a start
    // per frame cost no set operations.
    this.#due = Infinity;
  }

  dispose(): void {
    this.#disposed = true;
    this.#due = Infinity;
    shared.remove(this);
  }

  expire(): void {
    this.#due = Infinity;
    shared.remove(this);
    this.#onExpire();
  }
}

/**
 * A stopped deadline on the shared timer that calls `onExpire` when it
 * expires; for one of many connections.
 */
export function sharedDeadline(onExpire: () => void): Deadline {
  return new SharedDeadline(onExpire);
}
