/**
 * The whole-file SHA-256 of a download, computed while pieces arrive out of
 * order: pieces are fed to one streaming hash in index order, held in memory
 * within a small window ahead of the hash, and read back from disk beyond it.
 * With a {@linkcode HashThread} the hashing itself runs on another core while
 * this thread verifies and writes the next pieces.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import type { HashThread } from "./hash_thread.ts";

/** Pieces held in memory ahead of the hash cursor before reading back. */
export const REORDER_WINDOW_PIECES = 16;
/** Pieces handed to the hashing thread and not hashed yet, at most. */
export const MAX_HASH_BACKLOG = 16;
/** Pieces handed to the hashing thread in one message (a message costs ~0.1 ms). */
export const HASH_BATCH_PIECES = 4;

/** Options for {@linkcode OrderedHasher}. */
export interface OrderedHasherOptions {
  /** Reads a verified piece back from disk when it is no longer held. */
  readBack: (index: number) => Uint8Array;
  /** Pieces held ahead of the cursor. @default {REORDER_WINDOW_PIECES} */
  windowPieces?: number;
  /** Receives every piece buffer once it is hashed or dropped. */
  release?: (data: Uint8Array) => void;
  /** Hash on this thread instead of the caller's. @default {the caller's} */
  thread?: HashThread;
}

/** Feeds verified pieces to a SHA-256 in file order. */
export class OrderedHasher {
  #hash: Hash | undefined;
  #thread: HashThread | undefined;
  #count: number;
  #cursor = 0;
  #ready: Uint8Array;
  #held = new Map<number, Uint8Array>();
  #readBack: (index: number) => Uint8Array;
  #window: number;
  #release: (data: Uint8Array) => void;
  #backlog = 0;
  #failure: unknown;
  #drained: (() => void)[] = [];
  #batch: Uint8Array[] = [];
  #readyCount = 0;
  #closed = false;

  /** A hasher for a file of `count` pieces. */
  constructor(count: number, options: OrderedHasherOptions) {
    this.#count = count;
    this.#ready = new Uint8Array(count);
    this.#readBack = options.readBack;
    this.#window = options.windowPieces ?? REORDER_WINDOW_PIECES;
    this.#release = options.release ?? (() => {});
    this.#thread = options.thread;
    if (!this.#thread) this.#hash = createHash("sha256");
  }

  /** True while the hashing thread has more pieces queued than it should. */
  get behind(): boolean {
    return this.#backlog >= MAX_HASH_BACKLOG;
  }

  /** Resolves once the hashing thread has caught up below its limit. */
  caughtUp(): Promise<void> {
    if (!this.behind) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /**
   * Adds a verified piece. The hasher owns `data` from now on: it is held
   * while within the window ahead of the hash, else released at once and
   * read back later.
   */
  add(index: number, data?: Uint8Array): void {
    if (this.#ready[index] || index < this.#cursor) {
      if (data) this.#release(data);
      return;
    }
    this.#ready[index] = 1;
    this.#readyCount++;
    if (data && index < this.#cursor + this.#window) {
      this.#held.set(index, data);
    } else if (data) {
      this.#release(data);
    }
    this.#drain();
  }

  /**
   * Stops feeding pieces (the download is over or abandoned): nothing is
   * read back from the file any more, which may be closed next.
   */
  close(): void {
    this.#closed = true;
  }

  /** The file's SHA-256 as hex; every piece must have been added. */
  async digestHex(): Promise<string> {
    if (this.#readyCount !== this.#count) {
      throw new Error(
        `Only ${this.#readyCount} of ${this.#count} pieces were added`,
      );
    }
    while (this.#cursor < this.#count) {
      await this.caughtUp();
      this.#drain();
    }
    if (this.#hash) return this.#hash.digest("hex");
    this.#flush();
    const hex = await this.#thread!.digestHex();
    if (this.#failure) throw this.#failure;
    return hex;
  }

  /**
   * Feeds the pieces from the cursor on that are ready, pausing while the
   * hashing thread is behind (a long run of pieces read back from disk must
   * not all be in flight to the thread at once); it resumes as the thread
   * catches up.
   */
  #drain(): void {
    while (
      !this.#closed &&
      this.#cursor < this.#count && this.#ready[this.#cursor] && !this.behind
    ) {
      const piece = this.#held.get(this.#cursor) ??
        this.#readBack(this.#cursor);
      this.#held.delete(this.#cursor);
      this.#feed(piece);
      this.#cursor++;
    }
  }

  #feed(piece: Uint8Array): void {
    if (this.#hash) {
      this.#hash.update(piece);
      this.#release(piece);
      return;
    }
    this.#batch.push(piece);
    if (this.#batch.length >= HASH_BATCH_PIECES) this.#flush();
  }

  /** Hands the pieces gathered so far to the hashing thread. */
  #flush(): void {
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    this.#backlog += batch.length;
    this.#thread!.update(batch).then(
      (buffers) => buffers.forEach((buffer) => this.#release(buffer)),
      (error) => this.#failure ??= error,
    ).finally(() => {
      this.#backlog -= batch.length;
      try {
        this.#drain();
      } catch (error) {
        this.#failure ??= error;
      }
      if (this.behind) return;
      const drained = this.#drained;
      this.#drained = [];
      for (const wake of drained) wake();
    });
  }
}
