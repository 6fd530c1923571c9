/**
 * When a piece one connection is fetching is worth asking of a second (the
 * scheduler's endgame): only when that connection has now gone much longer
 * without delivering a piece than a piece takes the download's connections
 * on average (and the one asking), and the asker would have the piece
 * sooner. A piece merely waiting its turn behind others is never doubled:
 * both copies would cross the line (a peer cannot take back what it has
 * written to its socket), and on a shared line or under a download limit
 * each would go at half speed.
 *
 * Each connection's pace (about how long a piece takes it) is learnt from
 * the pieces it delivers while it has pieces asked for; the average from
 * all of them, the time each has spent waiting for its current piece
 * included. A connection is known by its set of outstanding pieces (`mine`
 * in {@linkcode PieceScheduler.next}), the same set every call; it takes a
 * piece out of that set before the piece is completed or released, which
 * tells who delivered or gave up a piece.
 *
 * @module
 */

/**
 * A piece is doubled only once asked for at least this long ago, however
 * short a piece's time: on a fast line a busy machine's pause is many
 * pieces' time, and makes a peer look slow that is not. (300 ms made a
 * 6 MiB get from two 8 MiB/s sharers and a 3 MiB/s one on loopback 18%
 * slower than doubling at once; 150 ms did not.)
 */
export const DOUBLE_UP_AFTER_MS = 150;
/**
 * A piece is asked of a second connection only once its connection has
 * gone this many times a piece's time (on average, or the asker's if
 * longer) without delivering one. Measured: 3 sharers behind one
 * 20 Mbit/s, 40 ms line sent 5-9% of a 3 MiB file twice when a piece asked
 * for a piece's time ago was doubled; none with this.
 */
export const SLOWER_FACTOR = 1.5;
/** A connection's pace is sampled over at least this long (many small pieces). */
export const PACE_SAMPLE_MS = 100;
/** Weight of a new sample in a connection's pace. */
export const PACE_SMOOTHING = 0.5;

/** A connection, as the scheduler knows it: the pieces it asks for. */
export type Asker = ReadonlySet<number>;

/** What is known of one connection's speed. */
interface Pace {
  /** Ms a piece, smoothed, once learnt. */
  ms?: number;
  /** When it last delivered a piece, or began waiting for one. */
  lastAt: number;
  /** When the current sample began, and pieces delivered since. */
  sampleAt: number;
  count: number;
}

/** The endgame's bookkeeping for a download's pieces and connections. */
export class Endgame {
  #clock: () => number;
  #born: number;
  /** When each piece was first asked for (ms since start). */
  #askedAt: Float32Array;
  /** The order pieces were first asked for in (a count of asks). */
  #order: Float64Array;
  #asks = 0;
  /** The connections asking for each piece: the first, and a second. */
  #first: (Asker | undefined)[];
  #second: (Asker | undefined)[];
  #paces = new WeakMap<Asker, Pace>();
  /** Connections waiting for a piece, and the paces of those that are. */
  #busy = new Map<Asker, Pace>();
  /** Ms connections waited for the pieces they delivered, and how many. */
  #waitedMs = 0;
  #delivered = 0;

  /** Bookkeeping for `count` pieces, timed by `clock` (ms). */
  constructor(count: number, clock: () => number) {
    this.#clock = clock;
    this.#born = clock();
    this.#askedAt = new Float32Array(count);
    this.#order = new Float64Array(count);
    this.#first = new Array(count);
    this.#second = new Array(count);
  }

  /**
   * Piece `index` is handed to `asker` (not yet in it), first of anyone if
   * `first`.
   */
  handed(index: number, asker: Asker, first: boolean): void {
    const now = this.#now();
    if (first) {
      this.#askedAt[index] = now;
      this.#order[index] = ++this.#asks;
      this.#first[index] = asker;
      this.#second[index] = undefined;
    } else {
      this.#second[index] = asker;
    }
    let pace = this.#paces.get(asker);
    if (!pace) {
      pace = { lastAt: now, sampleAt: now, count: 0 };
      this.#paces.set(asker, pace);
    } else if (asker.size === 0) {
      // It was idle: its wait for a piece begins now.
      pace.lastAt = pace.sampleAt = now;
      pace.count = 0;
    }
    this.#busy.set(asker, pace);
  }

