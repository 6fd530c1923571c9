/**
 * The inside of `chacha_poly.ts`: ChaCha20-Poly1305 (RFC 8439) with the
 * nonce as its three 32-bit words, ChaCha20's block function and Poly1305
 * on its own. `chacha_poly.ts` seals and opens with Noise's nonces (first
 * word 0); the tests check the rest against RFC 8439's vectors.
 *
 * Poly1305 uses poly1305-donna's 16-bit limbs, as `@noble/ciphers` does.
 *
 * @module
 */

/** Bytes of the tag after the ciphertext. */
export const TAG = 16;
// Scratch state: the calls are synchronous, so one set serves them all.
const KEY = new Int32Array(8);
const BLOCK = new Uint8Array(64);
const PAD_BLOCK = new Uint8Array(16);
const TAG_OUT = new Uint8Array(16);
const R = new Uint16Array(10);
const H = new Uint16Array(10);
const G = new Uint16Array(10);
const S = new Uint16Array(8);

/**
 * Seals `plaintext` with `key`, the nonce's words `n0` (bytes 0-3,
 * little-endian), `n1` and `n2`, and `ad` into `out` at `at`: the
 * ciphertext, then the 16-byte tag. Throws RangeError, writing nothing, if
 * that does not fit in `out`.
 */
export function sealWords(
  key: Uint8Array,
  n0: number,
  n1: number,
  n2: number,
  ad: Uint8Array,
  plaintext: Uint8Array,
  out: Uint8Array,
  at: number,
): void {
  const end = at + plaintext.length + TAG;
  if (!Number.isInteger(at) || at < 0 || end > out.length) {
    throw new RangeError(
      `Cannot seal ${plaintext.length} bytes at offset ${at} of a ` +
        `${out.length}-byte buffer: it needs ${end - at} bytes from there`,
    );
  }
  start(key, n0, n1, n2);
  xorStream(plaintext, plaintext.length, out, at, n0, n1, n2);
  authenticate(ad, out, at, plaintext.length);
  out.set(TAG_OUT, at + plaintext.length);
}

/**
 * Opens `sealed` (ciphertext, then tag) under the nonce's words `n0`, `n1`
 * and `n2` into the start of `out`, which may be `sealed` itself; false,
 * with `out` untouched, if it was altered or sealed under another key,
 * nonce or `ad`.
 */
export function openWords(
  key: Uint8Array,
  n0: number,
  n1: number,
  n2: number,
  ad: Uint8Array,
  sealed: Uint8Array,
  out: Uint8Array,
): boolean {
  const length = sealed.length - TAG;
  if (length < 0 || out.length < length) return false;
  start(key, n0, n1, n2);
  authenticate(ad, sealed, 0, length);
  let diff = 0;
  for (let i = 0; i < TAG; i++) diff |= TAG_OUT[i] ^ sealed[length + i];
  if (diff !== 0) return false;
  xorStream(sealed, length, out, 0, n0, n1, n2);
  return true;
}

/**
 * ChaCha20's block `counter` under `key` and the nonce's words `n0`, `n1`,
 * `n2` (RFC 8439 §2.3): 64 new bytes. For tests; sealing does not use it.
 */
export function chacha20Block(
  key: Uint8Array,
  counter: number,
  n0: number,
  n1: number,
  n2: number,
): Uint8Array {
  loadKey(key);
  chachaBlock(counter, n0, n1, n2);
  return BLOCK.slice();
}

/**
 * Poly1305's 16-byte tag of `message` under the one-time `key` (32 bytes:
 * r, then s; RFC 8439 §2.5). For tests; sealing does not use it.
 */
export function poly1305(key: Uint8Array, message: Uint8Array): Uint8Array {
  polyStart(key);
  const whole = message.length - (message.length % 16);
  polyBlocks(message, 0, whole, FULL);
  if (whole < message.length) {
    // A short last block: its bytes, then 1, and no 2^128.
    PAD_BLOCK.fill(0);
    PAD_BLOCK.set(message.subarray(whole));
    PAD_BLOCK[message.length - whole] = 1;
    polyBlocks(PAD_BLOCK, 0, 16, 0);
  }
  polyFinish();
  return TAG_OUT.slice();
}

