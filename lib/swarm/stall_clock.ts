/**
 * When a download link's peer counts as stopped. A stall is measured in
 * bytes, not pieces, and in the bytes the socket brings, not in opened
 * records: a sharer seals a whole piece and its frame as one record, which
 * cannot be opened until its last byte is here, so on a slow line a frame
 * only begins once its piece is complete.
 *
 * The link counts as moving while PROGRESS_BYTES arrive within the stall
 * time; one that has been moving gets MOVING_STALL_FACTOR stall times.
 * Without progress, the clock counts the time spent waiting for a piece
 * since the last one arrived: it runs while requests are outstanding and
 * the link is not choked, keeps what it counted across a choke (a peer
 * toggling choke and unchoke without sending still stalls), and starts over
 * when a piece arrives. The link itself decides when the clock runs at all
 * (not while choked, holding back, or asking for nothing).
 *
 * @module
 */

/** How often a link checks whether its peer stalled. */
export const STALL_CHECK_MS = 250;
/**
 * Bytes that must arrive (encrypted, as sent) for a link to count as moving
 * within the stall time: more than a few of the small messages a peer may
 * send (choke, unchoke, have: about 45 bytes each), so a peer toggling
 * choke still stalls, and little enough that a connection slowed down by a
 * congested line (10 sharers on 1 Mbit/s) is kept.
 */
export const PROGRESS_BYTES = 4 * 1024;
/**
 * A link that has been sending gets this many stall times without progress
 * before it counts as stopped: on a congested line a connection can wait
 * seconds for TCP to resend what the line dropped (its timer doubles each
 * time), and dropping it wastes what it had sent of its piece. A peer that
 * never sent is stopped at the stall time.
 */
export const MOVING_STALL_FACTOR = 3;

/** One link's stall clock; times are `performance.now()`. */
export class StallClock {
  #stallMs: number;
  /** When the current wait for a piece began (asking, not choked). */
  #waitStart = 0;
  /** Ms waited in earlier spans that a choke ended, since the last piece. */
  #waitedBefore = 0;
  /** The connection's bytes when the link last counted as moving, and when. */
  #progressMark = 0;
  #progressAt = 0;

  /** A clock that stops a link after `stallMs` without progress. */
  constructor(stallMs: number) {
    this.#stallMs = stallMs;
  }

  /**
   * How long without progress means stopped: the stall time for a peer
   * that has not sent yet, MOVING_STALL_FACTOR times it for one that has.
   */
  get stallMs(): number {
    return this.#progressAt > 0
      ? this.#stallMs * MOVING_STALL_FACTOR
      : this.#stallMs;
  }

  /** A wait for a piece begins now (asked with nothing outstanding, or unchoked). */
  waitFromNow(): void {
    this.#waitStart = performance.now();
  }

  /** Choked while waiting: the time waited so far still counts. */
  pause(): void {
    this.#waitedBefore += performance.now() - this.#waitStart;
  }

  /** A piece arrived: the wait starts over. */
  pieceArrived(): void {
    this.#waitedBefore = 0;
    this.#waitStart = performance.now();
  }

  /** The connection has received `total` bytes so far. */
  received(total: number): void {
    if (total - this.#progressMark >= PROGRESS_BYTES) {
      this.#progressMark = total;
      this.#progressAt = performance.now();
    }
  }

  /** Ms waited without progress if that is past the stall time, else undefined. */
  stalled(): number | undefined {
    const stallMs = this.stallMs;
    const now = performance.now();
    if (now - this.#progressAt < stallMs) return undefined;
    const waited = this.#waitedBefore + now - this.#waitStart;
    return waited < stallMs ? undefined : waited;
  }
}
