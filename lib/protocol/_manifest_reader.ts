/**
 * Reading the fields of manifest bytes (`manifest.ts`) in turn: integers,
 * raw bytes, UTF-8 text and hex, each throwing on bytes cut short. It
 * knows nothing of entries or their order.
 *
 * @module
 */

const TWO_32 = 2 ** 32;
const HEX = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);
// `ignoreBOM` keeps a leading U+FEFF a character: stripped, two byte strings
// would decode to one manifest.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Reads a manifest's big-endian fields in turn, throwing `RangeError` past the end. */
export class ManifestReader {
  #bytes: Uint8Array;
  #view: DataView;
  #at = 0;

  /** A reader at the start of `bytes`. */
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#bytes.length - this.#at;
  }

  /** The next `n` bytes (a view, not a copy). */
  bytes(n: number): Uint8Array {
    this.#need(n);
    const out = this.#bytes.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }

  /** The next `n` bytes as UTF-8 text. */
  text(n: number): string {
    return this.decode(this.bytes(n));
  }

  /** `bytes` as UTF-8 text; `TypeError` if they are not valid UTF-8. */
  decode(bytes: Uint8Array): string {
    return decodeText(bytes);
  }

  /** The next `n` bytes in lowercase hex. */
  hex(n: number): string {
    return toHex(this.bytes(n));
  }

  /** The next byte. */
  u8(): number {
    this.#need(1);
    return this.#bytes[this.#at++];
  }

  /** The next 4 bytes as an unsigned integer. */
  u32(): number {
    this.#need(4);
    const value = this.#view.getUint32(this.#at);
    this.#at += 4;
    return value;
  }

  /** The next 8 bytes as an unsigned integer; `RangeError` from 2^53. */
  u64(): number {
    const high = this.u32();
    const low = this.u32();
    if (high >= 2 ** 21) {
      throw new RangeError("Manifest has a file size over 2^53 - 1 bytes");
    }
    return high * TWO_32 + low;
  }

  #need(n: number): void {
    if (n > this.remaining) {
      throw new RangeError(
        `Manifest is cut short: ${n} bytes needed at byte ${this.#at}, ${this.remaining} left`,
      );
    }
  }
}

function decodeText(bytes: Uint8Array): string {
  // Most names are ASCII, and a TextDecoder call costs more than the loop.
  let ascii = true;
  for (let i = 0; i < bytes.length && ascii; i++) ascii = bytes[i] < 0x80;
  if (ascii) {
    return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  try {
    return decoder.decode(bytes);
  } catch {
    throw new TypeError("Manifest has a name that is not valid UTF-8");
  }
}

/**
 * Lowercase hex as one flat string: one built with `+=` is a rope, which
 * the ID check's pattern would flatten again, slowly.
 */
function toHex(bytes: Uint8Array): string {
  const pairs = new Array<string>(bytes.length);
  for (let i = 0; i < bytes.length; i++) pairs[i] = HEX[bytes[i]];
  return pairs.join("");
}
