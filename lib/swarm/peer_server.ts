/**
 * The sharing side of the peer protocol: accepts downloaders, answers
 * `hello` with `welcome` for a shared file, then serves pipelined piece
 * requests in order. Bad input closes that one connection; the server keeps
 * serving everyone else.
 *
 * @module
 */

import { BandwidthLimiter } from "../util/bandwidth.ts";
import { type Address, Connection, formatAddress } from "../net/connection.ts";
import { LazyTimeout } from "../util/lazy_timeout.ts";
import {
  DEFAULT_PEER_PORT,
  FRAME_DEADLINE_MS,
  IDLE_TIMEOUT_MS,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_ADDRESS,
  MAX_OUTSTANDING_REQUESTS,
  PROTOCOL_VERSION,
} from "../protocol/limits.ts";
import type { ErrorCode, Message } from "../protocol/messages.ts";
import type { PieceSource } from "../storage/piece_source.ts";
import {
  SLOT_IDLE_MS,
  SLOT_TURN_MS,
  UPLOAD_SLOTS,
  UploadSlots,
} from "./upload_slots.ts";

/** Time a new connection has to send `hello` (libtorrent uses 10 s too). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Time allowed for a last `error` reply to go out before closing anyway. */
export const CLOSE_FLUSH_TIMEOUT_MS = 1_000;
/**
 * Largest JSON part a peer server reads: `hello` and `request` are under
 * 200 bytes, so a downloader cannot make it buffer 64 KiB per connection.
 */
export const MAX_PEER_REQUEST_BYTES = 1024;
/**
 * Bytes kept free before each piece read for its frame's head (about 45
 * bytes of JSON and length), so a piece goes out in one write.
 */
export const HEADROOM_BYTES = 128;
/** Default listening host of a peer server: every interface. */
export const DEFAULT_PEER_HOST = "0.0.0.0";

/** Options for {@linkcode startPeerServer}. */
export interface PeerServerOptions {
  /** Interface to listen on. @default {DEFAULT_PEER_HOST} */
  host?: string;
  /** Port to listen on; 0 picks a free one. @default {DEFAULT_PEER_PORT} */
  port?: number;
  /** Finds what is offered under this full ID (a whole or partial file), or undefined. */
  lookup: (id: string) => PieceSource | undefined;
  /**
   * Called when a downloader says it serves the file `id` too (its `hello`
   * names its port), so a downloader of the same file can connect back.
   */
  onPeer?: (id: string, address: Address) => void;
  /** Downloaders served at once; others wait their turn. @default {UPLOAD_SLOTS} */
  uploadSlots?: number;
  /** Ms a downloader keeps its slot while others wait. @default {SLOT_TURN_MS} */
  slotTurnMs?: number;
  /** Called when a shared file fails to read (changed or deleted), so its owner can stop sharing it. */
  onFileBroken?: (id: string, reason: string) => void;
  /** Receives one line per notable event. @default {no logging} */
  log?: (line: string) => void;
  /** Connections accepted at once. @default {MAX_CONNECTIONS} */
  maxConnections?: number;
  /** Connections accepted at once from one address. @default {MAX_CONNECTIONS_PER_ADDRESS} */
  maxConnectionsPerAddress?: number;
  /** Unanswered requests allowed on one connection. @default {MAX_OUTSTANDING_REQUESTS} */
  maxOutstanding?: number;
  /** Ms a new connection has to send `hello`. @default {HANDSHAKE_TIMEOUT_MS} */
  handshakeMs?: number;
  /** Ms a connection may go without starting a frame. @default {IDLE_TIMEOUT_MS} */
  idleMs?: number;
  /** Ms a started frame has to arrive whole (slow-loris). @default {FRAME_DEADLINE_MS} */
  frameDeadlineMs?: number;
  /**
   * Ms one answer (a piece) has to go out; a downloader that stops reading
   * is closed past it, so the pieces held for it are freed.
   * @default {FRAME_DEADLINE_MS}
   */
  writeDeadlineMs?: number;
  /**
   * Piece bytes a second sent to all downloaders together; each piece waits
   * its turn before it goes out. @default {no limit}
   */
  uploadLimit?: number;
}

