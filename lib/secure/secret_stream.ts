/**
 * An encrypted byte stream over any other. The side that connects opens
 * with a 6-byte preamble (`P2PS`, the version, the mode: 0 for Noise `NN`,
 * 1 for `NNpsk0`) and the first handshake message; the side that accepts
 * answers with its own preamble (`P2PS`, the version, a status: 0, or why
 * it refuses) and, when it accepts, the second message. From then on every
 * write is sealed into records of at most {@linkcode MAX_RECORD_PLAINTEXT}
 * bytes, each a 4-byte big-endian length and the ciphertext with its tag.
 * The reader opens them in order; a record that is too short, too long,
 * altered, replayed, reordered or cut off throws, and the caller closes the
 * connection. What it carries (our frames) needs no change: it reads and
 * writes bytes like a socket. docs/PROTOCOL.md describes the bytes.
 *
 * The preamble is bound into the handshake as Noise's prologue, so a
 * changed mode or version fails the handshake. A peer that speaks the old
 * plain protocol starts with a frame's length, whose first byte is 0:
 * {@linkcode PlainPeerError} says so, and the caller answers it in its own
 * language.
 *
 * @module
 */

import {
  type CipherState,
  type KeyPair,
  NoiseHandshake,
  type NoisePattern,
  TAG_BYTES,
  x25519KeyPair,
} from "./noise.ts";
import {
  type ByteStream,
  HANDSHAKE_PREFIX_BYTES,
  MAX_RECORD_PLAINTEXT,
  RECORD_PREFIX_BYTES,
  RecordReader,
} from "./_records.ts";
import { writeAllAsync } from "../util/write_all.ts";

export {
  type ByteStream,
  HANDSHAKE_PREFIX_BYTES,
  MAX_RECORD_BYTES,
  MAX_RECORD_PLAINTEXT,
  RECORD_PREFIX_BYTES,
  RecordBoundsError,
} from "./_records.ts";

/** The preamble's first four bytes: `P2PS`. */
export const SECURE_MAGIC: Uint8Array = Uint8Array.of(0x50, 0x32, 0x50, 0x53);
/** The version of the secure-connection protocol this code speaks. */
export const SECURE_VERSION = 1;
/** Bytes of a preamble: magic, version, mode or status. */
export const PREAMBLE_BYTES = 6;

const PROLOGUE_LABEL = new TextEncoder().encode("p2p secure stream");
const EMPTY: Uint8Array = new Uint8Array(0);

/** Why the accepting side refused a handshake (the preamble's status). */
export type Refusal =
  | "unknown-key"
  | "key-required"
  | "version"
  | "no-key-expected";

const REFUSAL_CODES: Record<Refusal, number> = {
  "unknown-key": 1,
  "key-required": 2,
  "version": 3,
  "no-key-expected": 4,
};

/** The accepting side refused the handshake; `reason` says why. */
export class HandshakeRefusedError extends Error {
  /**
   * Why: no key of ours matched, a key is required, the version, or the
   * other side takes no key at all.
   */
  readonly reason: Refusal;

  /** Creates the error for `reason`. */
  constructor(reason: Refusal) {
    super(
      reason === "unknown-key"
        ? "The other side knows no matching key"
        : reason === "key-required"
        ? "The other side requires a key"
        : reason === "no-key-expected"
        ? "The other side takes no key"
        : "The other side speaks another version of the secure protocol",
    );
    this.name = "HandshakeRefusedError";
    this.reason = reason;
  }
}

/** The other side speaks the old, unencrypted protocol. */
export class PlainPeerError extends Error {
  /** Creates the error. */
  constructor() {
    super("The other side speaks the unencrypted protocol");
    this.name = "PlainPeerError";
  }
}

/** Options for {@linkcode openSecretStream}. */
export interface OpenSecretStreamOptions {
  /** A 32-byte pre-shared key: `NNpsk0` instead of `NN`. */
  psk?: Uint8Array;
  /**
   * Hold as little memory as possible between records, for one of many
   * mostly idle connections (a tracker's). @default {false}
   */
  compact?: boolean;
}

/**
 * Connects: runs the initiator's side of the handshake over `raw`, then
 * resolves to the encrypted stream. Throws {@linkcode HandshakeRefusedError}
 * when refused, {@linkcode PlainPeerError} when the other side answers in
 * the plain protocol, and another error on anything else that does not fit.
 */
