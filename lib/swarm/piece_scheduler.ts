/**
 * Which piece each peer connection should ask for next.
 *
 * - The first few pieces are picked at random, so downloaders that start
 *   together soon hold different pieces to trade.
 * - After that, rarest first: among the pieces the peer has and nobody is
 *   asking for yet, those held by the fewest connected peers; among equally
 *   rare ones a random pick. With only whole files connected, the pick is
 *   among the pieces within {@linkcode PICK_WINDOW} of the lowest one
 *   nobody asks for, so no piece arrives more than about that far out of
 *   file order (the whole-file hash follows the download, and holds the
 *   pieces that arrive ahead of it) while two downloaders rarely pick the
 *   same; once a partial peer is connected, among the
 *   {@linkcode SWARM_PICK_WINDOW} lowest.
 * - A connection with nothing else to ask for may ask for a piece already
 *   requested from another peer (at most {@linkcode MAX_REQUESTERS} at
 *   once), only when that is worth it (`_endgame.ts`): the other peer has
 *   gone much longer without sending a piece than a piece takes the
 *   download's peers on average (it is slow, or stalled), and this one
 *   would have the piece sooner. This keeps pieces from waiting on
 *   one slow peer without fetching twice what is only waiting its turn. The
 *   latest asked of those pieces first: its peer is the least likely to
 *   have sent any of it. When a copy arrives, the others are cancelled.
 *
 * @module
 */

import type { Bitfield } from "../protocol/bitfield.ts";
import { Endgame } from "./_endgame.ts";

export { DOUBLE_UP_AFTER_MS, SLOWER_FACTOR } from "./_endgame.ts";

/** Pieces picked at random before rarest-first starts. */
export const RANDOM_FIRST_PIECES = 4;
/** Equally rare candidates (lowest indexes) a random pick is made among. */
export const PICK_WINDOW = 16;
/**
 * The same, once a peer holding only part of the file is connected: a wider
 * window keeps downloaders that share a slow sharer from asking it for the
 * same pieces (measured: 6 getters of one 16M-capped sharer made it upload
 * 1.3-1.4 copies with 16, 1.1 with 256), at the cost of more pieces read back
 * for the whole-file hash.
 */
export const SWARM_PICK_WINDOW = 256;
/** Connections asking for one piece at once, in the endgame. */
export const MAX_REQUESTERS = 2;
/** Soonest the scheduler wakes its listeners to look at the endgame again. */
const MIN_WAKE_MS = 20;
/** Random probes for a random-first piece before falling back to a scan. */
const RANDOM_PROBES = 32;

/** Options for {@linkcode PieceScheduler}. */
export interface PieceSchedulerOptions {
  /** Pieces already verified (a resumed download). */
  have?: Iterable<number>;
  /** Random numbers in [0, 1). @default {Math.random} */
  random?: () => number;
  /** Clock in ms, for the endgame's timing. @default {performance.now} */
  now?: () => number;
}

/**
 * Called when something changed that may give a connection work: a piece
 * was given back or became available, a piece completed (`completed` is its
 * index: connections still asking for it should cancel), a piece may have
 * become worth asking of a second peer, or the download is over.
 */
export type ScheduleListener = (completed?: number) => void;

/** Hands out pieces to peer connections and tracks completion. */
export class PieceScheduler {
  #count: number;
  #done: Uint8Array;
  #doneCount = 0;
  /** Connections asking for each piece right now. */
  #requested: Uint8Array;
  /** Who asks for each piece, since when, and how fast each connection is. */
  #endgame: Endgame;
  /** Missing pieces nobody is asking for. */
  #unasked: number;
  /** Connected peers holding part of the file that hold each piece. */
  #partial: Uint16Array;
  #partialPeers = 0;
  #frontier = 0;
  #stopped = false;
  #random: () => number;
  #now: () => number;
  #listeners = new Set<ScheduleListener>();
  #candidates: number[] = [];
  /** A wake-up due for the endgame (see {@linkcode #wakeIn}). */
  #wake?: { at: number; timer: ReturnType<typeof setTimeout> };

  /** A scheduler for `count` pieces, all missing except `options.have`. */
  constructor(count: number, options: PieceSchedulerOptions = {}) {
    this.#count = count;
    this.#done = new Uint8Array(count);
    this.#requested = new Uint8Array(count);
    this.#now = options.now ?? (() => performance.now());
    this.#endgame = new Endgame(count, this.#now);
    this.#unasked = count;
    this.#partial = new Uint16Array(count);
    this.#random = options.random ?? Math.random;
    for (const index of options.have ?? []) this.complete(index);
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

  /** Calls `listener` on every change (see {@linkcode ScheduleListener}); returns a function that stops it. */
  listen(listener: ScheduleListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#sleep();
    };
  }

  /** A peer connected; `have` is its bitfield, or undefined if it has every piece. */
  addPeer(have: Bitfield | undefined): void {
    if (!have) return;
    this.#partialPeers++;
    for (let index = 0; index < this.#count; index++) {
      if (have.has(index)) this.#partial[index]++;
    }
  }

