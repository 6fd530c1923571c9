/**
 * One downloader's connection to one peer: handshake (learning which pieces
 * the peer holds), then several piece requests in flight at once over the
 * same connection, following the peer's `have` announcements and its
 * `choke`/`unchoke` turns. When the peer fails (refuses, closes, stalls,
 * lies) its outstanding pieces go back to the scheduler for the other peers.
 *
 * @module
 */

import { USER_AGENT } from "../protocol/version.ts";
import { Bitfield, bitfieldBytes } from "../protocol/bitfield.ts";
import {
  type Address,
  type Connection,
  formatAddress,
} from "../net/connection.ts";
import {
  IDLE_TIMEOUT_MS,
  MAX_BATCH_PIECES,
  PEER_STALL_TIMEOUT_MS,
  PROTOCOL_VERSION,
} from "../protocol/limits.ts";
import type { Message, PeerAddress } from "../protocol/messages.ts";
import * as failures from "./link_failure.ts";
import { RequestWindow } from "./request_window.ts";
import { STALL_CHECK_MS, StallClock } from "./stall_clock.ts";
import { type LinkRoute, openRoute } from "./link_route.ts";
import type { PeerLinkOptions } from "./link_options.ts";
import * as batches from "./_piece_batches.ts";

export type { LinkRoute, MeetFunction } from "./link_route.ts";
export { REQUEST_BATCH } from "./_piece_batches.ts";
export type {
  LinkSpan,
  PeerLinkOptions,
  PieceHandler,
} from "./link_options.ts";

/** A piece under 1/SHORT_PIECE_FRACTION of the piece size is read into a buffer of its own. */
export const SHORT_PIECE_FRACTION = 4;

/** A download's connection to one peer. */
export class PeerLink {
  /** The peer's address. */
  readonly address: Address;
  /** Piece bytes received from this peer in this run. */
  bytes = 0;
  /** Why the link ended early, if it did. */
  failure?: string;
  /** True if the peer sent a piece that failed its hash. */
  lied = false;
  /** Pieces it was asked for and had not sent when the link closed: asked of others. */
  requeued = 0;
  #options: PeerLinkOptions;
  #conn?: Connection;
  /** Pieces asked for and not received, released or cancelled. */
  #outstanding = new Set<number>();
  /** Pieces cancelled that the peer may still send. */
  #cancelled = new Set<number>();
  /** The peer's pieces; undefined while it has all of them. */
  #have?: Bitfield;
  #choked = false;
  #ready = false;
  #closed = false;
  /** When the peer counts as stopped (`stall_clock.ts`). */
  #stall: StallClock;
  /** True while this side holds back (download limit, hashing backlog): not a stall. */
  #holding = false;
  /** Aborts a connect or a wait for the download limit when the link closes. */
  #stop = new AbortController();
  /** How many requests to keep in flight. */
  #window: RequestWindow;
  /** The connection's bytes already counted into the window's rate. */
  #counted = 0;
  /** True once connected: a failure after this is not a failure to connect. */
  #connected = false;
  /** Pieces per `requests`: the peer's `batch` if pieces are small, else 0. */
  #batch = 0;

  /** How the link reached its peer, once connected. */
  route?: LinkRoute;
  /** The sharer's tag for the file, the same at each of its addresses (`welcome`). */
  node?: string;