export async function openSecretStream(
  raw: ByteStream,
  options: OpenSecretStreamOptions = {},
): Promise<SecretStream> {
  const preamble = preambleOf(options.psk ? 1 : 0);
  const handshake = new NoiseHandshake({
    pattern: options.psk ? "NNpsk0" : "NN",
    initiator: true,
    prologue: prologueOf(preamble),
    psk: options.psk,
  });
  const first = handshake.writeMessage();
  const out = new Uint8Array(
    PREAMBLE_BYTES + HANDSHAKE_PREFIX_BYTES + first.length,
  );
  out.set(preamble);
  putLength(out, PREAMBLE_BYTES, HANDSHAKE_PREFIX_BYTES, first.length);
  out.set(first, PREAMBLE_BYTES + HANDSHAKE_PREFIX_BYTES);
  await writeAllAsync(raw, out);
  const records = new RecordReader(raw, options.compact);
  const answer = await records.exactly(PREAMBLE_BYTES);
  if (answer[0] === 0) throw new PlainPeerError();
  checkMagic(answer);
  const status = answer[5];
  if (answer[4] !== SECURE_VERSION || status === REFUSAL_CODES.version) {
    throw new HandshakeRefusedError("version");
  }
  if (status !== 0) throw new HandshakeRefusedError(refusalOf(status));
  handshake.readMessage(await records.handshakeMessage());
  const session = handshake.session();
  return new SecretStream(
    raw,
    records,
    session,
    options.compact,
  );
}

/** A key the accepting side may find the connecting side using. */
export interface AcceptableKey {
  /** The 32-byte pre-shared key. */
  psk: Uint8Array;
}

/** Options for {@linkcode acceptSecretStream}. */
export interface AcceptSecretStreamOptions<K extends AcceptableKey> {
  /**
   * The keys a connecting side may use with `NNpsk0`; each is tried on the
   * first message (no key: `NNpsk0` is refused). @default {none}
   */
  keys?: () => Iterable<K>;
  /** Refuse `NN`: only a connecting side with one of `keys` gets in. */
  requireKey?: boolean;
  /**
   * This side takes no key, ever (an open tracker): refuse `NNpsk0` with
   * `no-key-expected` before reading more, so the other side can say so
   * rather than call its key wrong. Not for a side whose keys may be
   * secret (a peer's private shares): that one answers `unknown-key`
   * whether or not it holds any. @default {false}
   */
  noKeyExpected?: boolean;
  /** As in {@linkcode OpenSecretStreamOptions}. @default {false} */
  compact?: boolean;
}

/** An accepted stream, and which key it used (none for `NN`). */
export interface AcceptedSecretStream<K> {
  /** The encrypted stream. */
  stream: SecretStream;
  /** The key of `keys` the other side proved it holds. */
  key?: K;
}

/**
 * Accepts: runs the responder's side of the handshake over `raw`. Refuses
 * (telling the other side why, then throwing
 * {@linkcode HandshakeRefusedError}) a key it does not know, `NN` when
 * `requireKey`, `NNpsk0` when `noKeyExpected`, or another version; throws
 * {@linkcode PlainPeerError} for a plain-protocol peer, having read only
 * the first bytes of its frame.
 */
export async function acceptSecretStream<K extends AcceptableKey>(
  raw: ByteStream,
  options: AcceptSecretStreamOptions<K> = {},
): Promise<AcceptedSecretStream<K>> {
  const records = new RecordReader(raw, options.compact);
  const preamble = await records.exactly(PREAMBLE_BYTES);
  if (preamble[0] === 0) throw new PlainPeerError();
  checkMagic(preamble);
  const mode = preamble[5];
  if (preamble[4] !== SECURE_VERSION) return refuse(raw, "version");
  if (mode > 1) throw new TypeError(`Unknown handshake mode ${mode}`);
  if (mode === 0 && options.requireKey) return refuse(raw, "key-required");
  if (mode === 1 && options.noKeyExpected) {
    return refuse(raw, "no-key-expected");
  }
  const first = await records.handshakeMessage();
  const prologue = prologueOf(preamble);
  const ephemeral = x25519KeyPair();
  let found: { handshake: NoiseHandshake; key?: K } | undefined;
  if (mode === 0) {
    const handshake = responder("NN", prologue, ephemeral);
    handshake.readMessage(first);
    found = { handshake };
  } else {
    for (const key of options.keys?.() ?? []) {
      const handshake = responder("NNpsk0", prologue, ephemeral, key.psk);
      try {
        handshake.readMessage(first);
      } catch {
        continue;
      }
      found = { handshake, key };
      break;
    }
  }
  if (!found) return refuse(raw, "unknown-key");
  const second = found.handshake.writeMessage();
  const out = new Uint8Array(
    PREAMBLE_BYTES + HANDSHAKE_PREFIX_BYTES + second.length,
  );
  out.set(preambleOf(0));
  putLength(out, PREAMBLE_BYTES, HANDSHAKE_PREFIX_BYTES, second.length);
  out.set(second, PREAMBLE_BYTES + HANDSHAKE_PREFIX_BYTES);
  await writeAllAsync(raw, out);
  const session = found.handshake.session();
  return {
    stream: new SecretStream(raw, records, session, options.compact),
    key: found.key,
  };
}

function responder(
  pattern: NoisePattern,
  prologue: Uint8Array,
  ephemeral: KeyPair,
  psk?: Uint8Array,
): NoiseHandshake {
  return new NoiseHandshake({
    pattern,
    initiator: false,
    prologue,
    psk,
    ephemeral,
  });
}

async function refuse(raw: ByteStream, reason: Refusal): Promise<never> {
  await writeAllAsync(raw, preambleOf(REFUSAL_CODES[reason])).catch(() => {});
  throw new HandshakeRefusedError(reason);
}

