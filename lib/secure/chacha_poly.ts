/**
 * ChaCha20-Poly1305 (RFC 8439) in plain TypeScript, for small records: the
 * same bytes as `node:crypto`'s, with no allocation per record. Each
 * `node:crypto` call builds a cipher object (6-10 µs and ~2.5 KiB of
 * garbage a record, more on a loaded machine), which a tracker flooded with
 * tiny records spends much of its time on; here a record of tens of bytes
 * costs under 1 µs and makes no garbage. Past about 1 KiB `node:crypto` is
 * faster, and without V8's optimizing compilers (a peer's flags) this is
 * slower at any size: `noise.ts` hands over only records up to
 * {@linkcode SMALL_RECORD_BYTES}, and only once
 * {@linkcode useSmallRecordCipher} is called (the tracker does; a peer does
 * not, and does not load this module).
 *
 * Nonces are Noise's: 4 zero bytes, then a 64-bit little-endian counter.
 * The cipher itself is in `_chacha_poly_core.ts`.
 *
 * @module
 */

import { openWords, sealWords } from "./_chacha_poly_core.ts";
import { setSmallRecordCipher, type SmallRecordCipher } from "./noise.ts";

/**
 * Largest plaintext sealed here rather than by `node:crypto`: where the
 * two cost about the same with the optimizing compiler on.
 */
export const SMALL_RECORD_BYTES = 1024;

/**
 * Seals `plaintext` with `key`, nonce number `nonce` and `ad` into `out` at
 * `at`: the ciphertext, then the 16-byte tag. Throws RangeError, writing
 * nothing, if that does not fit in `out` from `at`.
 */
export function sealChaChaPoly(
  key: Uint8Array,
  nonce: number,
  ad: Uint8Array,
  plaintext: Uint8Array,
  out: Uint8Array,
  at: number,
): void {
  const low = nonce % 0x1_0000_0000, high = (nonce - low) / 0x1_0000_0000;
  sealWords(key, 0, low, high, ad, plaintext, out, at);
}

/**
 * Opens `sealed` (ciphertext, then tag) into the start of `out`, which may
 * be `sealed` itself; false, with `out` untouched, if it was altered or
 * sealed under another key, nonce or `ad`.
 */
export function openChaChaPoly(
  key: Uint8Array,
  nonce: number,
  ad: Uint8Array,
  sealed: Uint8Array,
  out: Uint8Array,
): boolean {
  const low = nonce % 0x1_0000_0000, high = (nonce - low) / 0x1_0000_0000;
  return openWords(key, 0, low, high, ad, sealed, out);
}

/** This module as `noise.ts` takes it. */
export const SMALL_RECORD_CIPHER: SmallRecordCipher = {
  maxBytes: SMALL_RECORD_BYTES,
  seal: sealChaChaPoly,
  open: openChaChaPoly,
};

/**
 * Seals and opens records up to {@linkcode SMALL_RECORD_BYTES} here from
 * now on, in this process (a tracker's: many tiny records).
 */
export function useSmallRecordCipher(): void {
  setSmallRecordCipher(SMALL_RECORD_CIPHER);
}
