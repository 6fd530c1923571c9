/**
 * The whole-file SHA-256 of a download, computed on this thread while pieces
 * arrive out of order: pieces are fed to one streaming hash in index order,
 * held in memory within a small window ahead of the hash, and read back from
 * disk beyond it. Downloads of many pieces do this on the hashing thread
 * instead (see `piece_store.ts`).
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";

/** Pieces held in memory ahead of the hash cursor before reading back. */
export const REORDER_WINDOW_PIECES = 16;

/** Options for {@linkcode OrderedHasher}. */
export interface OrderedHasherOptions {
  /** Reads a verified piece back from disk when it is no longer held. */
  readBack: (index: number) => Uint8Array;
  /** Pieces held ahead of the cursor. @default {REORDER_WINDOW_PIECES} */
  windowPieces?: number;
  /** Receives every piece buffer once it is hashed or dropped. */
  release?: (data: Uint8Array) => void;
}

/** Feeds verified pieces to a SHA-256 in file order. */
export class OrderedHasher {
  #hash: Hash = createHash("sha256");
  #count: number;
  #cursor = 0;
  #ready: Uint8Array;
  #held = new Map<number, Uint8Array>();
  #readBack: (index: number) => Uint8Array;
  #window: number;
  #release: (data: Uint8Array) => void;
  #readyCount = 0;
  #closed = false;

  /** A hasher for a file of `count` pieces. */
  constructor(count: number, options: OrderedHasherOptions) {
    this.#count = count;
    this.#ready = new Uint8Array(count);
    this.#readBack = options.readBack;
    this.#window = options.windowPieces ?? REORDER_WINDOW_PIECES;
    this.#release = options.release ?? (() => {});
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
  digestHex(): string {
    if (this.#readyCount !== this.#count) {
      throw new Error(
        `Only ${this.#readyCount} of ${this.#count} pieces were added`,
      );
    }
    this.#drain();
    return this.#hash.digest("hex");
  }

  /** Feeds the pieces from the cursor on that are ready. */
  #drain(): void {
    while (
      !this.#closed && this.#cursor < this.#count && this.#ready[this.#cursor]
    ) {
      const piece = this.#held.get(this.#cursor) ??
        this.#readBack(this.#cursor);
      this.#held.delete(this.#cursor);
      this.#hash.update(piece);
      this.#release(piece);
      this.#cursor++;
    }
  }
}
