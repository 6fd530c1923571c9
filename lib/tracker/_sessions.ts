/**
 * What one tracker connection registered, so that its registrations go the
 * moment it closes (a sharer killed without unregistering), rather than
 * when they expire.
 *
 * A registration records its owner (the `PeerTable`'s `regOwner`, 4 bytes);
 * the session keeps the slot numbers it took, 4 bytes each, in one typed
 * array. Slots it no longer owns (unregistered, expired, renewed over a
 * newer connection) are left in the list and skipped when it closes; the
 * list is compacted whenever it fills, so it stays within about twice what
 * the session still owns.
 *
 * @module
 */

/** Slots a session's list starts with once it takes its first registration. */
const FIRST_SLOTS = 8;
const EMPTY = new Int32Array(0);

/**
 * The registrations one connection made or last renewed. The registry
 * hands sessions out (`TrackerService.openSession`) and drops what each
 * still owns when it ends (`TrackerService.closeSession`).
 */
export class Session {
  /** Owner number stamped on the registrations it holds; never 0. */
  readonly id: number;
  #owns: (reg: number) => boolean;
  #regs = EMPTY;
  #length = 0;
  #closed = false;

  /** A session numbered `id`; `owns(reg)` tells whether it still owns slot `reg`. */
  constructor(id: number, owns: (reg: number) => boolean) {
    this.id = id;
    this.#owns = owns;
  }

  /** True once it has ended: it takes no more registrations. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Slots in its list, owned or not: what it costs beyond the registrations. */
  get listed(): number {
    return this.#length;
  }

  /** Notes that it now owns registration `reg`. */
  take(reg: number): void {
    if (this.#length === this.#regs.length) this.#compact();
    this.#regs[this.#length++] = reg;
  }

  /**
   * Ends the session; returns every slot it took. Some may since have been
   * dropped or taken over: the caller checks each against its owner.
   */
  end(): Int32Array {
    this.#closed = true;
    const regs = this.#regs.subarray(0, this.#length);
    this.#regs = EMPTY;
    this.#length = 0;
    return regs;
  }

  /**
   * Keeps only the slots it still owns, once each, in a list with room for
   * as many again: each slot taken costs O(1) on average.
   */
  #compact(): void {
    const kept = this.#regs.subarray(0, this.#length).filter(this.#owns);
    kept.sort();
    let n = 0;
    for (let i = 0; i < kept.length; i++) {
      // A slot freed and taken again by this session is listed twice.
      if (i === 0 || kept[i] !== kept[i - 1]) kept[n++] = kept[i];
    }
    const regs = new Int32Array(Math.max(FIRST_SLOTS, 2 * n));
    regs.set(kept.subarray(0, n));
    this.#regs = regs;
    this.#length = n;
  }
}
