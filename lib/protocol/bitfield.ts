/**
 * Which pieces of a file a peer holds: one bit per piece, most significant
 * bit of byte 0 for piece 0 (as BitTorrent does). This is what `welcome`
 * carries in its binary part when the peer holds only part of the file.
 *
 * @module
 */

/** Bytes a bitfield of `pieces` bits takes on the wire. */
export function bitfieldBytes(pieces: number): number {
  return Math.ceil(pieces / 8);
}

/** A set of piece indexes in `0..pieces-1`. */
export class Bitfield {
  /** Number of pieces the field covers. */
  readonly pieces: number;
  #bits: Uint8Array;
  #count = 0;

  /** An empty field for `pieces` pieces. */
  constructor(pieces: number) {
    this.pieces = pieces;
    this.#bits = new Uint8Array(bitfieldBytes(pieces));
  }

  /** A field with every piece set. */
  static full(pieces: number): Bitfield {
    const field = new Bitfield(pieces);
    for (let index = 0; index < pieces; index++) field.set(index);
    return field;
  }

  /**
   * Reads a field from the wire. Throws `RangeError` if `bytes` has the
   * wrong length or sets a bit past the last piece.
   */
  static from(bytes: Uint8Array, pieces: number): Bitfield {
    if (bytes.length !== bitfieldBytes(pieces)) {
      throw new RangeError(
        `Bitfield is ${bytes.length} bytes, expected ${bitfieldBytes(pieces)}`,
      );
    }
    const spare = bytes.length * 8 - pieces;
    if (spare > 0 && (bytes[bytes.length - 1] & ((1 << spare) - 1)) !== 0) {
      throw new RangeError("Bitfield sets bits past the last piece");
    }
    const field = new Bitfield(pieces);
    field.#bits.set(bytes);
    for (let index = 0; index < pieces; index++) {
      if (field.has(index)) field.#count++;
    }
    return field;
  }

  /** Pieces set. */
  get count(): number {
    return this.#count;
  }

  /** True if every piece is set. */
  get complete(): boolean {
    return this.#count === this.pieces;
  }

  /** True if piece `index` is set. */
  has(index: number): boolean {
    return (this.#bits[index >> 3] & (0x80 >> (index & 7))) !== 0;
  }

  /** Sets piece `index`; returns false if it was already set. */
  set(index: number): boolean {
    if (index < 0 || index >= this.pieces || this.has(index)) return false;
    this.#bits[index >> 3] |= 0x80 >> (index & 7);
    this.#count++;
    return true;
  }

  /** A copy of the field as sent on the wire. */
  toBytes(): Uint8Array {
    return this.#bits.slice();
  }
}
