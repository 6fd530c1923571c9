/**
 * The Noise Protocol Framework's handshake (revision 34) for the two
 * patterns peers will use, as a pure state machine with no I/O: `NN` (an
 * ephemeral X25519 key exchange: every connection encrypted, nobody
 * authenticated) and `NNpsk0` (the same, mixed with a pre-shared key: only
 * holders of a private share's key complete it). Cipher ChaChaPoly
 * (`node:crypto`'s ChaCha20-Poly1305), hash SHA-256, keys derived with
 * Noise's HKDF. A handshake hands back two {@linkcode CipherState}s, one per
 * direction, each with its own key and a counting nonce.
 *
 * ```text
 * NN:      -> e              NNpsk0:  -> psk, e
 *          <- e, ee                   <- e, ee
 * ```
 *
 * @module
 */

import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { concatBytes } from "../util/concat_bytes.ts";

/** Bytes of an X25519 public key, a SHA-256 hash, a cipher key. */
export const KEY_BYTES = 32;
/** Bytes of a Poly1305 tag. */
export const TAG_BYTES = 16;
/** Largest Noise message, handshake or transport (Noise §3). */
export const MAX_NOISE_MESSAGE = 65_535;
/** Nonces a cipher state may use before it must stop (2^64 - 1 is reserved). */
export const MAX_NONCE = Number.MAX_SAFE_INTEGER;
/**
 * Bytes handed to the cipher per call when sealing or opening into a
 * caller's buffer. `node:crypto` returns each call's output in a fresh,
 * zeroed buffer; at 256 KiB that is fresh pages from the system for every
 * record (page faults, then unmapping), which measured at half the cipher's
 * own cost in a getter. Under 128 KiB the allocator reuses warm memory.
 */
export const CIPHER_CHUNK_BYTES = 64 * 1024;

/**
 * Another ChaCha20-Poly1305, same bytes on the wire, for records up to
 * `maxBytes` (`chacha_poly.ts`: no cipher object per record, for a tracker).
 */
export interface SmallRecordCipher {
  /** Largest plaintext it takes. */
  maxBytes: number;
  /** Seals into `out` at `at`: ciphertext, then tag. */
  seal(
    key: Uint8Array,
    nonce: number,
    ad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
    at: number,
  ): void;
  /** Opens into the start of `out`; false if it was altered. */
  open(
    key: Uint8Array,
    nonce: number,
    ad: Uint8Array,
    sealed: Uint8Array,
    out: Uint8Array,
  ): boolean;
}

let small: SmallRecordCipher | undefined;
/** Seals and opens small records with `cipher` from now on (none: node:crypto). */
export function setSmallRecordCipher(cipher?: SmallRecordCipher): void {
  small = cipher;
}

/** The patterns this module speaks. */
export type NoisePattern = "NN" | "NNpsk0";

/** An X25519 key pair. */
export interface KeyPair {
  /** The private key, as node:crypto holds it. */
  privateKey: KeyObject;
  /** The 32 raw bytes of the public key. */
  publicKey: Uint8Array;
}

const PKCS8_X25519 = Uint8Array.from([
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x04,
  0x22,
  0x04,
  0x20,
]);
const SPKI_X25519 = Uint8Array.from([
  0x30,
  0x2a,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x03,
  0x21,
  0x00,
]);

/** A fresh X25519 key pair; with `secret` (32 bytes), that one (tests). */
export function x25519KeyPair(secret?: Uint8Array): KeyPair {
  const privateKey = secret
    ? createPrivateKey({
      key: Buffer.concat([PKCS8_X25519, secret]),
      format: "der",
      type: "pkcs8",
    })
    : generateKeyPairSync("x25519").privateKey;
  const spki = createPublicKey(privateKey).export({
    format: "der",
    type: "spki",
  });
  return { privateKey, publicKey: new Uint8Array(spki.subarray(-KEY_BYTES)) };
}

function dh(own: KeyPair, theirs: Uint8Array): Uint8Array {
  const publicKey = createPublicKey({
    key: Buffer.concat([SPKI_X25519, theirs]),
    format: "der",
    type: "spki",
  });
  return new Uint8Array(
    diffieHellman({ privateKey: own.privateKey, publicKey }),
  );
}

