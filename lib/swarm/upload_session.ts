/**
 * One downloader's upload session on a peer server, from `welcome` on:
 * pipelined piece requests answered in order, within the upload slots and
 * the upload limit the server shares among all its downloaders.
 *
 * @module
 */

import type { BandwidthLimiter } from "../util/bandwidth.ts";
import {
  type Address,
  type Connection,
  formatAddress,
} from "../net/connection.ts";
import { describeError } from "../net/describe_error.ts";
import { viaRelay } from "../net/relayed_socket.ts";
import { paceFor } from "../net/pace.ts";
import { LazyTimeout } from "../util/lazy_timeout.ts";
import {
  type ErrorCode,
  type FileMeta,
  type Message,
  pieceLength,
} from "../protocol/messages.ts";
import { MAX_BATCH_PIECES } from "../protocol/limits.ts";
import type { PieceSource } from "../storage/piece_source.ts";
import { SLOT_IDLE_MS, type UploadSlots } from "./upload_slots.ts";
import type { NodeTags } from "./node_tags.ts";

/**
 * Bytes kept free before each piece read for its frame's head (about 45
 * bytes of JSON and length; a `pieces` of MAX_BATCH_PIECES small pieces
 * about 1,200), so a piece or a batch goes out in one write.
 */
export const HEADROOM_BYTES = 1536;

/**
 * What a downloader is told when a piece cannot be read (the file changed,
 * vanished or cannot be read): not why, which would name a local path.
 */
export const NO_LONGER_SHARED =
  "This peer no longer shares the file (it changed or can no longer be read)";

/**
 * What an {@linkcode UploadSession} needs from the server running it: what
 * every session shares (slots, upload limit, byte counts), its timeouts, and
 * how it replies to bad input (one wording for the handshake and the
 * session alike).
 */
export interface UploadHost {
  /** Upload slots shared by every session. */
  readonly slots: UploadSlots;
  /** The server's tag for each file, sent in `welcome`. */
  readonly tags: NodeTags;
  /** Shared by every session, so the limit holds for the process. */
  readonly limiter?: BandwidthLimiter;
  /** Unanswered requests allowed on one connection. */
  readonly maxOutstanding: number;
  /** Ms a downloader keeps its slot while others wait. */
  readonly slotTurnMs: number;
  /** Ms a connection may go without starting a frame. */
  readonly idleMs: number;
  /** Ms a started frame has to arrive whole. */
  readonly deadlineMs: number;
  /** Replies to bad input from the remote end when it deserves a reply. */
  failOnInput(conn: Connection, error: unknown): Promise<void>;
  /** Sends one `error` before the connection closes; never throws. */
  fail(conn: Connection, code: ErrorCode, message: string): Promise<void>;
  /** Counts bytes sent for a file. */
  count(id: string, bytes: number): void;
  /** Reports a file that could not be read, unless it was just unshared. */
  broken(file: PieceSource, reason: string): void;
  /** Receives one line per notable event; undefined when not logging. */
  readonly log?: (line: string) => void;
}

/** A downloader a relay joined to this peer: the connection's other end is the relay. */
export interface RelayedDownloader {
  /** The downloader's host, as the tracker saw it. */
  host: string;
  /** The relay at the other end of the connection. */
  relay: Address;
}

/** Options for an {@linkcode UploadSession}. */
export interface UploadSessionOptions {
  /**
   * Who the downloader is when a relay joined it to this peer.
   * @default {the connection's other end}
   */
  relayed?: RelayedDownloader;
  /**
   * Most pieces the downloader takes in one `pieces` (its `hello`'s
   * `batch`): answered with batches of small pieces, and told in `welcome`
   * that it may send `requests`. @default {none: one `piece` per request}
   */
  batch?: number;
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
export class UploadSession {
  #server: UploadHost;
  #conn: Connection;
  #file: PieceSource;
  #queue: number[] = [];
  /** Piece buffers whose send completed, reused for the next reads (two suffice). */
  #spare: Uint8Array[] = [];
  #wake?: () => void;
  #ended = false;
  /** Aborts a wait for the upload limit or a slot when the session ends. */
  #stop = new AbortController();
  /** An error being sent as the session ends (see {@linkcode #endWith}). */
  #lastWord?: Promise<void>;
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
  #sent = 0;
  /** Most pieces per answer: 1 unless the downloader offered batches. */
  #batch: number;
  #relayed?: RelayedDownloader;

  /** A session serving `file` to the downloader on `conn`, whose `hello` asked for it. */
  constructor(
    server: UploadHost,
    conn: Connection,
    file: PieceSource,
    options: UploadSessionOptions = {},
  ) {
    this.#server = server;
    this.#conn = conn;
    this.#file = file;
    this.#batch = Math.min(options.batch ?? 1, MAX_BATCH_PIECES);
    this.#relayed = options.relayed;
  }

