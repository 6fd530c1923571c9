/**
 * A message connection over TCP: typed messages in and out of one
 * `Deno.Conn`, with an idle timeout before a frame starts and a deadline for
 * the whole frame once it has (a slow sender cannot hold it open byte by
 * byte), and a deadline for each frame sent (a receiver that stops reading
 * cannot hold the sender's memory).
 *
 * @module
 */

import {
  encodeFrameHead,
  type Frame,
  type FrameLimits,
  FrameReader,
} from "../protocol/frame.ts";
import { LazyTimeout } from "../util/lazy_timeout.ts";
import { type Deadline, sharedDeadline } from "./_deadlines.ts";
import { PushReader } from "./_push_reader.ts";
import { fromFrame, type Message, toFrame } from "../protocol/messages.ts";
import { writeAllAsync } from "../util/write_all.ts";
import type { Pace } from "./pace.ts";
import { joinParts, putBefore, writePaced } from "./_paced_write.ts";
import { closeQuietly } from "../util/close_quietly.ts";
import { type ByteStream, SecretStream } from "../secure/secret_stream.ts";
import { secureOpen, type SecureTransport } from "./secure_transport.ts";
import {
  CONNECT_TIMEOUT_MS,
  FRAME_DEADLINE_MS,
  IDLE_TIMEOUT_MS,
} from "../protocol/limits.ts";

/**
 * Time one frame may take to send once its first byte is written; past it
 * the connection is closed (the same bound `FRAME_DEADLINE_MS` puts on a
 * frame received).
 */
export const WRITE_DEADLINE_MS = FRAME_DEADLINE_MS;

/** Options for a {@linkcode Connection}: frame limits and the send deadline. */
export interface ConnectionOptions extends FrameLimits {
  /** Ms a frame may take to send. @default {WRITE_DEADLINE_MS} */
  writeDeadlineMs?: number;
}

/** Options for one {@linkcode Connection.send}. */
export interface SendOptions {
  /**
   * The bytes just before the binary part, in its buffer, may be
   * overwritten: the frame's head is put there and the frame goes out in one
   * write (a piece then costs one system call and one packet less).
   * @default {false}
   */
  headroom?: boolean;
  /**
   * Sends the binary part a chunk at a time as it is paid for (`pace.ts`),
   * the head with the first; the write deadline then bounds each chunk.
   * Stopped after the first chunk, the send closes the connection.
   * @default {one write}
   */
  pace?: Pace;
}

/** Timeouts for one {@linkcode Connection.receive}. */
export interface ReceiveOptions {
  /** Ms to wait for a frame to start. @default {IDLE_TIMEOUT_MS} */
  idleMs?: number;
  /** Ms for a started frame to complete. @default {FRAME_DEADLINE_MS} */
  deadlineMs?: number;
  /**
   * Instead of a deadline for the whole frame, the longest gap between
   * bytes of a started frame: a large frame on a slow link may take any
   * time while it keeps moving. @default {the frame has `deadlineMs`}
   */
  progressMs?: number;
}

/** A host and port. */
export interface Address {
  /** Host name or IP address. */
  host: string;
  /** TCP port. */
  port: number;
}

/** Formats an address as `host:port` (IPv6 in brackets). */
export function formatAddress(address: Address): string {
  return address.host.includes(":")
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}

/**
 * Binary parts up to this size are copied behind their JSON part and sent in
 * one write; larger ones (pieces) are written separately, without a copy.
 */
export const COALESCE_BYTES = 64 * 1024;

const SETTLED: Promise<void> = Promise.resolve();

/** Sends and receives protocol messages over one TCP connection. */
export class Connection {
  #conn: Deno.Conn;
  /** What frames are read from and written to: the secret stream, or the socket. */
  #io: ByteStream;
  #key?: string;
  /** The pull reader, or (compact) the push reader. */
  #reader: FrameReader | PushReader;
  #writing: Promise<void> = SETTLED;
  #closed = false;
  #timedOut = false;
  #writeDeadlineMs: number;
  /** The idle timeout, then the frame deadline, of the frame being read. */
  #readBy: Deadline;
  /** The deadline of the frame being written. */
  #writeBy: Deadline;
  #writeLate = false;
  /** The current receive's gap limit between bytes of a started frame. */
  #progressMs?: number;
  #inFrame = false;
  #bytesReceived = 0;

