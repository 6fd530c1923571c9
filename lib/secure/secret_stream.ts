/**
 * An encrypted byte stream over any other: a Noise handshake (`noise.ts`)
 * first, then every write sealed into records of at most
 * MAX_RECORD_PLAINTEXT bytes, each a 2-byte big-endian length and the
 * ciphertext (Noise's recommended framing over TCP). The reader opens them
 * in order; a record that is too short, altered, replayed, reordered or cut
 * off throws, and the caller closes the connection. What it carries (our
 * frames) needs no change: it reads and writes bytes like a socket.
 *
 * Not wired into connections yet: the next piece of the encrypted-
 * connections issue.
 *
 * @module
 */

import {
  type CipherState,
  MAX_NOISE_MESSAGE,
  NoiseHandshake,
  type NoiseHandshakeOptions,
  TAG_BYTES,
} from "./noise.ts";

/** Bytes of a record's length prefix. */
export const RECORD_PREFIX_BYTES = 2;
/** Most plaintext bytes in one record (a Noise message holds 65,535 in all). */
export const MAX_RECORD_PLAINTEXT = MAX_NOISE_MESSAGE - TAG_BYTES;

/** What a secret stream runs over, and offers: a socket's shape. */
export interface ByteStream {
  /** Reads into `into`; the bytes read, or null at the end. */
  read(into: Uint8Array): Promise<number | null>;
  /** Writes some of `data`; the bytes written. */
  write(data: Uint8Array): Promise<number>;
  /** Closes it. */
  close(): void;
}

/** Options for {@linkcode secretStream}. */
export interface SecretStreamOptions
  extends Omit<NoiseHandshakeOptions, "ephemeral"> {
  /** Sent in this side's handshake message (encrypted for the responder). */
  payload?: Uint8Array;
}

/** A finished handshake's stream and what the other side sent with it. */
export interface SecretStreamResult {
  /** The encrypted stream. */
  stream: SecretStream;
  /** The payload of the other side's handshake message. */
  remotePayload: Uint8Array;
  /** The transcript hash both sides share. */
  handshakeHash: Uint8Array;
}

const EMPTY: Uint8Array = new Uint8Array(0);

/**
 * Runs the handshake over `raw` (two length-prefixed messages), then
 * resolves to the encrypted stream. Throws if the other side does not
 * complete it (a wrong pre-shared key, a peer speaking something else).
 */
export async function secretStream(
  raw: ByteStream,
  options: SecretStreamOptions,
): Promise<SecretStreamResult> {
  const handshake = new NoiseHandshake(options);
  const records = new RecordReader(raw);
  let remotePayload: Uint8Array = EMPTY;
  while (!handshake.done) {
    if (handshake.writing) {
      await writeRecord(raw, handshake.writeMessage(options.payload));
    } else {
      const message = await records.next();
      if (message === null) {
        throw new Deno.errors.UnexpectedEof("Closed during the handshake");
      }
      remotePayload = handshake.readMessage(message);
    }
  }
  const session = handshake.session();
  return {
    stream: new SecretStream(raw, records, session.send, session.receive),
    remotePayload,
    handshakeHash: session.handshakeHash,
  };
}

/** Bytes in, records out: each a 2-byte length and that many bytes. */
class RecordReader {
  #raw: ByteStream;
  #buffer = new Uint8Array(RECORD_PREFIX_BYTES + MAX_NOISE_MESSAGE);
  #start = 0;
  #end = 0;

  constructor(raw: ByteStream) {
    this.#raw = raw;
  }

  /** The next record, or null at a clean end between records. */
  async next(): Promise<Uint8Array | null> {
    if (!await this.#fill(RECORD_PREFIX_BYTES, true)) return null;
    const length = (this.#buffer[this.#start] << 8) |
      this.#buffer[this.#start + 1];
    await this.#fill(RECORD_PREFIX_BYTES + length, false);
    const record = this.#buffer.slice(
      this.#start + RECORD_PREFIX_BYTES,
      this.#start + RECORD_PREFIX_BYTES + length,
    );
    this.#start += RECORD_PREFIX_BYTES + length;
    return record;
  }

  async #fill(n: number, atBoundary: boolean): Promise<boolean> {
    if (this.#end - this.#start >= n) return true;
    if (this.#start > 0) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    while (this.#end < n) {
      const got = await this.#raw.read(this.#buffer.subarray(this.#end));
      if (got === null) {
        if (atBoundary && this.#end === 0) return false;
        throw new Deno.errors.UnexpectedEof(
          "Connection closed inside a record",
        );
      }
      this.#end += got;
    }
    return true;
  }
}

async function writeRecord(raw: ByteStream, body: Uint8Array): Promise<void> {
  const record = new Uint8Array(RECORD_PREFIX_BYTES + body.length);
  record[0] = body.length >> 8;
  record[1] = body.length & 0xff;
  record.set(body, RECORD_PREFIX_BYTES);
  for (let done = 0; done < record.length;) {
    done += await raw.write(record.subarray(done));
  }
}

/** The encrypted stream a handshake yields; reads and writes plaintext. */
export class SecretStream implements ByteStream {
  #raw: ByteStream;
  #records: RecordReader;
  #send: CipherState;
  #receive: CipherState;
  #plain: Uint8Array = EMPTY;

  /** Wraps `raw` with a finished handshake's ciphers. */
  constructor(
    raw: ByteStream,
    records: RecordReader,
    send: CipherState,
    receive: CipherState,
  ) {
    this.#raw = raw;
    this.#records = records;
    this.#send = send;
    this.#receive = receive;
  }

  /** Reads decrypted bytes; throws on a record that fails to open. */
  async read(into: Uint8Array): Promise<number | null> {
    while (this.#plain.length === 0) {
      const record = await this.#records.next();
      if (record === null) return null;
      this.#plain = this.#receive.decrypt(EMPTY, record);
    }
    const n = Math.min(into.length, this.#plain.length);
    into.set(this.#plain.subarray(0, n));
    this.#plain = this.#plain.subarray(n);
    return n;
  }

  /** Seals all of `data` in records and writes them; resolves to its length. */
  async write(data: Uint8Array): Promise<number> {
    for (let at = 0; at < data.length; at += MAX_RECORD_PLAINTEXT) {
      const chunk = data.subarray(at, at + MAX_RECORD_PLAINTEXT);
      await writeRecord(this.#raw, this.#send.encrypt(EMPTY, chunk));
    }
    return data.length;
  }

  /** Closes the stream underneath. */
  close(): void {
    this.#raw.close();
  }
}