/** A running peer server. */
export interface PeerServer {
  /** The address it listens on (with the real port when 0 was asked). */
  readonly address: Address;
  /** Piece bytes sent since start, all files together. */
  readonly uploaded: number;
  /** Piece bytes sent since start for the file with this ID. */
  uploadedFor(id: string): number;
  /** Connections open right now. */
  readonly connections: number;
  /** Stops listening, closes every connection and waits for them to end. */
  close(): Promise<void>;
}

/**
 * Starts a peer server on `options.host`:`options.port`.
 *
 * @example
 * ```ts
 * const server = startPeerServer({ port: 0, lookup: (id) => files.get(id) });
 * console.log(`Serving on port ${server.address.port}`);
 * await server.close();
 * ```
 */
export function startPeerServer(options: PeerServerOptions): PeerServer {
  // Checked before listening, so a bad limit leaves no listener open.
  const slots = new UploadSlots(options.uploadSlots ?? UPLOAD_SLOTS);
  const limiter = options.uploadLimit === undefined
    ? undefined
    : new BandwidthLimiter(options.uploadLimit);
  const listener = Deno.listen({
    hostname: options.host ?? DEFAULT_PEER_HOST,
    port: options.port ?? DEFAULT_PEER_PORT,
  });
  return new Server(listener, options, slots, limiter);
}

class Server implements PeerServer {
  readonly address: Address;
  uploaded = 0;
  #listener: Deno.TcpListener;
  #options: PeerServerOptions;
  #perFile = new Map<string, number>();
  #open = new Set<Connection>();
  #perAddress = new Map<string, number>();
  #tasks = new Set<Promise<void>>();
  #accepting: Promise<void>;
  #closed = false;
  /** Shared by every connection, so the limit holds for the process. */
  readonly limiter?: BandwidthLimiter;
  /** Upload slots shared by every connection. */
  readonly slots: UploadSlots;

  constructor(
    listener: Deno.TcpListener,
    options: PeerServerOptions,
    slots: UploadSlots,
    limiter?: BandwidthLimiter,
  ) {
    this.#listener = listener;
    this.#options = options;
    this.slots = slots;
    this.limiter = limiter;
    const addr = listener.addr as Deno.NetAddr;
    this.address = { host: addr.hostname, port: addr.port };
    this.#accepting = this.#acceptLoop();
  }

  get connections(): number {
    return this.#open.size;
  }