  /**
   * Wraps an open connection; the Connection now owns it. `options` narrow
   * what frames may arrive (a peer server expects no binary parts at all)
   * and bound how long a send may take. With `secure`, frames go through
   * its stream (sealed records); without, in clear (a plaintext benchmark,
   * or tests of the frame layer alone). A `compact` connection (one of a
   * tracker's many) keeps one socket read pending and parses what it
   * brings (`_push_reader.ts`), and its deadlines share one timer
   * (`_deadlines.ts`).
   */
  constructor(
    conn: Deno.Conn,
    options: ConnectionOptions = {},
    secure?: SecureTransport,
  ) {
    this.#conn = conn;
    this.#io = secure?.stream ?? conn;
    this.#key = secure?.key;
    // Small frames go out at once rather than waiting to be batched.
    try {
      if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    } catch {
      // A socket already reset: reads and writes will say so.
    }
    const compact = options.compact ?? false;
    const secret = this.#io instanceof SecretStream ? this.#io : undefined;
    // Encrypted: the socket's bytes count as they come (`raw`), not when a
    // whole record has arrived and opened.
    const raw = secure?.raw;
    if (raw) raw.onBytes = (count) => this.#gotBytes(count);
    this.#reader = compact && (secret || this.#io === conn)
      ? new PushReader(secret, options)
      : new FrameReader({
        read: async (into) => {
          const got = await this.#io.read(into);
          if (got !== null && !raw) this.#gotBytes(got);
          return got;
        },
      }, options);
    const deadline = compact
      ? sharedDeadline
      : (onExpire: () => void) => new LazyTimeout(onExpire);
    this.#readBy = deadline(() => this.#timeout());
    this.#writeBy = deadline(() => {
      this.#writeLate = true;
      this.close();
    });
    this.#writeDeadlineMs = options.writeDeadlineMs ?? WRITE_DEADLINE_MS;
  }

  /**
   * The name of the pre-shared key the other side proved it holds (a
   * private share's), or undefined (no key, or this side connected).
   */
  get key(): string | undefined {
    return this.#key;
  }

  /** True while a frame has started arriving and is not complete. */
  get inFrame(): boolean {
    return this.#inFrame;
  }

  /** Bytes received on this connection so far (frames and all; encrypted, as sent). */
  get bytesReceived(): number {
    const reader = this.#reader;
    return reader instanceof PushReader ? reader.bytes : this.#bytesReceived;
  }

  /**
   * A frame began (its deadline starts), or (compact) grew while begun
   * (with `progressMs`, the gap starts again).
   */
  #frameGrew(deadlineMs: number, progressMs: number | undefined): void {
    if (this.#inFrame) {
      if (progressMs !== undefined) this.#readBy.start(progressMs);
      return;
    }
    this.#inFrame = true;
    this.#progressMs = progressMs;
    this.#readBy.start(deadlineMs);
  }

  #gotBytes(count: number): void {
    this.#bytesReceived += count;
    // Inside a frame read with progressMs: the gap starts again.
    if (this.#progressMs !== undefined) this.#readBy.start(this.#progressMs);
  }

  /** The remote end's address. */
  get remote(): Address {
    const addr = this.#conn.remoteAddr as Deno.NetAddr;
    return { host: addr.hostname, port: addr.port };
  }

  /** The local end's address. */
  get local(): Address {
    const addr = this.#conn.localAddr as Deno.NetAddr;
    return { host: addr.hostname, port: addr.port };
  }

  /** True once closed, by either side or a timeout. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Receives the next message; `null` when the peer closed cleanly. Throws
   * `Deno.errors.TimedOut` on a timeout (and closes), or the decode error.
   */
  async receive(options: ReceiveOptions = {}): Promise<Message | null> {
    const idleMs = options.idleMs ?? IDLE_TIMEOUT_MS;
    const { progressMs } = options;
    const deadlineMs = progressMs ?? options.deadlineMs ?? FRAME_DEADLINE_MS;
    this.#readBy.start(idleMs);
    try {
      let frame: Frame | null | undefined;
      const reader = this.#reader;
      if (reader instanceof PushReader) {
        // The one await of an idle compact connection: its socket read. No
        // closure is made for it: each would be held while it idles.
        while ((frame = reader.next()) === undefined) {
          if (reader.inFrame) this.#frameGrew(deadlineMs, progressMs);
          reader.got(await this.#conn.read(reader.chunk));
        }
      } else {
        frame = await reader.read({
          onStart: () => this.#frameGrew(deadlineMs, progressMs),
        });
      }
      return frame === null ? null : fromFrame(frame);
    } catch (error) {
      if (this.#timedOut) throw new Deno.errors.TimedOut("Timed out");
      throw error;
    } finally {
      this.#inFrame = false;
      this.#progressMs = undefined;
      this.#readBy.stop();
    }
  }

  /**
   * Sends a message; sends are queued so frames never interleave. A frame
   * that is not fully written within the write deadline (the other side
   * stopped reading) closes the connection and rejects with
   * `Deno.errors.TimedOut`.
   */
  send(message: Message, options: SendOptions = {}): Promise<void> {
    let head: Uint8Array;
    let binary: Uint8Array;
    try {
      const frame = toFrame(message);
      binary = frame.binary;
      head = encodeFrameHead(frame.header, binary.length);
      const room = options.headroom && binary.length > 0 &&
        binary.byteOffset >= head.length;
      // No copy: the head goes in the bytes before the binary part.
      if (room) head = putBefore(head, binary);
      // One write (paced, the head goes with the first chunk): a second
      // small write would wait for the peer's ACK.
      if (
        !options.pace && binary.length > 0 &&
        (room || binary.length <= COALESCE_BYTES)
      ) {
        head = joinParts(head, binary);
        binary = binary.subarray(binary.length);
      }
    } catch (error) {
      // A message too large for a frame rejects like a failed write would.
      return Promise.reject(error);
    }
    const next = this.#writing.then(() =>
      this.#write(head, binary, options.pace)
    );
    this.#writing = next.catch(() => {});
    return next;
  }

  /**
   * Sends several messages without binary parts (e.g. a batch of requests)
   * in one write, after anything queued before; same deadline as
   * {@linkcode send}.
   */
  sendMany(messages: Message[]): Promise<void> {
    let bytes: Uint8Array;
    try {
      const heads = messages.map((message) => {
        const frame = toFrame(message);
        if (frame.binary.length > 0) {
          throw new TypeError("sendMany sends messages without a binary part");
        }
        return encodeFrameHead(frame.header, 0);
      });
      bytes = new Uint8Array(heads.reduce((sum, head) => sum + head.length, 0));
      let at = 0;
      for (const head of heads) {
        bytes.set(head, at);
        at += head.length;
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const next = this.#writing.then(() =>
      this.#writeFrame(bytes, bytes.subarray(bytes.length))
    );
    this.#writing = next.catch(() => {});
    return next;
  }

  /** Closes the connection; safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#readBy.dispose();
    this.#writeBy.dispose();
    try {
      this.#conn.close();
    } catch {
      // Already closed by the other side.
    }
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #timeout(): void {
    this.#timedOut = true;
    this.close();
  }

  /** A frame: at once, or its binary part a chunk at a time as `pace` allows. */
  async #write(head: Uint8Array, binary: Uint8Array, pace?: Pace) {
    if (!pace) return await this.#writeFrame(head, binary);
    await writePaced({ head, binary, pace }, {
      write: (bytes) => this.#writeFrame(bytes, bytes.subarray(bytes.length)),
      // Nothing may follow part of a frame: it would be read as the rest.
      cut: () => this.close(),
    });
  }

  async #writeFrame(head: Uint8Array, binary: Uint8Array): Promise<void> {
    this.#writeBy.start(this.#writeDeadlineMs);
    try {
      await writeAllAsync(this.#io, head);
      if (binary.length > 0) await writeAllAsync(this.#io, binary);
    } catch (error) {
      if (this.#writeLate) {
        throw new Deno.errors.TimedOut(
          `Sending a frame took over ${this.#writeDeadlineMs} ms`,
        );
      }
      throw error;
    } finally {
      this.#writeBy.stop();
    }
  }
}

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  /** Ms to wait for the connection. @default {CONNECT_TIMEOUT_MS} */
  timeoutMs?: number;
  /** Limits on frames received and the send deadline. @default {limits.ts} */
  limits?: ConnectionOptions;
  /** Gives up at once (rejecting with the abort reason) when aborted. */
  signal?: AbortSignal;
  /** A pre-shared key for the handshake (a private share's, a team's). */
  psk?: Uint8Array;
  /** Ms the encryption handshake may take once connected. @default {SECURE_HANDSHAKE_TIMEOUT_MS} */
  handshakeMs?: number;
}

