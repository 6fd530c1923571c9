/**
 * Fairness between downloaders: a peer uploads to at most a few of them at
 * once. A downloader that asks while every slot is taken waits in line
 * (it is told `choke`), and a downloader that has held a slot for a turn
 * gives it up when somebody is waiting, so everybody progresses.
 *
 * @module
 */

/** Downloaders served at once by default. */
export const UPLOAD_SLOTS = 4;
/** Ms a downloader keeps its slot while others wait. */
export const SLOT_TURN_MS = 2_000;
/** Ms a slot is kept with no request to answer before it is given up. */
export const SLOT_IDLE_MS = 250;
/** Most upload slots a user may configure. */
export const MAX_UPLOAD_SLOTS = 256;

/** A counted set of upload slots with a first-come, first-served line. */
export class UploadSlots {
  #free: number;
  #line: (() => void)[] = [];

  /** `slots` slots, 1 to MAX_UPLOAD_SLOTS. */
  constructor(slots: number = UPLOAD_SLOTS) {
    if (!Number.isSafeInteger(slots) || slots < 1 || slots > MAX_UPLOAD_SLOTS) {
      throw new RangeError(
        `Upload slots must be a whole number from 1 to ${MAX_UPLOAD_SLOTS}`,
      );
    }
    this.#free = slots;
  }

  /** Downloaders waiting for a slot. */
  get waiting(): number {
    return this.#line.length;
  }

  /** Takes a slot if one is free and nobody waits; true if taken. */
  tryTake(): boolean {
    if (this.#free === 0 || this.#line.length > 0) return false;
    this.#free--;
    return true;
  }

  /**
   * Waits in line for a slot. Rejects with the abort reason if `signal`
   * aborts first (the place in line is given up).
   */
  take(signal: AbortSignal): Promise<void> {
    if (this.tryTake()) return Promise.resolve();
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      const turn = () => {
        signal.removeEventListener("abort", abort);
        resolve();
      };
      const abort = () => {
        const at = this.#line.indexOf(turn);
        if (at !== -1) this.#line.splice(at, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", abort, { once: true });
      this.#line.push(turn);
    });
  }

  /** Gives a slot back: the first in line gets it. */
  give(): void {
    const next = this.#line.shift();
    if (next) next();
    else this.#free++;
  }
}