  uploadedFor(id: string): number {
    return this.#perFile.get(id) ?? 0;
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#listener.close();
      } catch {
        // Already closed.
      }
      for (const conn of this.#open) conn.close();
    }
    await this.#accepting;
    await Promise.allSettled([...this.#tasks]);
    this.limiter?.close();
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closed) return;
        this.log(`Accept failed: ${describe(error)}`);
        continue;
      }
      if (this.#closed) {
        conn.close();
        return;
      }
      this.#track(this.#admit(conn));
    }
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.catch((error) => this.log(`Connection failed: ${describe(error)}`))
      .finally(() => this.#tasks.delete(task));
  }

  async #admit(raw: Deno.TcpConn): Promise<void> {
    let conn: Connection;
    let host: string;
    try {
      // A peer server never receives a binary part, so refuse any at once.
      conn = new Connection(raw, {
        maxBinaryBytes: 0,
        maxJsonBytes: MAX_PEER_REQUEST_BYTES,
        writeDeadlineMs: this.#options.writeDeadlineMs,
      });
      host = conn.remote.host;
    } catch {
      // Reset before it could be looked at.
      raw.close();
      return;
    }
    const fromHost = this.#perAddress.get(host) ?? 0;
    const busy = this.#open.size >= (this.#options.maxConnections ??
          MAX_CONNECTIONS) ||
      fromHost >= (this.#options.maxConnectionsPerAddress ??
          MAX_CONNECTIONS_PER_ADDRESS);
    if (busy) {
      // Not counted as open: a flood of refused sockets must not keep the
      // count up and lock out the next honest downloader.
      this.log(`Refused ${formatAddress(conn.remote)}: too many connections`);
      await this.fail(conn, "busy", "Too many connections; try later");
      conn.close();
      return;
    }
    this.#open.add(conn);
    this.#perAddress.set(host, fromHost + 1);
    try {
      await this.#serve(conn);
    } catch (error) {
      this.log(`Closed ${formatAddress(conn.remote)}: ${describe(error)}`);
    } finally {
      conn.close();
      this.#open.delete(conn);
      const left = (this.#perAddress.get(host) ?? 1) - 1;
      if (left > 0) this.#perAddress.set(host, left);
      else this.#perAddress.delete(host);
    }
  }

  async #serve(conn: Connection): Promise<void> {
    let first: Message | null;
    try {
      first = await conn.receive({
        idleMs: this.#options.handshakeMs ?? HANDSHAKE_TIMEOUT_MS,
        deadlineMs: this.deadlineMs,
      });
    } catch (error) {
      return await this.failOnInput(conn, error);
    }
    if (first === null) return;
    const file = await this.#handshake(conn, first);
    if (file) await new Session(this, conn, file).run();
  }

  /** Answers `hello`; returns the file to serve, or undefined (and replies). */
  async #handshake(
    conn: Connection,
    hello: Message,
  ): Promise<PieceSource | undefined> {
    if (hello.type !== "hello") {
      await this.fail(
        conn,
        "bad-request",
        `Expected "hello", got "${hello.type}"`,
      );
      return undefined;
    }
    if (hello.version !== PROTOCOL_VERSION) {
      await this.fail(
        conn,
        "bad-request",
        `Protocol version ${hello.version} is not supported; this peer speaks ${PROTOCOL_VERSION}`,
      );
      return undefined;
    }
    const file = this.#options.lookup(hello.id);
    if (!file || file.closed) {
      await this.fail(
        conn,
        "not-shared",
        `File ${hello.id} is not shared here`,
      );
      return undefined;
    }
    if (hello.port !== undefined) {
      this.#options.onPeer?.(hello.id, {
        host: conn.remote.host,
        port: hello.port,
      });
    }
    return file;
  }

  /** Replies to bad input from the remote end when it deserves a reply. */
  async failOnInput(conn: Connection, error: unknown): Promise<void> {
    if (conn.closed || !isDecodeError(error)) {
      // Timeouts, resets and truncated frames: nothing useful to say.
      if (!conn.closed) {
        this.log(`Closed ${formatAddress(conn.remote)}: ${describe(error)}`);
      }
      return;
    }
    this.log(
      `Bad input from ${formatAddress(conn.remote)}: ${describe(error)}`,
    );
    await this.fail(conn, "bad-request", describe(error));
  }

  /** Sends one `error`, waiting at most CLOSE_FLUSH_TIMEOUT_MS; never throws. */
  fail(conn: Connection, code: ErrorCode, message: string): Promise<void> {
    return sendBriefly(conn, { type: "error", code, message });
  }

  /** Counts bytes sent for a file. */
  count(id: string, bytes: number): void {
    this.uploaded += bytes;
    this.#perFile.set(id, (this.#perFile.get(id) ?? 0) + bytes);
  }

  /** Reports a file that could not be read, unless it was just unshared. */
  broken(file: PieceSource, reason: string): void {
    // A closed source was withdrawn on purpose (unshared, or a download
    // that ended): nothing to report.
    if (file.closed || this.#options.lookup(file.meta.id) !== file) return;
    this.log(`Stopped offering "${file.meta.name}": ${reason}`);
    this.#options.onFileBroken?.(file.meta.id, reason);
  }

  get maxOutstanding(): number {
    return this.#options.maxOutstanding ?? MAX_OUTSTANDING_REQUESTS;
  }

  get slotTurnMs(): number {
    return this.#options.slotTurnMs ?? SLOT_TURN_MS;
  }

  get idleMs(): number {
    return this.#options.idleMs ?? IDLE_TIMEOUT_MS;
  }

  get deadlineMs(): number {
    return this.#options.frameDeadlineMs ?? FRAME_DEADLINE_MS;
  }

  log(line: string): void {
    this.#options.log?.(line);
  }
}