/** Loads the key, and Poly1305's one-time key from block 0. */
function start(key: Uint8Array, n0: number, n1: number, n2: number): void {
  loadKey(key);
  chachaBlock(0, n0, n1, n2);
  polyStart(BLOCK);
}

function loadKey(key: Uint8Array): void {
  for (let i = 0; i < 8; i++) {
    const j = 4 * i;
    KEY[i] = key[j] | key[j + 1] << 8 | key[j + 2] << 16 | key[j + 3] << 24;
  }
}

/** XORs `length` bytes of `input` with the key stream from block 1 into `out` at `at`. */
function xorStream(
  input: Uint8Array,
  length: number,
  out: Uint8Array,
  at: number,
  n0: number,
  n1: number,
  n2: number,
): void {
  for (let from = 0, counter = 1; from < length; from += 64, counter++) {
    chachaBlock(counter, n0, n1, n2);
    const n = Math.min(64, length - from);
    for (let i = 0; i < n; i++) out[at + from + i] = input[from + i] ^ BLOCK[i];
  }
}

/** Poly1305 over `ad`, the ciphertext and both lengths, into TAG_OUT. */
function authenticate(
  ad: Uint8Array,
  data: Uint8Array,
  at: number,
  length: number,
): void {
  polyPadded(ad, 0, ad.length);
  polyPadded(data, at, length);
  PAD_BLOCK.fill(0);
  putLength(ad.length, 0);
  putLength(length, 8);
  polyBlocks(PAD_BLOCK, 0, 16, FULL);
  polyFinish();
}

function putLength(length: number, at: number): void {
  for (let i = 0; i < 8; i++, length = Math.floor(length / 256)) {
    PAD_BLOCK[at + i] = length & 0xff;
  }
}

function polyPadded(data: Uint8Array, at: number, length: number): void {
  const whole = length - (length % 16);
  polyBlocks(data, at, whole, FULL);
  if (whole === length) return;
  PAD_BLOCK.fill(0);
  for (let i = whole; i < length; i++) PAD_BLOCK[i - whole] = data[at + i];
  polyBlocks(PAD_BLOCK, 0, 16, FULL);
}

