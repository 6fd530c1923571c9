/**
 * Helpers the hostile-client tests share: a seeded PRNG, raw frames built
 * byte by byte (including ones the encoder would never produce), and a
 * hand-made connection that reports what the server sent back and when it
 * closed. Every server encrypts, so that connection does the handshake and
 * the hostile frames go inside sealed records: they reach the frame layer,
 * whose defences are what these tests are about.
 *
 * @module
 */

import { concatBytes } from "../lib/util/concat_bytes.ts";
import { FrameReader } from "../lib/protocol/frame.ts";
import { fromFrame, type Message } from "../lib/protocol/messages.ts";
import {
  secureOpen,
  type SecureTransport,
} from "../lib/net/secure_transport.ts";

const encoder = new TextEncoder();

/** A small seeded PRNG (mulberry32): the same seed gives the same bytes. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` seeded random bytes. */
export function randomBytes(seed: number, n: number): Uint8Array {
  const next = prng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
}

/** A frame whose JSON part is `json` exactly as given (text or bytes). */
export function rawFrame(json: string | Uint8Array, binary?: Uint8Array) {
  const bytes = typeof json === "string" ? encoder.encode(json) : json;
  return concat(prefix(bytes.length), bytes, binary ?? new Uint8Array(0));
}

/** A 4-byte big-endian length prefix. */
export function prefix(length: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, length);
  return out;
}

/** The byte arrays one after another. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts);
}

/** A hostile input: bytes to send, and whether the server should need its frame deadline to notice. */
export interface HostileCase {
  /** What it is, for the test name. */
  what: string;
  /** The bytes sent. */
  bytes: Uint8Array;
  /** True if nothing in the bytes is wrong yet, so only the deadline (or our end of stream) can end it. */
  stalls?: boolean;
  /** Close our sending side after the bytes (a frame cut off by end of stream). */
  endStream?: boolean;
}

/** Hostile bytes any server must refuse, for a server whose JSON limit is `maxJson`. */
export function hostileBytes(maxJson: number): HostileCase[] {
  const deep = "[".repeat(Math.floor(maxJson / 2) - 1) +
    "]".repeat(Math.floor(maxJson / 2) - 1);
  return [
    { what: "1 KiB of seeded random bytes", bytes: randomBytes(1, 1024) },
    { what: "a 0xFFFFFFFF length", bytes: prefix(0xffffffff) },
    { what: "a 0x80000000 length", bytes: prefix(0x80000000) },
    { what: "a length just over the limit", bytes: prefix(maxJson + 1) },
    { what: "a zero-length frame", bytes: prefix(0) },
    {
      what: "a frame that stops half way",
      bytes: rawFrame('{"type":"stats","pad":"xxxxxxxxxxxxxxxxxxxx"}')
        .subarray(0, 20),
      stalls: true,
    },
    {
      what: "a frame cut off by the end of the stream",
      bytes: rawFrame('{"type":"stats","pad":"xxxxxxxxxxxxxxxxxxxx"}')
        .subarray(0, 20),
      endStream: true,
    },
    {
      what: "JSON nested as deep as the limit allows",
      bytes: rawFrame(deep.slice(0, maxJson)),
    },
    { what: "JSON null", bytes: rawFrame("null") },
    { what: "a JSON array", bytes: rawFrame('[{"type":"stats"}]') },
    { what: "a JSON string", bytes: rawFrame('"stats"') },
    {
      what: "invalid UTF-8",
      bytes: rawFrame(
        concat(
          encoder.encode('{"type":"'),
          Uint8Array.of(0xc3, 0x28),
          encoder.encode('"}'),
        ),
      ),
    },
    { what: "bad JSON", bytes: rawFrame('{"type":') },
  ];
}

/** What a hand-made client reads from and writes to: a socket's shape. */
export interface RawStream {
  /** Reads into `into`; the bytes read, or null at the end. */
  read(into: Uint8Array): Promise<number | null>;
  /** Writes some of `data`; the bytes written. */
  write(data: Uint8Array): Promise<number>;
  /** Closes it (throws if it already is; see {@linkcode closeQuietly}). */
  close(): void;
  /** Ends our sending side; the other side reads the end of the stream. */
  closeWrite(): Promise<void>;
}

/**
 * An encrypted connection made by hand: what is written goes in records.
 * Disposing of it closes it, quietly.
 */
export interface SecureSocket extends RawStream, Disposable {
  /** The TCP socket underneath, for bytes outside the encryption. */
  readonly raw: Deno.TcpConn;
}