  /** A connection stopped asking for piece `index` without delivering it. */
  released(index: number): void {
    for (const asker of [this.#first[index], this.#second[index]]) {
      if (asker && !asker.has(index)) this.#idleIfDone(asker);
    }
    if (!this.#first[index]?.has(index)) this.#first[index] = undefined;
    if (!this.#second[index]?.has(index)) this.#second[index] = undefined;
  }

  /** Piece `index` is verified: the pace of whoever delivered it. */
  completed(index: number): void {
    for (const asker of [this.#first[index], this.#second[index]]) {
      if (asker && !asker.has(index)) this.#deliveredBy(asker);
    }
    this.#first[index] = this.#second[index] = undefined;
  }

  /** A number that grows with the time piece `index` was first asked for. */
  order(index: number): number {
    return this.#order[index];
  }

  /**
   * In how many ms `asker` should ask for piece `index` too, which one
   * other connection is fetching: 0 if now, else when to look again.
   * `pieceMs` (about what a piece takes one link) stands in for the
   * average pace until a piece is delivered.
   */
  doubleIn(index: number, asker: Asker, pieceMs: number): number {
    const now = this.#now();
    const floor = DOUBLE_UP_AFTER_MS - (now - this.#askedAt[index]);
    if (floor > 0) return floor;
    // What the asker would take: its own pace, or the average if slower
    // (it may share the line, or the download limit, with the others).
    const pace = Math.max(
      this.#paces.get(asker)?.ms ?? 0,
      this.#averagePace(now) ?? pieceMs,
    );
    const holder = this.#first[index] ?? this.#second[index];
    const held = holder && this.#paces.get(holder);
    // How long its holder has gone without delivering (one that gave the
    // piece up: since it was asked for). Only that says it is slow: one
    // that was slower only while the asker had the line or the download
    // limit to itself catches up once the asker is idle.
    const silence = now - (held ? held.lastAt : this.#askedAt[index]);
    if (silence < SLOWER_FACTOR * pace) {
      return Math.max(SLOWER_FACTOR * pace - silence, 1);
    }
    // It would come from its holder after the pieces ahead of it there,
    // the first of them partly sent; from the asker after its own.
    const holderPace = Math.max(held?.ms ?? 0, silence);
    const place = holder ? this.#placeIn(holder, index) : 1;
    const left = place * holderPace - Math.min(silence, held?.ms ?? 0);
    return left > (asker.size + 1) * pace ? 0 : Math.max(pace / 2, 1);
  }

  /**
   * Ms a piece took the download's connections on average: the time they
   * waited for the pieces they delivered, and for those they wait for
   * now, over the pieces delivered.
   */
  #averagePace(now: number): number | undefined {
    if (this.#delivered === 0) return undefined;
    let waited = this.#waitedMs;
    for (const [asker, pace] of this.#busy) {
      // One that lost its last piece to another copy waits for nothing.
      if (asker.size === 0) this.#busy.delete(asker);
      else waited += now - pace.lastAt;
    }
    return waited / this.#delivered;
  }

  /** 1 + the pieces `holder` asked for before piece `index` and still awaits. */
  #placeIn(holder: Asker, index: number): number {
    const order = this.#order[index];
    let place = 1;
    for (const other of holder) {
      if (this.#order[other] < order) place++;
    }
    return place;
  }

  #deliveredBy(asker: Asker): void {
    const pace = this.#paces.get(asker);
    if (!pace) return;
    const now = this.#now();
    this.#waitedMs += now - pace.lastAt;
    this.#delivered++;
    pace.lastAt = now;
    pace.count++;
    this.#idleIfDone(asker);
    const elapsed = now - pace.sampleAt;
    if (pace.ms !== undefined && elapsed < PACE_SAMPLE_MS) return;
    const sample = elapsed / pace.count;
    pace.ms = pace.ms === undefined
      ? sample
      : pace.ms + (sample - pace.ms) * PACE_SMOOTHING;
    pace.sampleAt = now;
    pace.count = 0;
  }

  /** `asker` waits for nothing once it asks for nothing. */
  #idleIfDone(asker: Asker): void {
    if (asker.size === 0) this.#busy.delete(asker);
  }

  #now(): number {
    return this.#clock() - this.#born;
  }
}