/** ChaCha20's block `counter` into BLOCK (RFC 8439 §2.3). */
function chachaBlock(
  counter: number,
  n0: number,
  n1: number,
  n2: number,
): void {
  const k0 = KEY[0], k1 = KEY[1], k2 = KEY[2], k3 = KEY[3];
  const k4 = KEY[4], k5 = KEY[5], k6 = KEY[6], k7 = KEY[7];
  let x0 = 0x61707865, x1 = 0x3320646e, x2 = 0x79622d32, x3 = 0x6b206574;
  let x4 = k0, x5 = k1, x6 = k2, x7 = k3, x8 = k4, x9 = k5, x10 = k6;
  let x11 = k7, x12 = counter | 0, x13 = n0 | 0, x14 = n1 | 0, x15 = n2 | 0;
  for (let round = 0; round < 10; round++) {
    // Columns.
    x0 = (x0 + x4) | 0, x12 = rotl(x12 ^ x0, 16);
    x8 = (x8 + x12) | 0, x4 = rotl(x4 ^ x8, 12);
    x0 = (x0 + x4) | 0, x12 = rotl(x12 ^ x0, 8);
    x8 = (x8 + x12) | 0, x4 = rotl(x4 ^ x8, 7);
    x1 = (x1 + x5) | 0, x13 = rotl(x13 ^ x1, 16);
    x9 = (x9 + x13) | 0, x5 = rotl(x5 ^ x9, 12);
    x1 = (x1 + x5) | 0, x13 = rotl(x13 ^ x1, 8);
    x9 = (x9 + x13) | 0, x5 = rotl(x5 ^ x9, 7);
    x2 = (x2 + x6) | 0, x14 = rotl(x14 ^ x2, 16);
    x10 = (x10 + x14) | 0, x6 = rotl(x6 ^ x10, 12);
    x2 = (x2 + x6) | 0, x14 = rotl(x14 ^ x2, 8);
    x10 = (x10 + x14) | 0, x6 = rotl(x6 ^ x10, 7);
    x3 = (x3 + x7) | 0, x15 = rotl(x15 ^ x3, 16);
    x11 = (x11 + x15) | 0, x7 = rotl(x7 ^ x11, 12);
    x3 = (x3 + x7) | 0, x15 = rotl(x15 ^ x3, 8);
    x11 = (x11 + x15) | 0, x7 = rotl(x7 ^ x11, 7);
    // Diagonals.
    x0 = (x0 + x5) | 0, x15 = rotl(x15 ^ x0, 16);
    x10 = (x10 + x15) | 0, x5 = rotl(x5 ^ x10, 12);
    x0 = (x0 + x5) | 0, x15 = rotl(x15 ^ x0, 8);
    x10 = (x10 + x15) | 0, x5 = rotl(x5 ^ x10, 7);
    x1 = (x1 + x6) | 0, x12 = rotl(x12 ^ x1, 16);
    x11 = (x11 + x12) | 0, x6 = rotl(x6 ^ x11, 12);
    x1 = (x1 + x6) | 0, x12 = rotl(x12 ^ x1, 8);
    x11 = (x11 + x12) | 0, x6 = rotl(x6 ^ x11, 7);
    x2 = (x2 + x7) | 0, x13 = rotl(x13 ^ x2, 16);
    x8 = (x8 + x13) | 0, x7 = rotl(x7 ^ x8, 12);
    x2 = (x2 + x7) | 0, x13 = rotl(x13 ^ x2, 8);
    x8 = (x8 + x13) | 0, x7 = rotl(x7 ^ x8, 7);
    x3 = (x3 + x4) | 0, x14 = rotl(x14 ^ x3, 16);
    x9 = (x9 + x14) | 0, x4 = rotl(x4 ^ x9, 12);
    x3 = (x3 + x4) | 0, x14 = rotl(x14 ^ x3, 8);
    x9 = (x9 + x14) | 0, x4 = rotl(x4 ^ x9, 7);
  }
  put(0, (x0 + 0x61707865) | 0);
  put(1, (x1 + 0x3320646e) | 0);
  put(2, (x2 + 0x79622d32) | 0);
  put(3, (x3 + 0x6b206574) | 0);
  put(4, (x4 + k0) | 0);
  put(5, (x5 + k1) | 0);
  put(6, (x6 + k2) | 0);
  put(7, (x7 + k3) | 0);
  put(8, (x8 + k4) | 0);
  put(9, (x9 + k5) | 0);
  put(10, (x10 + k6) | 0);
  put(11, (x11 + k7) | 0);
  put(12, (x12 + counter) | 0);
  put(13, (x13 + n0) | 0);
  put(14, (x14 + n1) | 0);
  put(15, (x15 + n2) | 0);
}

function rotl(v: number, n: number): number {
  return (v << n) | (v >>> (32 - n));
}

/** Word `i` of the block, little-endian. */
function put(i: number, v: number): void {
  BLOCK[4 * i] = v;
  BLOCK[4 * i + 1] = v >>> 8;
  BLOCK[4 * i + 2] = v >>> 16;
  BLOCK[4 * i + 3] = v >>> 24;
}

function u16(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8);
}

/** Clamps r and keeps s of the one-time key; clears the accumulator. */
function polyStart(key: Uint8Array): void {
  const t0 = u16(key, 0), t1 = u16(key, 2), t2 = u16(key, 4);
  const t3 = u16(key, 6), t4 = u16(key, 8), t5 = u16(key, 10);
  const t6 = u16(key, 12), t7 = u16(key, 14);
  R[0] = t0 & 0x1fff;
  R[1] = ((t0 >>> 13) | (t1 << 3)) & 0x1fff;
  R[2] = ((t1 >>> 10) | (t2 << 6)) & 0x1f03;
  R[3] = ((t2 >>> 7) | (t3 << 9)) & 0x1fff;
  R[4] = ((t3 >>> 4) | (t4 << 12)) & 0x00ff;
  R[5] = (t4 >>> 1) & 0x1ffe;
  R[6] = ((t4 >>> 14) | (t5 << 2)) & 0x1fff;
  R[7] = ((t5 >>> 11) | (t6 << 5)) & 0x1f81;
  R[8] = ((t6 >>> 8) | (t7 << 8)) & 0x1fff;
  R[9] = (t7 >>> 5) & 0x007f;
  for (let i = 0; i < 8; i++) S[i] = u16(key, 16 + 2 * i);
  H.fill(0);
}

/** 2^128 in the top limb: added to each full 16-byte block. */
const FULL = 1 << 11;