function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const mac = createHmac("sha256", key);
  for (const part of parts) mac.update(part);
  return new Uint8Array(mac.digest());
}

/** Noise's HKDF: `count` (2 or 3) outputs from a chaining key and input. */
function hkdf(ck: Uint8Array, ikm: Uint8Array, count: 2 | 3): Uint8Array[] {
  const temp = hmac(ck, ikm);
  const out = [hmac(temp, Uint8Array.of(1))];
  out.push(hmac(temp, out[0], Uint8Array.of(2)));
  if (count === 3) out.push(hmac(temp, out[1], Uint8Array.of(3)));
  return out;
}

/**
 * One direction's key and nonce (Noise's CipherState). Each message is
 * sealed under the next nonce, so a replayed, reordered, dropped or
 * tampered message fails to open, and the caller closes the connection.
 */
export class CipherState {
  #key?: Uint8Array;
  #nonce = 0;

  /** A cipher with `key`, or none yet (messages pass in clear). */
  constructor(key?: Uint8Array) {
    this.#key = key;
  }

  /** True once it has a key. */
  get hasKey(): boolean {
    return this.#key !== undefined;
  }

  /** Seals `plaintext` with `ad` under the next nonce. */
  encrypt(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (!this.#key) return plaintext;
    const out = new Uint8Array(plaintext.length + TAG_BYTES);
    this.encryptInto(ad, plaintext, out, 0);
    return out;
  }

  /**
   * Seals `plaintext` with `ad` under the next nonce into `out` at `at`
   * (ciphertext, then tag); returns the bytes written. The cipher's own
   * output is freed at once: a sender of many records makes no garbage.
   */
  encryptInto(
    ad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
    at: number,
  ): number {
    if (!this.#key) throw new Error("The cipher has no key yet");
    if (this.#nonce >= MAX_NONCE) throw new RangeError("Nonces used up");
    if (small && plaintext.length <= small.maxBytes) {
      small.seal(this.#key, this.#nonce++, ad, plaintext, out, at);
      return plaintext.length + TAG_BYTES;
    }
    const cipher = createCipheriv("chacha20-poly1305", this.#key, this.#iv(), {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(ad, { plaintextLength: plaintext.length });
    const end = at + plaintext.length;
    pour(plaintext, (chunk) => cipher.update(chunk), out, at);
    cipher.final();
    out.set(cipher.getAuthTag(), end);
    this.#nonce++;
    return plaintext.length + TAG_BYTES;
  }

  /** Opens `ciphertext` with `ad` under the next nonce; throws if it was altered. */
  decrypt(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (!this.#key) return ciphertext;
    const out = new Uint8Array(Math.max(0, ciphertext.length - TAG_BYTES));
    this.decryptInto(ad, ciphertext, out);
    return out;
  }

  /**
   * Opens `ciphertext` (ciphertext, then tag) with `ad` under the next
   * nonce into the start of `out`, which may be `ciphertext` itself (opened
   * in place); returns the bytes written. Throws if it was altered, and
   * then what `out` holds must not be used.
   */
  decryptInto(ad: Uint8Array, ciphertext: Uint8Array, out: Uint8Array): number {
    if (!this.#key) throw new Error("The cipher has no key yet");
    openSealed(this.#key, this.#nonce, ad, ciphertext, out);
    this.#nonce++;
    return ciphertext.length - TAG_BYTES;
  }

  #iv(): Uint8Array {
    if (this.#nonce >= MAX_NONCE) throw new RangeError("Nonces used up");
    return ivOf(this.#nonce);
  }
}

/** 4 zero bytes, then the nonce as a little-endian 64-bit number. */
function ivOf(nonce: number): Uint8Array {
  const iv = new Uint8Array(12);
  // Without a BigInt: nonces stay below MAX_NONCE, a safe integer.
  const low = nonce % 0x1_0000_0000;
  const high = (nonce - low) / 0x1_0000_0000;
  for (let i = 0; i < 4; i++) {
    iv[4 + i] = (low >>> (8 * i)) & 0xff;
    iv[8 + i] = (high >>> (8 * i)) & 0xff;
  }
  return iv;
}

/**
 * Opens `ciphertext` (ciphertext, then tag) sealed with `key`, `nonce` and
 * `ad` into the start of `out`; throws `TypeError` if it was altered.
 */
function openSealed(
  key: Uint8Array,
  nonce: number,
  ad: Uint8Array,
  ciphertext: Uint8Array,
  out: Uint8Array,
): void {
  if (ciphertext.length < TAG_BYTES) {
    throw new RangeError("Encrypted message shorter than its tag");
  }
  const length = ciphertext.length - TAG_BYTES;
  if (out.length < length) throw new RangeError("No room for the message");
  if (small && length <= small.maxBytes) {
    if (small.open(key, nonce, ad, ciphertext, out)) return;
    throw new AuthenticationError();
  }
  const decipher = createDecipheriv("chacha20-poly1305", key, ivOf(nonce), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(ad, { plaintextLength: length });
  decipher.setAuthTag(ciphertext.subarray(length));
  pour(
    ciphertext.subarray(0, length),
    (chunk) => decipher.update(chunk),
    out,
    0,
  );
  try {
    decipher.final();
  } catch {
    throw new AuthenticationError();
  }
}

/**
 * Runs `input` through `step` CIPHER_CHUNK_BYTES at a time, copying each
 * output into `out` from `at` and freeing it at once (see
 * CIPHER_CHUNK_BYTES): a stream of records makes no garbage. `out` may be
 * `input` at the same place: a chunk is read whole before its output is
 * copied over it.
 */
function pour(
  input: Uint8Array,
  step: (chunk: Uint8Array) => Uint8Array,
  out: Uint8Array,
  at: number,
): void {
  for (let from = 0; from < input.length; from += CIPHER_CHUNK_BYTES) {
    const result = step(input.subarray(from, from + CIPHER_CHUNK_BYTES));
    out.set(result, at + from);
    release(result);
  }
}

/**
 * Frees the memory of `bytes` now (its buffer is detached), if it is the
 * whole of a buffer nothing else uses: the caller's promise.
 */
function release(bytes: Uint8Array): void {
  const buffer = bytes.buffer;
  if (
    buffer instanceof ArrayBuffer && bytes.byteOffset === 0 &&
    buffer.byteLength === bytes.length
  ) {
    buffer.transfer(0);
  }
}

/**
 * A sealed message did not open: altered on the way, or sealed under
 * another key or nonce. A `TypeError`, as bad input is.
 */
export class AuthenticationError extends TypeError {
  /** The error for a message that failed authentication. */
  constructor() {
    super("Encrypted message failed authentication");
    this.name = "AuthenticationError";
  }
}

/** Options for {@linkcode NoiseHandshake}. */
export interface NoiseHandshakeOptions {
  /** `NN`, or `NNpsk0` with `psk`. */
  pattern: NoisePattern;
  /** True for the side that sends the first message. */
  initiator: boolean;
  /** Bytes both sides must agree on (e.g. the application and version). */
  prologue: Uint8Array;
  /** The 32-byte pre-shared key of `NNpsk0`. */
  psk?: Uint8Array;
  /** This side's ephemeral key. @default {a fresh one} */
  ephemeral?: KeyPair;
}

/** What a finished handshake gives each side. */
export interface NoiseSession {
  /** Seals what this side sends. */
  send: CipherState;
  /** Opens what this side receives. */
  receive: CipherState;
  /** The transcript hash: equal on both sides, unique to this handshake. */
  handshakeHash: Uint8Array;
}

/**
 * One side of an `NN` or `NNpsk0` handshake: two messages, the initiator's
 * then the responder's, each carrying an optional payload (encrypted
 * wherever the pattern has a key by then). Throws on any message that does
 * not fit: the caller closes the connection.
 */
export class NoiseHandshake {
  #options: NoiseHandshakeOptions;
  #ck: Uint8Array;
  #h: Uint8Array;
  #cipher = new CipherState();
  #e: KeyPair;
  #re?: Uint8Array;
  #step = 0;

  /** Starts the handshake (Noise's Initialize). */
  constructor(options: NoiseHandshakeOptions) {
    this.#options = options;
    if (options.pattern === "NNpsk0" && options.psk?.length !== KEY_BYTES) {
      throw new RangeError("NNpsk0 needs a 32-byte pre-shared key");
    }
    const name = new TextEncoder().encode(
      `Noise_${options.pattern}_25519_ChaChaPoly_SHA256`,
    );
    this.#h = name.length <= KEY_BYTES
      ? Uint8Array.from({ length: KEY_BYTES }, (_, i) => name[i] ?? 0)
      : sha256(name);
    this.#ck = this.#h;
    this.#mixHash(options.prologue);
    this.#e = options.ephemeral ?? x25519KeyPair();
  }

  /** True when it is this side's turn to write. */
  get writing(): boolean {
    return this.#step === 0
      ? this.#options.initiator
      : this.#step === 1
      ? !this.#options.initiator
      : false;
  }

  /** True once both messages went through. */
  get done(): boolean {
    return this.#step === 2;
  }

  /** Writes this side's next message, carrying `payload`. */
  writeMessage(payload: Uint8Array = new Uint8Array(0)): Uint8Array {
    if (!this.writing) throw new Error("Not this side's turn to write");
    const parts: Uint8Array[] = [];
    if (this.#step === 0 && this.#psk) this.#mixKeyAndHash(this.#psk);
    parts.push(this.#e.publicKey);
    this.#mixHash(this.#e.publicKey);
    if (this.#psk) this.#mixKey(this.#e.publicKey);
    if (this.#step === 1) this.#mixKey(dh(this.#e, this.#re!));
    parts.push(this.#encryptAndHash(payload));
    this.#step++;
    return concatBytes(parts);
  }

  /** Reads the other side's next message; resolves its payload. */
  readMessage(message: Uint8Array): Uint8Array {
    if (this.writing || this.done) {
      throw new Error("Not this side's turn to read");
    }
    if (message.length > MAX_NOISE_MESSAGE || message.length < KEY_BYTES) {
      throw new RangeError(`Handshake message of ${message.length} bytes`);
    }
    if (this.#step === 0 && this.#psk) this.#mixKeyAndHash(this.#psk);
    this.#re = message.slice(0, KEY_BYTES);
    this.#mixHash(this.#re);
    if (this.#psk) this.#mixKey(this.#re);
    if (this.#step === 1) this.#mixKey(dh(this.#e, this.#re));
    const payload = this.#decryptAndHash(message.subarray(KEY_BYTES));
    this.#step++;
    return payload;
  }

  /** The two directions' ciphers, once done (Noise's Split). */
  session(): NoiseSession {
    if (!this.done) throw new Error("The handshake is not finished");
    const [k1, k2] = hkdf(this.#ck, new Uint8Array(0), 2);
    const [send, receive] = this.#options.initiator ? [k1, k2] : [k2, k1];
    return {
      send: new CipherState(send),
      receive: new CipherState(receive),
      handshakeHash: this.#h,
    };
  }

  get #psk(): Uint8Array | undefined {
    return this.#options.pattern === "NNpsk0" ? this.#options.psk : undefined;
  }

  #mixHash(data: Uint8Array): void {
    this.#h = sha256(this.#h, data);
  }

  #mixKey(ikm: Uint8Array): void {
    const [ck, key] = hkdf(this.#ck, ikm, 2);
    this.#ck = ck;
    this.#cipher = new CipherState(key);
  }

  #mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, h, key] = hkdf(this.#ck, ikm, 3);
    this.#ck = ck;
    this.#mixHash(h);
    this.#cipher = new CipherState(key);
  }

  #encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const out = this.#cipher.encrypt(this.#h, plaintext);
    this.#mixHash(out);
    return out;
  }

  #decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const out = this.#cipher.decrypt(this.#h, ciphertext);
    this.#mixHash(ciphertext);
    return out;
  }
}
