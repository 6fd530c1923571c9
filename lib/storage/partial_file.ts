/**
 * A download in progress as a {@linkcode PieceSource}: the pieces verified
 * so far, read back from the `.part` file, so other downloaders can fetch
 * them from this one (swarming).
 *
 * @module
 */

import { Bitfield } from "../protocol/bitfield.ts";
import type { FileMeta } from "../protocol/messages.ts";
import { piecesOf } from "../protocol/messages.ts";
import type { PieceSource } from "./piece_source.ts";

/** Reads verified piece `index`, into `into` when given. */
export type PieceReader = (index: number, into?: Uint8Array) => Uint8Array;

/** The verified pieces of a download, offered to other peers. */
export class PartialFile implements PieceSource {
  /** The file's metadata, as the tracker gave it. */
  readonly meta: FileMeta;
  #have: Bitfield;
  #read: PieceReader;
  #listeners = new Set<(index: number) => void>();
  #closed = false;

  /** A source for `meta` holding no piece yet; `read` reads a verified piece. */
  constructor(meta: FileMeta, read: PieceReader) {
    this.meta = meta;
    this.#have = new Bitfield(piecesOf(meta));
    this.#read = read;
  }

  /** Pieces in the whole file. */
  get pieces(): number {
    return this.#have.pieces;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Records piece `index` as verified and tells every listener. */
  add(index: number): void {
    if (this.#closed || !this.#have.set(index)) return;
    for (const listener of [...this.#listeners]) listener(index);
  }

  /** The pieces held now (a live view: do not change it). */
  have(): Bitfield {
    return this.#have;
  }

  onHave(listener: (index: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  readPiece(index: number, into?: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) {
      return Promise.reject(
        new Error(`"${this.meta.name}" is no longer offered`),
      );
    }
    if (!this.#have.has(index)) {
      return Promise.reject(new RangeError(`Piece ${index} is not here yet`));
    }
    try {
      return Promise.resolve(this.#read(index, into));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Stops offering pieces; later reads fail. */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
  }
}