/**
 * Adds `length` bytes (whole 16-byte blocks) of `data` from `at` to the
 * accumulator: h = (h + block + 2^128) * r mod 2^130 - 5, with `top`
 * {@linkcode FULL} for 2^128 or 0 for none (a padded short last block).
 */
function polyBlocks(
  data: Uint8Array,
  at: number,
  length: number,
  top: number,
): void {
  const r0 = R[0], r1 = R[1], r2 = R[2], r3 = R[3], r4 = R[4];
  const r5 = R[5], r6 = R[6], r7 = R[7], r8 = R[8], r9 = R[9];
  let h0 = H[0], h1 = H[1], h2 = H[2], h3 = H[3], h4 = H[4];
  let h5 = H[5], h6 = H[6], h7 = H[7], h8 = H[8], h9 = H[9];
  for (let p = at; p < at + length; p += 16) {
    const t0 = u16(data, p), t1 = u16(data, p + 2), t2 = u16(data, p + 4);
    const t3 = u16(data, p + 6), t4 = u16(data, p + 8);
    const t5 = u16(data, p + 10), t6 = u16(data, p + 12);
    const t7 = u16(data, p + 14);
    h0 += t0 & 0x1fff;
    h1 += ((t0 >>> 13) | (t1 << 3)) & 0x1fff;
    h2 += ((t1 >>> 10) | (t2 << 6)) & 0x1fff;
    h3 += ((t2 >>> 7) | (t3 << 9)) & 0x1fff;
    h4 += ((t3 >>> 4) | (t4 << 12)) & 0x1fff;
    h5 += (t4 >>> 1) & 0x1fff;
    h6 += ((t4 >>> 14) | (t5 << 2)) & 0x1fff;
    h7 += ((t5 >>> 11) | (t6 << 5)) & 0x1fff;
    h8 += ((t6 >>> 8) | (t7 << 8)) & 0x1fff;
    h9 += (t7 >>> 5) | top;
    // Each half-row of products stays under 2^32, so >>> carries exactly.
    let c = 0;
    let d0 = c + h0 * r0 + h1 * (5 * r9) + h2 * (5 * r8) + h3 * (5 * r7) +
      h4 * (5 * r6);
    c = d0 >>> 13, d0 &= 0x1fff;
    d0 += h5 * (5 * r5) + h6 * (5 * r4) + h7 * (5 * r3) + h8 * (5 * r2) +
      h9 * (5 * r1);
    c += d0 >>> 13, d0 &= 0x1fff;
    let d1 = c + h0 * r1 + h1 * r0 + h2 * (5 * r9) + h3 * (5 * r8) +
      h4 * (5 * r7);
    c = d1 >>> 13, d1 &= 0x1fff;
    d1 += h5 * (5 * r6) + h6 * (5 * r5) + h7 * (5 * r4) + h8 * (5 * r3) +
      h9 * (5 * r2);
    c += d1 >>> 13, d1 &= 0x1fff;
    let d2 = c + h0 * r2 + h1 * r1 + h2 * r0 + h3 * (5 * r9) + h4 * (5 * r8);
    c = d2 >>> 13, d2 &= 0x1fff;
    d2 += h5 * (5 * r7) + h6 * (5 * r6) + h7 * (5 * r5) + h8 * (5 * r4) +
      h9 * (5 * r3);
    c += d2 >>> 13, d2 &= 0x1fff;
    let d3 = c + h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * (5 * r9);
    c = d3 >>> 13, d3 &= 0x1fff;
    d3 += h5 * (5 * r8) + h6 * (5 * r7) + h7 * (5 * r6) + h8 * (5 * r5) +
      h9 * (5 * r4);
    c += d3 >>> 13, d3 &= 0x1fff;
    let d4 = c + h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;
    c = d4 >>> 13, d4 &= 0x1fff;
    d4 += h5 * (5 * r9) + h6 * (5 * r8) + h7 * (5 * r7) + h8 * (5 * r6) +
      h9 * (5 * r5);
    c += d4 >>> 13, d4 &= 0x1fff;
    let d5 = c + h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1;
    c = d5 >>> 13, d5 &= 0x1fff;
    d5 += h5 * r0 + h6 * (5 * r9) + h7 * (5 * r8) + h8 * (5 * r7) +
      h9 * (5 * r6);
    c += d5 >>> 13, d5 &= 0x1fff;
    let d6 = c + h0 * r6 + h1 * r5 + h2 * r4 + h3 * r3 + h4 * r2;
    c = d6 >>> 13, d6 &= 0x1fff;
    d6 += h5 * r1 + h6 * r0 + h7 * (5 * r9) + h8 * (5 * r8) + h9 * (5 * r7);
    c += d6 >>> 13, d6 &= 0x1fff;
    let d7 = c + h0 * r7 + h1 * r6 + h2 * r5 + h3 * r4 + h4 * r3;
    c = d7 >>> 13, d7 &= 0x1fff;
    d7 += h5 * r2 + h6 * r1 + h7 * r0 + h8 * (5 * r9) + h9 * (5 * r8);
    c += d7 >>> 13, d7 &= 0x1fff;
    let d8 = c + h0 * r8 + h1 * r7 + h2 * r6 + h3 * r5 + h4 * r4;
    c = d8 >>> 13, d8 &= 0x1fff;
    d8 += h5 * r3 + h6 * r2 + h7 * r1 + h8 * r0 + h9 * (5 * r9);
    c += d8 >>> 13, d8 &= 0x1fff;
    let d9 = c + h0 * r9 + h1 * r8 + h2 * r7 + h3 * r6 + h4 * r5;
    c = d9 >>> 13, d9 &= 0x1fff;
    d9 += h5 * r4 + h6 * r3 + h7 * r2 + h8 * r1 + h9 * r0;
    c += d9 >>> 13, d9 &= 0x1fff;
    c = ((c << 2) + c) | 0;
    c = (c + d0) | 0;
    h0 = c & 0x1fff;
    h1 = d1 + (c >>> 13);
    h2 = d2, h3 = d3, h4 = d4, h5 = d5, h6 = d6, h7 = d7, h8 = d8, h9 = d9;
  }
  H[0] = h0, H[1] = h1, H[2] = h2, H[3] = h3, H[4] = h4;
  H[5] = h5, H[6] = h6, H[7] = h7, H[8] = h8, H[9] = h9;
}