  /** A peer disconnected; `have` as given to {@linkcode addPeer}, as it is now. */
  removePeer(have: Bitfield | undefined): void {
    if (!have) return;
    this.#partialPeers--;
    for (let index = 0; index < this.#count; index++) {
      if (have.has(index) && this.#partial[index] > 0) this.#partial[index]--;
    }
  }

  /** A connected partial peer now has piece `index` too. */
  peerHas(index: number): void {
    if (this.#partial[index] < 0xffff) this.#partial[index]++;
  }

  /**
   * The next piece to ask the peer holding `have` (undefined: every piece)
   * for, or undefined if there is none. `mine` holds the pieces this
   * connection already asks for, the same set on every call (it stands for
   * the connection), and loses a piece before the connection calls
   * {@linkcode release} or has it completed. The piece counts as requested
   * until {@linkcode release} or {@linkcode complete}. A piece another
   * connection asks for is doubled only when worth it (see the module's
   * notes); `patienceMs` is about what a piece takes one link, until the
   * connections' pace is learnt from the pieces they deliver; with none
   * (0), every such piece in the real endgame, as soon as asked.
   */
  next(
    have: Bitfield | undefined,
    mine: ReadonlySet<number>,
    patienceMs = 0,
  ): number | undefined {
    if (this.over) return undefined;
    this.#advanceFrontier();
    const index =
      (this.#doneCount < RANDOM_FIRST_PIECES
        ? this.#randomPick(have)
        : undefined) ??
        this.#rarestPick(have) ??
        this.#endgamePick(have, mine, patienceMs);
    if (index === undefined) return undefined;
    const first = this.#requested[index]++ === 0;
    if (first) this.#unasked--;
    this.#endgame.handed(index, mine, first);
    return index;
  }

  /** Connections asking for `index` right now. */
  requesters(index: number): number {
    return this.#requested[index];
  }

  /** One connection stopped asking for `index` (it failed, cancelled or got it). */
  release(index: number): void {
    this.#endgame.released(index);
    if (this.#requested[index] > 0 && --this.#requested[index] === 0) {
      if (!this.has(index)) this.#unasked++;
    }
    if (!this.has(index)) this.#emit();
  }

  /** Marks a piece verified and written. */
  complete(index: number): void {
    if (this.has(index)) return;
    this.#done[index] = 1;
    this.#doneCount++;
    this.#endgame.completed(index);
    if (this.finished) this.#sleep();
    if (this.#requested[index] === 0) this.#unasked--;
    this.#emit(index);
  }

  /** Stops handing out pieces and tells every listener (cancel, failure). */
  stop(): void {
    this.#stopped = true;
    this.#sleep();
    this.#emit();
  }

  #emit(completed?: number): void {
    for (const listener of [...this.#listeners]) listener(completed);
  }

  #advanceFrontier(): void {
    while (this.#frontier < this.#count && this.has(this.#frontier)) {
      this.#frontier++;
    }
  }

  #wanted(index: number, have: Bitfield | undefined): boolean {
    return this.#done[index] === 0 && this.#requested[index] === 0 &&
      (!have || have.has(index));
  }

  #randomPick(have: Bitfield | undefined): number | undefined {
    for (let probe = 0; probe < RANDOM_PROBES; probe++) {
      const index = Math.floor(this.#random() * this.#count);
      if (this.#wanted(index, have)) return index;
    }
    return undefined;
  }

  #rarestPick(have: Bitfield | undefined): number | undefined {
    const candidates = this.#candidates;
    candidates.length = 0;
    // With no partial peer connected every piece is equally rare; a partial
    // peer's own pieces are held by at least that peer.
    const uniform = this.#partialPeers === 0;
    const floor = have ? 1 : 0;
    let best = Infinity;
    for (let index = this.#frontier; index < this.#count; index++) {
      // Among seeds only, the pick stays within PICK_WINDOW of the lowest
      // piece nobody asks for, so no piece lags far behind the others.
      if (uniform && index >= (candidates[0] ?? index) + PICK_WINDOW) break;
      if (!this.#wanted(index, have)) continue;
      const rarity = this.#partial[index];
      if (rarity < best) {
        best = rarity;
        candidates.length = 0;
      }
      const window = uniform ? PICK_WINDOW : SWARM_PICK_WINDOW;
      if (rarity === best && candidates.length < window) {
        candidates.push(index);
        if (
          candidates.length === window && (uniform || best <= floor)
        ) break;
      }
    }
    if (candidates.length === 0) return undefined;
    return candidates[Math.floor(this.#random() * candidates.length)];
  }

  #endgamePick(
    have: Bitfield | undefined,
    mine: ReadonlySet<number>,
    patienceMs: number,
  ): number | undefined {
    const endgame = this.#endgame;
    // Knowing no piece time, the real endgame (every missing piece asked
    // for) doubles at once.
    const atOnce = this.#unasked === 0 && patienceMs <= 0;
    let pick: number | undefined;
    let soonest = Infinity;
    for (let index = this.#frontier; index < this.#count; index++) {
      if (
        this.#done[index] === 1 || this.#requested[index] >= MAX_REQUESTERS ||
        mine.has(index) || (have && !have.has(index)) ||
        (pick !== undefined && endgame.order(index) <= endgame.order(pick))
      ) continue;
      const wait = atOnce ? 0 : endgame.doubleIn(index, mine, patienceMs);
      if (wait <= 0) pick = index;
      else soonest = Math.min(soonest, wait);
    }
    if (pick === undefined && soonest < Infinity) this.#wakeIn(soonest);
    return pick;
  }

  /**
   * Tells the listeners again in `ms` (a piece may be worth doubling by
   * then, with nothing else happening), while anyone listens.
   */
  #wakeIn(ms: number): void {
    if (this.#listeners.size === 0) return;
    const at = this.#now() + Math.max(ms, MIN_WAKE_MS);
    if (this.#wake && this.#wake.at <= at) return;
    clearTimeout(this.#wake?.timer);
    // Whole ms, rounded up: given a fraction, a timer can fire up to ~0.7 ms
    // early (measured), before the piece is worth doubling.
    const timer = setTimeout(() => {
      this.#wake = undefined;
      if (!this.over) this.#emit();
    }, Math.ceil(at - this.#now()));
    this.#wake = { at, timer };
  }

  #sleep(): void {
    clearTimeout(this.#wake?.timer);
    this.#wake = undefined;
  }
}