/**
 * Opens an encrypted connection to `address`, failing with
 * `Deno.errors.TimedOut` if the TCP connect takes longer than the timeout
 * (or the handshake longer than its own), `HandshakeRefusedError` if the
 * other side refuses the key, `PlainPeerError` if it is too old to encrypt.
 */
export async function connect(
  address: Address,
  options: ConnectOptions = {},
): Promise<Connection> {
  const conn = await dial(address, options);
  return await openSecure(conn, options);
}

/** Options for {@linkcode dial}. */
export interface DialOptions {
  /** Ms to wait for the connection. @default {CONNECT_TIMEOUT_MS} */
  timeoutMs?: number;
  /** Gives up at once (rejecting with the abort reason) when aborted. */
  signal?: AbortSignal;
}

/**
 * Opens a plain TCP socket to `address` (for {@linkcode openSecure}, or a
 * relay's greeting first), failing with `Deno.errors.TimedOut` after the
 * timeout; an abort stops the attempt itself.
 */
export async function dial(
  address: Address,
  options: DialOptions = {},
): Promise<Deno.TcpConn> {
  const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_MS;
  const { signal } = options;
  signal?.throwIfAborted();
  // Aborting the attempt itself, not just the wait: a connect to a host that
  // drops packets would otherwise go on in the kernel for minutes.
  const attempt = new AbortController();
  const pending = Deno.connect({
    hostname: address.host,
    port: address.port,
    signal: attempt.signal,
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let abort: (() => void) | undefined;
  // A connection that completes after the timeout or the abort is closed.
  const giveUp = (reason: unknown, reject: (reason: unknown) => void) => {
    pending.then(closeQuietly, () => {});
    attempt.abort(reason);
    reject(reason);
  };
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() =>
      giveUp(
        new Deno.errors.TimedOut(
          `Connecting to ${formatAddress(address)} timed out`,
        ),
        reject,
      ), timeoutMs);
    abort = () => giveUp(signal?.reason, reject);
    signal?.addEventListener("abort", abort, { once: true });
  });
  try {
    return await Promise.race([pending, timeout]);
  } finally {
    clearTimeout(timer);
    if (abort) signal?.removeEventListener("abort", abort);
  }
}

/**
 * Runs the encryption handshake, as the side that connects, over `conn` (a
 * socket to the peer, or through a relay to it) and wraps it in a
 * {@linkcode Connection}; `conn` is closed if that fails or is aborted.
 */
export async function openSecure(
  conn: Deno.Conn,
  options: Omit<ConnectOptions, "timeoutMs"> = {},
): Promise<Connection> {
  const { signal } = options;
  const stop = () => closeQuietly(conn);
  signal?.addEventListener("abort", stop, { once: true });
  try {
    signal?.throwIfAborted();
    const secure = await secureOpen(conn, {
      psk: options.psk,
      timeoutMs: options.handshakeMs,
      compact: options.limits?.compact,
    });
    signal?.throwIfAborted();
    return new Connection(conn, options.limits, secure);
  } catch (error) {
    closeQuietly(conn);
    signal?.throwIfAborted();
    throw error;
  } finally {
    signal?.removeEventListener("abort", stop);
  }
}