/** Reduces h fully, adds s: the tag, into TAG_OUT. */
function polyFinish(): void {
  const h = H, g = G;
  let c = h[1] >>> 13;
  h[1] &= 0x1fff;
  for (let i = 2; i < 10; i++) {
    h[i] += c;
    c = h[i] >>> 13;
    h[i] &= 0x1fff;
  }
  h[0] += c * 5;
  c = h[0] >>> 13;
  h[0] &= 0x1fff;
  h[1] += c;
  c = h[1] >>> 13;
  h[1] &= 0x1fff;
  h[2] += c;
  g[0] = h[0] + 5;
  c = g[0] >>> 13;
  g[0] &= 0x1fff;
  for (let i = 1; i < 10; i++) {
    g[i] = h[i] + c;
    c = g[i] >>> 13;
    g[i] &= 0x1fff;
  }
  g[9] -= 1 << 13;
  // h + 5 carried past 2^130: take h - p (g), else h; without a branch.
  let mask = (c ^ 1) - 1;
  for (let i = 0; i < 10; i++) g[i] &= mask;
  mask = ~mask;
  for (let i = 0; i < 10; i++) h[i] = (h[i] & mask) | g[i];
  h[0] = (h[0] | (h[1] << 13)) & 0xffff;
  h[1] = ((h[1] >>> 3) | (h[2] << 10)) & 0xffff;
  h[2] = ((h[2] >>> 6) | (h[3] << 7)) & 0xffff;
  h[3] = ((h[3] >>> 9) | (h[4] << 4)) & 0xffff;
  h[4] = ((h[4] >>> 12) | (h[5] << 1) | (h[6] << 14)) & 0xffff;
  h[5] = ((h[6] >>> 2) | (h[7] << 11)) & 0xffff;
  h[6] = ((h[7] >>> 5) | (h[8] << 8)) & 0xffff;
  h[7] = ((h[8] >>> 8) | (h[9] << 5)) & 0xffff;
  let f = h[0] + S[0];
  TAG_OUT[0] = f, TAG_OUT[1] = f >>> 8;
  for (let i = 1; i < 8; i++) {
    f = (((h[i] + S[i]) | 0) + (f >>> 16)) | 0;
    TAG_OUT[2 * i] = f, TAG_OUT[2 * i + 1] = f >>> 8;
  }
}