/**
 * One downloader's requests after the handshake. A reader queues requests
 * as they arrive; a writer answers them strictly in order, reading the next
 * piece while the previous one is still being sent (at most two pieces held
 * per connection, so a downloader that never reads cannot grow memory).
 * Answers go out only while the session holds an upload slot: without one
 * the downloader is told `choke`, its requests are dropped, and it is told
 * `unchoke` when its turn comes. A partial file's new pieces are announced
 * with `have` as they are verified.
 */
class Session {
  #server: Server;
  #conn: Connection;
  #file: PieceSource;
  #queue: number[] = [];
  /** Piece buffers whose send completed, reused for the next reads (two suffice). */
  #spare: Uint8Array[] = [];
  #wake?: () => void;
  #ended = false;
  /** Aborts a wait for the upload limit or a slot when the session ends. */
  #stop = new AbortController();
  #holding = false;
  #choked = false;
  #turnStart = 0;
  /** Gives the slot back when no request came for SLOT_IDLE_MS. */
  #slotIdle = new LazyTimeout(() => {
    if (this.#holding && this.#queue.length === 0 && !this.#ended) {
      this.#holding = false;
      this.#server.slots.give();
    }
  });
  #stopHaves?: () => void;

  constructor(server: Server, conn: Connection, file: PieceSource) {
    this.#server = server;
    this.#conn = conn;
    this.#file = file;
  }

  async run(): Promise<void> {
    // The bitfield and the subscription to later pieces are taken together,
    // so no piece falls between them.
    const have = this.#file.have?.();
    this.#stopHaves = this.#file.onHave?.((index) =>
      this.#send({ type: "have", index })
    );
    this.#send({
      type: "welcome",
      id: this.#file.meta.id,
      pieces: this.#file.pieces,
      ...(have && !have.complete ? { have: have.toBytes() } : {}),
    });
    const writing = this.#writeLoop();
    try {
      await this.#readLoop();
    } finally {
      this.#end();
      await writing;
    }
  }

  async #readLoop(): Promise<void> {
    while (!this.#ended) {
      let message: Message | null;
      try {
        message = await this.#conn.receive({
          idleMs: this.#server.idleMs,
          deadlineMs: this.#server.deadlineMs,
        });
      } catch (error) {
        if (this.#ended) return;
        this.#end();
        return await this.#server.failOnInput(this.#conn, error);
      }
      if (message === null || this.#ended) return;
      if (message.type === "cancel") {
        const at = this.#queue.indexOf(message.index);
        if (at !== -1) this.#queue.splice(at, 1);
        continue;
      }
      if (message.type !== "request") {
        this.#end();
        return await this.#server.fail(
          this.#conn,
          "bad-request",
          `Expected "request" or "cancel", got "${message.type}"`,
        );
      }
      // Dropped while choked: the downloader gave it back when told.
      if (this.#choked) continue;
      if (this.#queue.length >= this.#server.maxOutstanding) {
        this.#server.log(
          `Closed ${
            formatAddress(this.#conn.remote)
          }: over ${this.#server.maxOutstanding} requests outstanding`,
        );
        this.#end();
        this.#conn.close();
        return;
      }
      this.#queue.push(message.index);
      if (!this.#holding) this.#claimSlot();
      this.#wake?.();
    }
  }

  /** Takes a free slot, or chokes the downloader until one is its turn. */
  #claimSlot(): void {
    if (this.#server.slots.tryTake()) {
      this.#holding = true;
      this.#turnStart = performance.now();
      return;
    }
    this.#choke();
  }

  #choke(): void {
    this.#choked = true;
    this.#queue.length = 0;
    this.#send({ type: "choke" });
    this.#server.slots.take(this.#stop.signal).then(() => {
      if (this.#ended) return this.#server.slots.give();
      this.#holding = true;
      this.#choked = false;
      this.#turnStart = performance.now();
      this.#send({ type: "unchoke" });
      // Lets the writer serve, or give the slot back if nothing comes.
      this.#wake?.();
    }, () => {});
  }

  /** Gives the slot up after its turn if somebody is waiting for one. */
  #rotate(): void {
    const slots = this.#server.slots;
    if (
      !this.#holding || slots.waiting === 0 ||
      performance.now() - this.#turnStart < this.#server.slotTurnMs
    ) return;
    this.#holding = false;
    slots.give();
    this.#choke();
  }

  async #writeLoop(): Promise<void> {
    let sending: Promise<void> | undefined;
    try {
      for (;;) {
        const index = await this.#next();
        if (index === undefined) break;
        const reply = await this.#answer(index);
        if (reply === undefined) break;
        if (reply.type === "piece") {
          await this.#server.limiter?.take(
            reply.data.length,
            this.#stop.signal,
          );
        }
        const sent = this.#conn.send(reply, { headroom: true }).then(() => {
          if (reply.type === "piece") {
            this.#server.count(this.#file.meta.id, reply.data.length);
            // Sent: the buffer is free for the piece after next (unless
            // it was made for a short last piece).
            const buffer = new Uint8Array(reply.data.buffer);
            if (buffer.length >= HEADROOM_BYTES + this.#file.meta.pieceSize) {
              this.#spare.push(buffer);
            }
          }
        });
        // Awaited below; this only keeps an early failure from being
        // reported as unhandled while the previous send is awaited.
        sent.catch(() => {});
        // Keep one send in flight while the next piece is read.
        if (sending) await sending;
        sending = sent;
      }
      await sending;
    } catch {
      // The connection failed mid-send; the reader sees it closed.
    } finally {
      this.#end();
      this.#conn.close();
    }
  }

  /** The next request to answer, or undefined when the session ended. */
  async #next(): Promise<number | undefined> {
    this.#rotate();
    while ((this.#queue.length === 0 || !this.#holding) && !this.#ended) {
      if (this.#queue.length === 0) this.#releaseWhenIdle();
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
    this.#slotIdle.stop();
    return this.#ended ? undefined : this.#queue.shift();
  }

  /** Gives the slot back if no request comes within SLOT_IDLE_MS. */
  #releaseWhenIdle(): void {
    if (!this.#holding || this.#slotIdle.running) return;
    this.#slotIdle.start(SLOT_IDLE_MS);
  }

  /** The reply to a request, or undefined after a fatal error reply. */
  async #answer(index: number): Promise<Message | undefined> {
    if (index >= this.#file.pieces) {
      return {
        type: "error",
        code: "bad-request",
        message: `No piece ${index}; the file has ${this.#file.pieces}`,
        index,
      };
    }
    if (this.#file.have?.()?.has(index) === false) {
      this.#end();
      await this.#server.fail(
        this.#conn,
        "bad-request",
        `Piece ${index} was never announced here`,
      );
      return undefined;
    }
    try {
      // Read after HEADROOM_BYTES, so the frame's head can go in front.
      const buffer = this.#spare.pop() ??
        new Uint8Array(HEADROOM_BYTES + this.#file.meta.pieceSize);
      const data = await this.#file.readPiece(
        index,
        buffer.subarray(HEADROOM_BYTES),
      );
      return { type: "piece", index, data };
    } catch (error) {
      const reason = describe(error);
      this.#server.broken(this.#file, reason);
      this.#end();
      await this.#server.fail(this.#conn, "not-shared", reason);
      return undefined;
    }
  }

  #send(message: Message): void {
    if (this.#ended) return;
    this.#conn.send(message).catch(() => this.#conn.close());
  }

  /** Stops both loops; the connection is closed by the caller. */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopHaves?.();
    this.#slotIdle.dispose();
    if (this.#holding) {
      this.#holding = false;
      this.#server.slots.give();
    }
    this.#wake?.();
    this.#stop.abort();
  }
}

/** Sends `message`, giving up after CLOSE_FLUSH_TIMEOUT_MS; never throws. */
async function sendBriefly(conn: Connection, message: Message): Promise<void> {
  if (conn.closed) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CLOSE_FLUSH_TIMEOUT_MS);
  });
  try {
    await Promise.race([conn.send(message).catch(() => {}), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** True for errors thrown while decoding what the remote end sent. */
function isDecodeError(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError ||
    error instanceof SyntaxError;
}

function describe(error: unknown): string {
  if (error instanceof Deno.errors.TimedOut) return "timed out";
  if (error instanceof Error) return error.message;
  return String(error);
}