  /**
   * The downloader's address (its connection's port, not its serving
   * port); through a relay, its host and port 0 (see {@linkcode relay}).
   */
  get remote(): Address {
    return this.#relayed
      ? { host: this.#relayed.host, port: 0 }
      : this.#conn.remote;
  }

  /** The relay the downloader reaches this peer through, if it does. */
  get relay(): Address | undefined {
    return this.#relayed?.relay;
  }

  /** The downloader for the log: its address, or its host and the relay. */
  get who(): string {
    const relayed = this.#relayed;
    return relayed
      ? viaRelay(relayed.host, relayed.relay)
      : formatAddress(this.#conn.remote);
  }

  /** The file served. */
  get meta(): FileMeta {
    return this.#file.meta;
  }

  /** Piece bytes sent in this session. */
  get sent(): number {
    return this.#sent;
  }

  /** Sends `welcome`, then serves requests until either side ends the session. */
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
      node: this.#server.tags.of(this.#file.meta.id),
      ...(have && !have.complete ? { have: have.toBytes() } : {}),
      ...(this.#batch > 1 ? { batch: MAX_BATCH_PIECES } : {}),
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
        return await this.#endWith(this.#server.failOnInput(this.#conn, error));
      }
      if (message === null || this.#ended) return;
      if (message.type === "cancel") {
        const at = this.#queue.indexOf(message.index);
        if (at !== -1) this.#queue.splice(at, 1);
        continue;
      }
      if (message.type !== "request" && message.type !== "requests") {
        return await this.#endWith(this.#server.fail(
          this.#conn,
          "bad-request",
          `Expected "request" or "cancel", got "${message.type}"`,
        ));
      }
      // Dropped while choked: the downloader gave it back when told.
      if (this.#choked) continue;
      const indices = message.type === "request"
        ? [message.index]
        : message.indices;
      if (this.#queue.length + indices.length > this.#server.maxOutstanding) {
        this.#server.log?.(
          `Closed ${this.who}: over ${this.#server.maxOutstanding} requests outstanding`,
        );
        this.#end();
        this.#conn.close();
        return;
      }
      this.#queue.push(...indices);
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
    this.#server.log?.(
      `Choked ${this.who}: every upload slot is taken; it waits its turn.`,
    );
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
      this.#server.log?.(`Unchoked ${this.who}: its turn for a slot.`);
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
    this.#server.log?.(
      `Choked ${this.who}: its turn is over (${
        plural(slots.waiting, "downloader")
      } waiting).`,
    );
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
        const bytes = reply.type === "piece" || reply.type === "pieces"
          ? reply.data.length
          : 0;
        // Under a low limit a piece goes out as it is paid for: sent whole,
        // it would reach the downloader as a silence longer than it waits.
        const { limiter } = this.#server;
        const pace = limiter && paceFor(limiter, bytes, this.#stop.signal);
        if (bytes > 0 && !pace) await limiter?.take(bytes, this.#stop.signal);
        const how = { headroom: true, pace };
        const sent = this.#conn.send(reply, how).then(() => {
          if (reply.type === "piece" || reply.type === "pieces") {
            this.#server.count(this.#file.meta.id, bytes);
            this.#sent += bytes;
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
      // The reader's last word (an error) goes out before the close.
      await this.#lastWord;
      this.#conn.close();
    }
  }

  /**
   * Ends the session with `last` (an error reply, already queued: sends
   * go out in order) as the last thing sent: the writer closes the
   * connection once it is out.
   */
  async #endWith(last: Promise<void>): Promise<void> {
    this.#lastWord = last;
    this.#end();
    await last;
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
    if (!this.#announced(index)) {
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
      if (
        this.#batch > 1 && this.#queue.length > 0 &&
        data.length < this.#file.meta.pieceSize &&
        data.buffer === buffer.buffer && data.byteOffset === HEADROOM_BYTES
      ) {
        return await this.#batchAfter(index, data);
      }
      return { type: "piece", index, data };
    } catch (error) {
      const reason = describeError(error);
      this.#server.broken(this.#file, reason);
      this.#end();
      // The reason names a path on this machine: the downloader hears only
      // that the file is gone, never where it was.
      await this.#server.fail(
        this.#conn,
        "not-shared",
        NO_LONGER_SHARED,
      );
      return undefined;
    }
  }

  /**
   * `first` (read at HEADROOM_BYTES into its buffer) and the requests
   * queued after it that fit beside it in the buffer, up to `#batch`
   * pieces: one `pieces`, or `first`'s `piece` when none fits.
   */
  async #batchAfter(first: number, data: Uint8Array): Promise<Message> {
    const buffer = new Uint8Array(data.buffer);
    const indices = [first];
    const lengths = [data.length];
    let end = HEADROOM_BYTES + data.length;
    while (indices.length < this.#batch && this.#queue.length > 0) {
      const index = this.#queue[0];
      // Anything to refuse is answered on its own, after this batch.
      if (index >= this.#file.pieces || !this.#announced(index)) break;
      const length = pieceLength(this.#file.meta, index);
      if (end + length > buffer.length) break;
      this.#queue.shift();
      const piece = await this.#file.readPiece(
        index,
        buffer.subarray(end, end + length),
      );
      if (piece.length !== length) {
        // Answered on its own, as it would have been without batches.
        this.#queue.unshift(index);
        break;
      }
      if (piece.buffer !== buffer.buffer || piece.byteOffset !== end) {
        buffer.set(piece.subarray(0, length), end);
      }
      indices.push(index);
      lengths.push(length);
      end += length;
    }
    if (indices.length === 1) return { type: "piece", index: first, data };
    return {
      type: "pieces",
      indices,
      lengths,
      data: buffer.subarray(HEADROOM_BYTES, end),
    };
  }

  /** False for a piece a partial file does not hold (never announced). */
  #announced(index: number): boolean {
    return this.#file.have?.()?.has(index) !== false;
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

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