function refusalOf(status: number): Refusal {
  for (const [reason, code] of Object.entries(REFUSAL_CODES)) {
    if (code === status) return reason as Refusal;
  }
  throw new TypeError(`Unknown handshake status ${status}`);
}

function preambleOf(modeOrStatus: number): Uint8Array {
  const preamble = new Uint8Array(PREAMBLE_BYTES);
  preamble.set(SECURE_MAGIC);
  preamble[4] = SECURE_VERSION;
  preamble[5] = modeOrStatus;
  return preamble;
}

function prologueOf(preamble: Uint8Array): Uint8Array {
  const prologue = new Uint8Array(PROLOGUE_LABEL.length + preamble.length);
  prologue.set(PROLOGUE_LABEL);
  prologue.set(preamble, PROLOGUE_LABEL.length);
  return prologue;
}

function checkMagic(preamble: Uint8Array): void {
  for (let i = 0; i < SECURE_MAGIC.length; i++) {
    if (preamble[i] !== SECURE_MAGIC[i]) {
      throw new TypeError("Not a p2p secure connection");
    }
  }
}

function putLength(
  into: Uint8Array,
  at: number,
  bytes: number,
  length: number,
): void {
  for (let i = bytes - 1; i >= 0; i--) {
    into[at + i] = length & 0xff;
    length = Math.floor(length / 256);
  }
}

/** The encrypted stream a handshake yields; reads and writes plaintext. */
export class SecretStream implements ByteStream {
  #raw: ByteStream;
  #records: RecordReader;
  #send: CipherState;
  #receive: CipherState;
  /**
   * What is left to read of the last record opened: a view of the record
   * reader's buffer, where the record was opened in place; the reader keeps
   * it as it is until the next record is asked for, once this is all read.
   */
  #plain: Uint8Array = EMPTY;
  /** The record being written: reused, grown to the largest one sent. */
  #out: Uint8Array = EMPTY;
  #writing = false;
  /** Drop `#out` once used, rather than keep it. */
  #compact: boolean;

  /**
   * Wraps `raw` with a finished handshake's ciphers; `compact` keeps no
   * record buffer between records.
   */
  constructor(
    raw: ByteStream,
    records: RecordReader,
    ciphers: { send: CipherState; receive: CipherState },
    compact = false,
  ) {
    this.#raw = raw;
    this.#records = records;
    this.#send = ciphers.send;
    this.#receive = ciphers.receive;
    this.#compact = compact;
  }

  /** Reads decrypted bytes; throws on a record that fails to open. */
  async read(into: Uint8Array): Promise<number | null> {
    while (this.#plain.length === 0) {
      const record = await this.#records.record();
      if (record === null) return null;
      // In place: no second buffer of a record's size per connection.
      const length = this.#receive.decryptInto(EMPTY, record, record);
      this.#plain = record.subarray(0, length);
    }
    const n = Math.min(into.length, this.#plain.length);
    into.set(this.#plain.subarray(0, n));
    this.#plain = this.#plain.subarray(n);
    return n;
  }

  /**
   * Takes ciphertext its owner read from the socket itself: a push reader
   * (one read pending per connection, no nested reads) instead of
   * {@linkcode read}. Follow each push with {@linkcode openNext} until it
   * returns undefined. Do not mix with {@linkcode read}.
   */
  push(bytes: Uint8Array): void {
    this.#records.push(bytes);
  }

  /**
   * The plaintext of the next whole record pushed (a new array), or
   * undefined until more bytes arrive. Throws on a record out of bounds or
   * one that fails to open.
   */
  openNext(): Uint8Array | undefined {
    const record = this.#records.next();
    if (record === undefined) return undefined;
    const plain = new Uint8Array(record.length - TAG_BYTES);
    this.#receive.decryptInto(EMPTY, record, plain);
    return plain;
  }

  /** Bytes pushed that do not yet make a whole record. */
  get holding(): number {
    return this.#records.holding;
  }

  /**
   * Seals all of `data` in records and writes them; resolves to its length.
   * One write at a time (a `Connection` queues its frames): the record
   * buffer is reused.
   */
  async write(data: Uint8Array): Promise<number> {
    if (this.#writing) throw new Error("Writes to a secret stream overlapped");
    this.#writing = true;
    try {
      for (let at = 0; at < data.length; at += MAX_RECORD_PLAINTEXT) {
        const chunk = data.subarray(at, at + MAX_RECORD_PLAINTEXT);
        const size = RECORD_PREFIX_BYTES + chunk.length + TAG_BYTES;
        if (this.#out.length < size) this.#out = new Uint8Array(size);
        const sealed = this.#send.encryptInto(
          EMPTY,
          chunk,
          this.#out,
          RECORD_PREFIX_BYTES,
        );
        putLength(this.#out, 0, RECORD_PREFIX_BYTES, sealed);
        await writeAllAsync(this.#raw, this.#out.subarray(0, size));
      }
    } finally {
      this.#writing = false;
      if (this.#compact) this.#out = EMPTY;
    }
    return data.length;
  }

  /** Closes the stream underneath. */
  close(): void {
    this.#raw.close();
  }
}
