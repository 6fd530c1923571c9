/**
 * One downloader's connection to one peer: handshake, then several piece
 * requests in flight at once over the same connection. When the peer fails
 * (refuses, closes, stalls, lies) its outstanding pieces go back to the
 * scheduler for the other peers.
 *
 * @module
 */

import type { BandwidthLimiter } from "./bandwidth.ts";
import {
  type Address,
  connect,
  type Connection,
  formatAddress,
} from "./connection.ts";
import {
  CONNECT_TIMEOUT_MS,
  FRAME_DEADLINE_MS,
  PEER_STALL_TIMEOUT_MS,
  PROTOCOL_VERSION,
  REQUESTS_IN_FLIGHT,
} from "./limits.ts";
import type { Message } from "./messages.ts";
import type { PieceScheduler } from "./piece_scheduler.ts";

/** What a link does with a piece it received. */
export type PieceHandler = (
  index: number,
  data: Uint8Array,
) => Promise<boolean> | boolean;

/** Options for {@linkcode PeerLink}. */
export interface PeerLinkOptions {
  /** Full ID of the file. */
  id: string;
  /** Pieces in the file; the peer must agree. */
  pieces: number;
  /** Bytes in a full piece: no larger binary part is accepted. */
  pieceSize: number;
  /** Supplies the buffer each piece is read into. @default {a new one} */
  buffer?: () => Uint8Array;
  /** Shared by every link of one download. */
  scheduler: PieceScheduler;
  /** Verifies and stores a piece; false means the piece was bad. */
  onPiece: PieceHandler;
  /** Requests kept in flight. @default {REQUESTS_IN_FLIGHT} */
  inFlight?: number;
  /** Ms without data, with requests outstanding, before giving up. @default {PEER_STALL_TIMEOUT_MS} */
  stallMs?: number;
  /** Ms to connect. @default {CONNECT_TIMEOUT_MS} */
  connectMs?: number;
  /**
   * A download limit, shared with the download's other links: after each
   * piece the link waits its turn before it reads or asks for more.
   * @default {no limit}
   */
  limiter?: BandwidthLimiter;
}

/** A download's connection to one peer. */
export class PeerLink {
  /** The peer's address. */
  readonly address: Address;
  /** Piece bytes received from this peer in this run. */
  bytes = 0;
  /** Why the link ended early, if it did. */
  failure?: string;
  #options: PeerLinkOptions;
  #conn?: Connection;
  #outstanding = new Set<number>();
  #closed = false;
  /** Aborts a wait for the download limit when the link closes. */
  #stop = new AbortController();

  /** A link to `address`; nothing happens until {@linkcode run}. */
  constructor(address: Address, options: PeerLinkOptions) {
    this.address = address;
    this.#options = options;
  }

  /** `host:port` of the peer. */
  get label(): string {
    return formatAddress(this.address);
  }

  /** True while connected and useful. */
  get active(): boolean {
    return this.#conn !== undefined && !this.#closed;
  }

  /**
   * Downloads until the scheduler is over or the peer fails. Never throws:
   * a failure is recorded in {@linkcode failure} and its pieces released.
   */
  async run(): Promise<void> {
    try {
      this.#conn = await connect(this.address, {
        timeoutMs: this.#options.connectMs ?? CONNECT_TIMEOUT_MS,
        limits: {
          maxBinaryBytes: this.#options.pieceSize,
          binaryBuffer: this.#options.buffer,
        },
      });
      if (this.#closed) return;
      await this.#handshake();
      await this.#transfer();
    } catch (error) {
      if (!this.#closed) this.failure = describe(error);
    } finally {
      this.close();
    }
  }

  /** Ends the link, giving its outstanding pieces back. */
  close(): void {
    if (this.#closed && !this.#conn) return;
    this.#closed = true;
    this.#stop.abort();
    for (const index of this.#outstanding) {
      this.#options.scheduler.release(index);
    }
    this.#outstanding.clear();
    this.#conn?.close();
    this.#conn = undefined;
  }

  async #handshake(): Promise<void> {
    const conn = this.#conn!;
    await conn.send({
      type: "hello",
      version: PROTOCOL_VERSION,
      id: this.#options.id,
    });
    const reply = await this.#receive();
    if (reply.type === "error") {
      throw new Error(`peer refused: ${reply.message || reply.code}`);
    }
    if (reply.type !== "welcome" || reply.id !== this.#options.id) {
      throw new Error(`unexpected "${reply.type}" during handshake`);
    }
    if (reply.pieces !== this.#options.pieces) {
      throw new Error(
        `peer has ${reply.pieces} pieces, expected ${this.#options.pieces}`,
      );
    }
  }

  async #transfer(): Promise<void> {
    const { scheduler } = this.#options;
    const inFlight = this.#options.inFlight ?? REQUESTS_IN_FLIGHT;
    while (!scheduler.over && !this.#closed) {
      await this.#fill(inFlight);
      if (this.#outstanding.size === 0) {
        await scheduler.waitForWork();
        continue;
      }
      const message = await this.#receive();
      await this.#handle(message);
    }
  }

  async #fill(inFlight: number): Promise<void> {
    while (this.#outstanding.size < inFlight) {
      const index = this.#options.scheduler.next();
      if (index === undefined) return;
      this.#outstanding.add(index);
      await this.#conn!.send({ type: "request", index });
    }
  }

  async #handle(message: Message): Promise<void> {
    if (message.type === "error") {
      throw new Error(`peer answered: ${message.message || message.code}`);
    }
    if (message.type !== "piece" || !this.#outstanding.has(message.index)) {
      throw new Error(`unexpected "${message.type}" message`);
    }
    // Still outstanding while waiting, so closing the link gives it back.
    await this.#options.limiter?.take(message.data.length, this.#stop.signal);
    this.#outstanding.delete(message.index);
    this.bytes += message.data.length;
    if (!await this.#options.onPiece(message.index, message.data)) {
      throw new Error(`sent a bad copy of piece ${message.index}`);
    }
  }

  async #receive(): Promise<Message> {
    const message = await this.#conn!.receive({
      idleMs: this.#options.stallMs ?? PEER_STALL_TIMEOUT_MS,
      deadlineMs: FRAME_DEADLINE_MS,
    });
    if (message === null) throw new Error("peer closed the connection");
    return message;
  }
}

function describe(error: unknown): string {
  if (error instanceof Deno.errors.TimedOut) return "stopped answering";
  if (error instanceof Deno.errors.ConnectionRefused) {
    return "connection refused";
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