/** Options for {@linkcode secureConnect}. */
export interface SecureConnectOptions {
  /** Host to connect to. @default {"127.0.0.1"} */
  hostname?: string;
  /** TCP port. */
  port: number;
  /** A pre-shared key for the handshake. @default {none: NN} */
  psk?: Uint8Array;
}

/**
 * Connects to `options.port` and runs the encryption handshake; what is
 * then written is sealed, whatever the bytes (frames no encoder would
 * write), and what is read is opened. Throws what the handshake throws
 * (the socket closed).
 */
export async function secureConnect(
  options: SecureConnectOptions,
): Promise<SecureSocket> {
  const raw = await Deno.connect({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port,
  });
  let secure: SecureTransport | undefined;
  try {
    secure = await secureOpen(raw, { psk: options.psk });
  } catch (error) {
    closeQuietly(raw);
    throw error;
  }
  // A plaintext benchmark run has no handshake: then bytes go as they are.
  const stream = secure?.stream ?? raw;
  return {
    raw,
    read: (into) => stream.read(into),
    write: (data) => stream.write(data),
    close: () => stream.close(),
    closeWrite: () => raw.closeWrite(),
    [Symbol.dispose]: () => closeQuietly(stream),
  };
}

/** What a raw client saw: the messages sent back and when the server closed. */
export interface Outcome {
  /** Messages received before the connection ended. */
  replies: Message[];
  /** Ms from the bytes being sent to the connection ending. */
  closedAfterMs: number;
}

/** Options for {@linkcode exchange}. */
export interface ExchangeOptions {
  /** End our sending side after the bytes (a frame cut off by end of stream). */
  endStream?: boolean;
  /** Ms the server may keep the connection open. @default {5_000} */
  limitMs?: number;
  /** Host to connect to. @default {"127.0.0.1"} */
  hostname?: string;
  /** A pre-shared key for the handshake. @default {none} */
  psk?: Uint8Array;
}

/**
 * Connects to `port` (encrypted), sends `bytes` inside the encryption and
 * reads until the server closes (or `limitMs` passes, which fails the
 * test). The time to close counts from the bytes, after the handshake.
 */
export async function exchange(
  port: number,
  bytes: Uint8Array,
  options: ExchangeOptions = {},
): Promise<Outcome> {
  const conn = await secureConnect({
    hostname: options.hostname,
    port,
    psk: options.psk,
  });
  try {
    const started = performance.now();
    await writeQuietly(conn, bytes);
    if (options.endStream) await conn.closeWrite().catch(() => {});
    return await readUntilClosed(conn, started, options.limitMs);
  } finally {
    closeQuietly(conn);
  }
}

/** Closes `conn` unless it already is. */
export function closeQuietly(conn: { close(): void }): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** Writes `bytes`, ignoring a server that closed before taking them all. */
export async function writeQuietly(
  conn: Pick<RawStream, "write">,
  bytes: Uint8Array,
): Promise<void> {
  try {
    let done = 0;
    while (done < bytes.length) done += await conn.write(bytes.subarray(done));
  } catch {
    // The server refused and closed: what the test is waiting to see.
  }
}

/** Reads messages until `conn` ends; fails if that takes over `limitMs`. */
export async function readUntilClosed(
  conn: Pick<RawStream, "read" | "close">,
  started = performance.now(),
  limitMs = 5_000,
): Promise<Outcome> {
  const reader = new FrameReader(conn);
  const replies: Message[] = [];
  let timedOut = false;
  const reading = (async () => {
    try {
      for (;;) {
        const frame = await reader.read();
        if (frame === null) return;
        replies.push(fromFrame(frame));
      }
    } catch {
      // Reset by the server, or our own close at the limit.
    }
  })();
  const timer = setTimeout(() => {
    timedOut = true;
    closeQuietly(conn);
  }, limitMs);
  await reading;
  clearTimeout(timer);
  if (timedOut) {
    throw new Error(`Server kept the connection open ${limitMs} ms`);
  }
  return { replies, closedAfterMs: performance.now() - started };
}

/**
 * What the server sent on `conn` if it closed it within `ms`; undefined if
 * it kept it open (then `conn` is closed here).
 */
export async function outcomeWithin(
  conn: Pick<RawStream, "read" | "close">,
  ms: number,
): Promise<Outcome | undefined> {
  try {
    return await readUntilClosed(conn, performance.now(), ms);
  } catch {
    return undefined;
  }
}

/** Waits `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Memory of this test module's isolate in MiB: its JS heap plus the
 * ArrayBuffers it holds. Unlike RSS it is not shared with the test modules
 * `deno test --parallel` runs beside it, so growth can be measured.
 */
export function isolateMiB(): number {
  const usage = Deno.memoryUsage();
  return (usage.heapUsed + usage.external) / (1024 * 1024);
}