  /** A link to `address`; nothing happens until {@linkcode run}. */
  constructor(address: Address | PeerAddress, options: PeerLinkOptions) {
    this.address = address;
    this.#options = options;
    this.#stall = new StallClock(options.stallMs ?? PEER_STALL_TIMEOUT_MS);
    this.#window = new RequestWindow({
      pieceSize: options.pieceSize,
      pieceBytes: options.pieceBytes,
      most: options.maxInFlight,
    });
  }

  /** `host:port` of the peer. */
  get label(): string {
    return formatAddress(this.address);
  }

  /** True while connected and useful. */
  get active(): boolean {
    return this.#conn !== undefined && !this.#closed;
  }

  /** True if the link failed because the peer could not be reached at all. */
  get unreachable(): boolean {
    return this.failure !== undefined && !this.#connected;
  }

  /** The link's smallest round trip so far, in ms (Infinity before any). */
  get rttMs(): number {
    return this.#window.rttMs;
  }

  /** True while the peer makes this link wait for an upload slot. */
  get choked(): boolean {
    return this.#choked;
  }

  /** Requests this link keeps in flight now. */
  get window(): number {
    return this.#options.inFlight ?? this.#window.size;
  }

  /**
   * True while this link expects pieces: requests are outstanding, or the
   * peer has it waiting for an upload slot.
   */
  get busy(): boolean {
    return this.#outstanding.size > 0 || this.#choked;
  }

  /**
   * Downloads until the scheduler is over or the peer fails. Never throws:
   * a failure is recorded in {@linkcode failure} and its pieces released.
   */
  async run(): Promise<void> {
    const { scheduler } = this.#options;
    let stopListening: (() => void) | undefined;
    let watchdog: ReturnType<typeof setInterval> | undefined;
    try {
      const started = performance.now();
      this.#conn = await this.#open();
      this.#connected = true;
      // The TCP handshake took one round trip: the first estimate.
      this.#window.roundTrip(performance.now() - started);
      if (this.#closed) return;
      await this.#handshake();
      this.#options.log?.(
        `Connected to ${this.label}: it has ${
          this.#have
            ? `${this.#have.count} of ${this.#options.pieces}`
            : `all ${this.#options.pieces}`
        } pieces${this.#options.within ? " (one file of the folder)" : ""}.`,
      );
      this.#ready = true;
      scheduler.addPeer(this.#have);
      stopListening = scheduler.listen((completed) =>
        this.#onSchedule(completed)
      );
      watchdog = setInterval(() => this.#checkStall(), STALL_CHECK_MS);
      this.#options.onReady?.();
      this.#fill();
      while (!scheduler.over && !this.#closed) {
        await this.#handle(await this.#receive(IDLE_TIMEOUT_MS));
        this.#fill();
      }
    } catch (error) {
      if (!this.#closed) this.failure ??= this.#describe(error);
    } finally {
      clearInterval(watchdog);
      stopListening?.();
      if (this.#ready) scheduler.removePeer(this.#have);
      this.close();
    }
  }

  /** Connects to the peer (see `link_route.ts`), noting the route taken. */
  async #open(): Promise<Connection> {
    const { conn, route } = await openRoute(this.address, {
      signal: this.#stop.signal,
      psk: this.#options.psk,
      connectMs: this.#options.connectMs,
      meet: this.#options.meet,
      log: this.#options.log,
      limits: {
        maxBinaryBytes: Math.max(
          this.#options.pieceSize,
          bitfieldBytes(this.#wirePieces),
        ),
        binaryLimit: (header) => this.#binaryLimit(header),
        // A short piece (a small file's) gets a buffer of its own size, not
        // a whole piece's from the pool.
        binaryBuffer: (length) =>
          this.#ready && length <= this.#options.pieceSize &&
            length * SHORT_PIECE_FRACTION > this.#options.pieceSize
            ? this.#options.buffer?.()
            : undefined,
      },
    });
    this.route = route;
    return conn;
  }

  /** Ends the link, giving its outstanding pieces back. */
  close(): void {
    if (this.#closed && !this.#conn) return;
    this.#closed = true;
    this.#stop.abort();
    this.requeued += this.#releaseAll();
    this.#conn?.close();
    this.#conn = undefined;
  }

  #binaryLimit(header: Record<string, unknown>): number {
    if (header.type === "welcome") return bitfieldBytes(this.#wirePieces);
    const pieces = header.type === "piece" || header.type === "pieces";
    return pieces ? this.#options.pieceSize : 0;
  }

  async #handshake(): Promise<void> {
    const conn = this.#conn!;
    const servePort = this.#options.servePort?.();
    const sent = performance.now();
    await conn.send({
      type: "hello",
      version: PROTOCOL_VERSION,
      id: this.#wireId,
      ...(servePort === undefined ? {} : { port: servePort }),
      agent: USER_AGENT,
      batch: MAX_BATCH_PIECES,
    });
    const reply = await this.#receive(this.#stall.stallMs);
    this.#window.roundTrip(performance.now() - sent);
    this.#counted = conn.bytesReceived;
    this.#window.start();
    if (reply.type === "error") {
      throw new Error(failures.describeRefusal(reply));
    }
    if (reply.type !== "welcome" || reply.id !== this.#wireId) {
      throw new Error(`unexpected "${reply.type}" during handshake`);
    }
    if (reply.pieces !== this.#wirePieces) {
      throw new Error(
        `peer has ${reply.pieces} pieces, expected ${this.#wirePieces}`,
      );
    }
    this.#batch = batches.linkBatch(reply.batch, this.#options);
    this.node = reply.node;
    const have = reply.have && Bitfield.from(reply.have, reply.pieces);
    const span = this.#options.within;
    if (span) {
      // Only the span: the rest of the download is not the peer's file.
      this.#have = new Bitfield(this.#options.pieces);
      for (let i = 0; i < span.pieces; i++) {
        if (!have || have.has(i)) this.#have.set(span.first + i);
      }
    } else if (have && !have.complete) this.#have = have;
  }

  /** The ID the peer knows the file by (a file of a folder: its own). */
  get #wireId(): string {
    return this.#options.within?.id ?? this.#options.id;
  }

  /** Pieces in the file the peer is asked about. */
  get #wirePieces(): number {
    return this.#options.within?.pieces ?? this.#options.pieces;
  }

  /** The download's piece that the peer's piece `index` is. */
  #fromWire(index: number): number {
    return index + (this.#options.within?.first ?? 0);
  }

  /** The peer's piece that the download's piece `index` is. */
  #toWire(index: number): number {
    return index - (this.#options.within?.first ?? 0);
  }

  /**
   * Asks for pieces until `inFlight` are outstanding or none is left, in one
   * write; waits until at least REQUEST_BATCH can go at once (fewer writes
   * and wake-ups on both sides, measured in issue #4).
   */
  #fill(): void {
    if (this.#closed || this.#choked || !this.#ready) return;
    const { scheduler } = this.#options;
    const inFlight = this.window;
    const batch = batches.sendAtOnce(inFlight, this.#batch);
    if (this.#outstanding.size > inFlight - batch) return;
    const requests: number[] = [];
    const { log } = this.#options;
    let doubled: number[] | undefined;
    const patience = this.#options.patienceMs?.() ?? 0;
    while (this.#outstanding.size < inFlight) {
      const index = scheduler.next(this.#have, this.#outstanding, patience);
      if (index === undefined) break;
      if (this.#outstanding.size === 0) this.#stall.waitFromNow();
      // A cancelled copy of it may still come too: both are accepted.
      this.#outstanding.add(index);
      requests.push(this.#toWire(index));
      if (log && scheduler.requesters(index) > 1) (doubled ??= []).push(index);
    }
    if (requests.length === 0) return;
    if (doubled) {
      log?.(
        `Asked ${this.label} too for ${
          doubled.length === 1 ? "piece" : "pieces"
        } ${doubled.join(", ")}, still awaited from a slower peer.`,
      );
    }
    this.#conn?.sendMany(batches.requestMessages(requests, this.#batch))
      .catch(() => this.#sendFailed());
  }

  #onSchedule(completed?: number): void {
    if (this.#closed) return;
    if (this.#options.scheduler.over) {
      // Done or stopped: nothing more to ask; ending the link ends run().
      this.close();
      return;
    }
    if (completed !== undefined && this.#outstanding.has(completed)) {
      // Another peer delivered it first.
      this.#outstanding.delete(completed);
      this.#cancelled.add(completed);
      this.#options.scheduler.release(completed);
      this.#send({ type: "cancel", index: this.#toWire(completed) });
    }
    this.#fill();
  }

  async #handle(message: Message): Promise<void> {
    switch (message.type) {
      case "piece":
        return await this.#onPiece(
          this.#fromWire(message.index),
          message.data,
        );
      case "pieces": {
        const { recycle } = this.#options;
        for (const piece of batches.splitPieces(message, recycle)) {
          await this.#onPiece(this.#fromWire(piece.index), piece.data);
        }
        return;
      }
      case "have": {
        if (message.index >= this.#wirePieces) {
          throw new Error(
            `announced piece ${message.index} of ${this.#wirePieces}`,
          );
        }
        const index = this.#fromWire(message.index);
        if (this.#have?.set(index)) this.#options.scheduler.peerHas(index);
        return;
      }
      case "choke":
        // The peer serves others for a while and dropped our requests.
        if (!this.#choked && this.#outstanding.size > 0) this.#stall.pause();
        this.#choked = true;
        this.#logChoke(this.#releaseAll());
        if (this.#options.leaveWhenChoked) this.close();
        return;
      case "unchoke":
        this.#choked = false;
        this.#stall.waitFromNow();
        this.#options.log?.(`Unchoked by ${this.label}.`);
        return;
      case "error":
        throw new Error(`peer answered: ${message.message || message.code}`);
      default:
        throw new Error(`unexpected "${message.type}" message`);
    }
  }

  async #onPiece(index: number, data: Uint8Array): Promise<void> {
    if (!this.#outstanding.has(index) && !this.#cancelled.has(index)) {
      throw new Error(`sent piece ${index}, which was not asked for`);
    }
    this.#holding = true;
    try {
      await this.#deliver(index, data);
    } finally {
      this.#holding = false;
      this.#stall.pieceArrived();
    }
  }

  async #deliver(index: number, data: Uint8Array): Promise<void> {
    // Still outstanding while waiting, so closing the link gives it back.
    await this.#options.limiter?.take(data.length, this.#stop.signal);
    // Not outstanding any more if it was cancelled or dropped by a choke
    // meanwhile: still used if nobody else delivered it yet.
    const asked = this.#outstanding.delete(index);
    if (!asked) this.#cancelled.delete(index);
    this.bytes += data.length;

    const { scheduler } = this.#options;
    let good = true;
    try {
      if (scheduler.has(index)) {
        // A copy from another peer won the race.
        this.#options.recycle?.(data);
      } else {
        good = await this.#options.onPiece(index, data);
      }
    } finally {
      // After onPiece, so nobody is handed the piece while it is checked.
      if (asked) scheduler.release(index);
    }
    if (!good) {
      this.lied = true;
      throw new Error(`sent a bad copy of piece ${index}`);
    }
  }

  #logChoke(released: number): void {
    this.#options.log?.(
      `Choked by ${this.label}: it serves others for now${
        released > 0
          ? `; re-requesting its ${released} outstanding ${
            released === 1 ? "piece" : "pieces"
          } from other peers`
          : ""
      }.`,
    );
  }

  /** Gives back every outstanding piece (a late copy still counts); how many. */
  #releaseAll(): number {
    const outstanding = [...this.#outstanding];
    this.#outstanding.clear();
    for (const index of outstanding) {
      this.#cancelled.add(index);
      this.#options.scheduler.release(index);
    }
    return outstanding.length;
  }

  /** Feeds the bytes received since the last call to the window's rate. */
  #measure(): void {
    const total = this.#conn?.bytesReceived ?? 0;
    this.#window.received(total - this.#counted);
    this.#counted = total;
    this.#stall.received(total);
  }

  #checkStall(): void {
    this.#measure();
    if (
      this.#closed || this.#choked || this.#holding ||
      this.#outstanding.size === 0
    ) return;
    // A piece still arriving on a slow link is no stall while its bytes
    // keep coming (the connection ends it if they stop for the stall time).
    if (this.#conn?.inFrame) return;
    const waited = this.#stall.stalled();
    if (waited === undefined) return;
    this.failure = `stopped sending (nothing for ${
      Math.round(waited / 1000)
    } s with pieces asked for)`;
    this.close();
  }

  #send(message: Message): void {
    // A failed send closes the connection; the read loop reports it.
    this.#conn?.send(message).catch(() => this.#sendFailed());
  }

  /**
   * A write failed: the peer closed or reset the connection. Said so before
   * the close below makes the pending read fail as "operation canceled".
   */
  #sendFailed(): void {
    if (!this.#closed) this.failure ??= failures.PEER_CLOSED;
    this.#conn?.close();
  }

  async #receive(idleMs: number): Promise<Message> {
    // A piece may take any time on a slow link while its bytes keep coming.
    const message = await this.#conn!.receive({
      idleMs,
      progressMs: this.#stall.stallMs,
    });
    if (message === null) throw new Error(failures.PEER_CLOSED);
    return message;
  }

  /** What went wrong, in words that follow the peer's address. */
  #describe(error: unknown): string {
    if (!this.#connected) return failures.describeConnectFailure(error);
    if (error instanceof Deno.errors.TimedOut) return "stopped sending";
    return failures.describeLinkError(error);
  }
}
