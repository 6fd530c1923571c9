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
 *   once): in the endgame (every missing piece asked for) any such piece,
 *   before it one asked for {@linkcode DOUBLE_UP_AFTER_MS} ago or more. This
 *   keeps pieces from waiting on one slow peer. When a copy arrives, the
 *   others are cancelled.
 *
 * @module
 */

import type { Bitfield } from "../protocol/bitfield.ts";

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
/**
 * Before the real endgame, a connection with nothing else to do doubles up
 * only on a piece asked for at least this long ago (one a slow peer is
 * probably sitting on): doubling up at once cost ~30% duplicate bytes.
 */
export const DOUBLE_UP_AFTER_MS = 300;
/** Connections asking for one piece at once, in the endgame. */
export const MAX_REQUESTERS = 2;
/** Random probes for a random-first piece before falling back to a scan. */
const RANDOM_PROBES = 32;

/** Options for {@linkcode PieceScheduler}. */
export interface PieceSchedulerOptions {
  /** Pieces already verified (a resumed download). */
  have?: Iterable<number>;
  /** Random numbers in [0, 1). @default {Math.random} */
  random?: () => number;
}

/**
 * Called when something changed that may give a connection work: a piece
 * was given back or became available, a piece completed (`completed` is its
 * index: connections still asking for it should cancel), or the download is
 * over.
 */
export type ScheduleListener = (completed?: number) => void;

/** Hands out pieces to peer connections and tracks completion. */
export class PieceScheduler {
  #count: number;
  #done: Uint8Array;
  #doneCount = 0;
  /** Connections asking for each piece right now. */
  #requested: Uint8Array;
  /** When each piece was last asked for with nobody else asking (ms since start). */
  #askedAt: Float32Array;
  /** Missing pieces nobody is asking for. */
  #unasked: number;
  #born = performance.now();
  /** Connected peers holding part of the file that hold each piece. */
  #partial: Uint16Array;
  #partialPeers = 0;
  #frontier = 0;
  #stopped = false;
  #random: () => number;
  #listeners = new Set<ScheduleListener>();
  #candidates: number[] = [];

  /** A scheduler for `count` pieces, all missing except `options.have`. */
  constructor(count: number, options: PieceSchedulerOptions = {}) {
    this.#count = count;
    this.#done = new Uint8Array(count);
    this.#requested = new Uint8Array(count);
    this.#askedAt = new Float32Array(count);
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
    return () => this.#listeners.delete(listener);
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
   * connection already asks for. The piece counts as requested until
   * {@linkcode release} or {@linkcode complete}. In the endgame a piece
   * another connection asks for is doubled only once it was asked for at
   * least `patienceMs` ago (about what a piece takes one link).
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
    if (this.#requested[index]++ === 0) {
      this.#unasked--;
      this.#askedAt[index] = performance.now() - this.#born;
    }
    return index;
  }

  /** Connections asking for `index` right now. */
  requesters(index: number): number {
    return this.#requested[index];
  }

  /** One connection stopped asking for `index` (it failed, cancelled or got it). */
  release(index: number): void {
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
    if (this.#requested[index] === 0) this.#unasked--;
    this.#emit(index);
  }

  /** Stops handing out pieces and tells every listener (cancel, failure). */
  stop(): void {
    this.#stopped = true;
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
    let pick: number | undefined;
    // Before the real endgame (every missing piece asked for), only pieces
    // asked for a while ago, which a slow peer is probably sitting on. In
    // it, pieces asked for longer ago than a piece takes a link: doubling
    // one still on its way on a busy line only halves both copies' speed.
    const now = performance.now() - this.#born;
    const askedBefore = this.#unasked === 0
      ? (patienceMs > 0 ? now - patienceMs : Infinity)
      : now - Math.max(DOUBLE_UP_AFTER_MS, patienceMs);
    for (let index = this.#frontier; index < this.#count; index++) {
      const asked = this.#requested[index];
      if (
        this.#done[index] === 1 || asked >= MAX_REQUESTERS || mine.has(index) ||
        (have && !have.has(index)) || this.#askedAt[index] > askedBefore
      ) continue;
      if (pick === undefined || asked < this.#requested[pick]) pick = index;
      if (asked === 0) break;
    }
    return pick;
  }
}
