/**
 * Talks to a tracker over one persistent connection. Requests may overlap:
 * they are sent at once and the tracker answers them in order. Every wait is
 * bounded; a tracker that does not answer in time fails the connection.
 *
 * @module
 */

import {
  type Address,
  connect,
  type Connection,
  formatAddress,
} from "../net/connection.ts";
import {
  HandshakeRefusedError,
  PlainPeerError,
} from "../secure/secret_stream.ts";
import {
  CONNECT_TIMEOUT_MS,
  IDLE_TIMEOUT_MS,
  MAX_TRACKER_ANSWER_JSON_BYTES,
  TRACKER_ENV,
  TRACKER_REPLY_TIMEOUT_MS,
} from "../protocol/limits.ts";
import type {
  FileMeta,
  FileSummary,
  Message,
  MessageType,
  PeerAddress,
  SealedFile,
  TrackerStats,
} from "../protocol/messages.ts";
import {
  checkSearchText,
  connectFailure,
  isPeerRefusal,
  TrackerError,
  TrackerUnreachableError,
  userText,
} from "./tracker_errors.ts";
import type {
  Incoming,
  Meeting,
  Reachability,
  RegisterOptions,
  TrackerAddress,
  TrackerClientOptions,
} from "./tracker_types.ts";

export {
  checkSearchText,
  TrackerError,
  TrackerRequestError,
  TrackerUnreachableError,
} from "./tracker_errors.ts";
export type {
  Incoming,
  Meeting,
  Reachability,
  RegisterOptions,
  TrackerAddress,
  TrackerClientOptions,
} from "./tracker_types.ts";

/**
 * Ms a listening client waits for a frame with no request out: longer than
 * the tracker keeps an idle connection, so the tracker's limit is the one
 * that applies (and renewals come far more often).
 */
const LISTEN_IDLE_MS = 2 * IDLE_TIMEOUT_MS;

interface Pending {
  resolve: (reply: Message) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * A connection to a tracker.
 *
 * @example
 * ```ts
 * const client = await TrackerClient.connect({ host: "127.0.0.1", port: 5000 });
 * try {
 *   for (const file of await client.list()) console.log(file.name);
 * } finally {
 *   client.close();
 * }
 * ```
 */
export class TrackerClient {
  #address: Address;
  #conn: Connection;
  #replyMs: number;
  #pending: Pending[] = [];
  #reading = false;
  #failure?: Error;
  #onIncoming?: (incoming: Incoming) => void;

  private constructor(address: Address, conn: Connection, replyMs: number) {
    this.#address = address;
    this.#conn = conn;
    this.#replyMs = replyMs;
  }

  /** Connects to the tracker at `address`; throws {@linkcode TrackerUnreachableError}. */
  static async connect(
    address: Address,
    options: TrackerClientOptions = {},
  ): Promise<TrackerClient> {
    const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_MS;
    try {
      const conn = await connect(address, {
        timeoutMs,
        handshakeMs: timeoutMs,
        psk: (address as TrackerAddress).psk,
        limits: { maxJsonBytes: MAX_TRACKER_ANSWER_JSON_BYTES },
      });
      return new TrackerClient(
        address,
        conn,
        options.replyTimeoutMs ?? TRACKER_REPLY_TIMEOUT_MS,
      );
    } catch (error) {
      throw new TrackerUnreachableError(
        address,
        `Cannot reach tracker at ${formatAddress(address)}: ${
          connectFailure(error, timeoutMs)
        }.${
          error instanceof HandshakeRefusedError ||
            error instanceof PlainPeerError
            ? ""
            : ` Is it running? Set --tracker or ${TRACKER_ENV}.`
        }`,
        { cause: error },
      );
    }
  }

  /**
   * The address this client connects from: the one the tracker records for
   * this host, unless a NAT sits between them.
   */
  get local(): Address {
    return this.#conn.local;
  }

  /**
   * Registers this peer (at `port`, on the address the tracker sees) as a
   * holder of `meta`: of the whole file, or with `options.partial` of the
   * pieces it has so far (it is downloading it). The tracker keeps the
   * registration while this connection stays open and it is renewed.
   */
  async register(
    meta: FileMeta,
    port: number,
    options: RegisterOptions = {},
  ): Promise<void> {
    const message: Message = { type: "register", meta, port };
    if (options.partial) message.partial = true;
    await this.#request(message, "ok");
  }

  /**
   * Registers this peer (at `port`, as {@linkcode register} does) as a
   * holder of a private file: its lookup key and its sealed metadata, which
   * the tracker stores unread and hands to whoever asks for that key. A
   * tracker that already holds metadata under the key keeps its own (the
   * first registered). Renewed by {@linkcode announce} and withdrawn by
   * {@linkcode unregister} with the lookup key in place of an ID.
   */
  async registerSealed(
    file: SealedFile,
    port: number,
    options: RegisterOptions = {},
  ): Promise<void> {
    const message: Message = {
      type: "register-sealed",
      lookup: file.lookup,
      blob: file.blob,
      port,
    };
    if (options.partial) message.partial = true;
    await this.#request(message, "ok");
  }

  /**
   * The private file under `lookup`: its sealed metadata as the tracker
   * holds it (open it with the share's metadata key), who holds the file,
   * and how many of those hold only part of it. Rejects with a
   * {@linkcode TrackerError} `not-found` if no peer has it registered.
   */
  async querySealed(
    lookup: string,
  ): Promise<
    {
      blob: Uint8Array;
      peers: PeerAddress[];
      partial: number;
      observed?: string;
    }
  > {
    const reply = await this.#request(
      { type: "query-sealed", lookup },
      "sealed",
    );
    return {
      blob: reply.blob,
      peers: reply.peers,
      partial: reply.partial ?? 0,
      observed: reply.observed,
    };
  }

  /**
   * Renews registrations (file IDs, or lookup keys of private files);
   * resolves to those the tracker does not know for this peer.
   */
  async announce(ids: string[], port: number): Promise<string[]> {
    const reply = await this.#request(
      { type: "announce", ids, port },
      "announced",
    );
    return reply.unknown;
  }

  /** Withdraws this peer's registration of `id` (a file ID or a lookup key). */
  async unregister(id: string, port: number): Promise<void> {
    await this.#request({ type: "unregister", id, port }, "ok");
  }

  /**
   * The file whose ID is or starts with `idOrPrefix`, and who shares it.
   * `variant` picks among conflicting metadata registered for one ID (0 is
   * the one with most sharers); the answer says how many there are.
   */
  async query(
    idOrPrefix: string,
    options: { variant?: number } = {},
  ): Promise<
    {
      meta: FileMeta;
      peers: PeerAddress[];
      variants: number;
      observed?: string;
    }
  > {
    const reply = await this.#request(
      { type: "query", id: idOrPrefix, variant: options.variant ?? 0 },
      "file",
    );
    return {
      meta: reply.meta,
      peers: reply.peers,
      variants: reply.variants ?? 1,
      observed: reply.observed,
    };
  }

  /** Every file the tracker knows (up to its answer cap). */
  async list(): Promise<FileSummary[]> {
    const reply = await this.#request({ type: "list" }, "files");
    return reply.files;
  }

  /**
   * Files whose name contains `text`, ignoring case. A text over
   * MAX_SEARCH_CHARS is refused before anything is sent.
   */
  async search(text: string): Promise<FileSummary[]> {
    checkSearchText(text);
    const reply = await this.#request({ type: "search", text }, "files");
    return reply.files;
  }

  /**
   * Asks the tracker to connect back to `port` on the address it sees this
   * peer at: whether others can reach this peer directly.
   */
  async reach(
    port: number,
    options: { mapped?: boolean } = {},
  ): Promise<Reachability> {
    const message: Message = { type: "reach", port };
    if (options.mapped) message.mapped = true;
    const reply = await this.#request(message, "reached");
    return {
      observed: { host: reply.host, port: reply.port },
      reachable: reply.reachable,
      keepsPorts: reply.port === this.#conn.local.port,
      ...(reply.relay === undefined
        ? {}
        : { relay: this.#relayAt(reply.relay) }),
    };
  }

  /**
   * Asks the tracker to join this peer to the registered peer at `peer`,
   * which cannot be reached directly; rejects with a {@linkcode
   * TrackerError} if the tracker offers no relay or no longer knows it.
   */
  async meet(
    peer: Address,
    options: { punch?: number } = {},
  ): Promise<Meeting> {
    const message: Message = {
      type: "connect",
      host: peer.host,
      port: peer.port,
    };
    if (options.punch !== undefined) {
      message.punch = options.punch;
      message.local = this.#conn.local.port;
    }
    const reply = await this.#request(message, "connecting");
    return {
      token: tokenBytes(reply.token),
      relay: this.#relayAt(reply.relay),
      ...(reply.punch === undefined ? {} : { punch: reply.punch }),
    };
  }

  /**
   * Answers an {@linkcode Incoming} that offered a hole punch: the port
   * this peer punches from, or none (it only meets at the relay).
   */
  async offerPunch(token: Uint8Array, port?: number): Promise<void> {
    const message: Message = { type: "punch", token: token.toHex() };
    if (port !== undefined) message.port = port;
    await this.#request(message, "ok");
  }

  /**
   * Keeps reading this connection for the tracker's unasked messages: each
   * peer that wants to meet this one through the relay goes to `handler`.
   * Until the connection closes (then requests fail and whoever owns the
   * client connects again).
   */
  listen(handler: (incoming: Incoming) => void): void {
    this.#onIncoming = handler;
    if (!this.#reading && !this.#failure) this.#readReplies();
  }

  /** The tracker's counters. */
  async stats(): Promise<TrackerStats> {
    const reply = await this.#request({ type: "stats" }, "stats-reply");
    return reply.stats;
  }

  /** Closes the connection; requests still waiting reject. Safe to call twice. */
  close(): void {
    this.#fail(
      new TrackerUnreachableError(
        this.#address,
        `The connection to tracker ${formatAddress(this.#address)} was closed.`,
      ),
    );
  }

  /** Sends `message`; resolves to its answer, throwing error replies. */
  #request<T extends MessageType>(
    message: Message,
    expect: T,
  ): Promise<Extract<Message, { type: T }>> {
    if (this.#failure) return Promise.reject(this.#failure);
    const reply = new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(
        () => this.#fail(this.#unreachable(this.#lateText())),
        this.#replyMs,
      );
      this.#pending.push({ resolve, reject, timer });
    });
    this.#conn.send(message).catch((error) =>
      this.#fail(
        error instanceof RangeError
          ? new RangeError(
            `Request too large for the tracker: ${error.message}`,
          )
          : this.#unreachable("the connection broke", error),
      )
    );
    if (!this.#reading) this.#readReplies();
    return reply.then((answer) => this.#check(answer, expect));
  }

  /**
   * Reads answers while requests wait for them, matching them in order;
   * while listening, reads on without them, handing unasked messages over.
   */
  async #readReplies(): Promise<void> {
    this.#reading = true;
    try {
      while (
        (this.#pending.length > 0 || this.#onIncoming) && !this.#failure
      ) {
        const waiting = this.#pending.length > 0;
        const reply = await this.#conn.receive({
          // While only listening, the tracker's own idle limit ends it.
          idleMs: waiting ? this.#replyMs : LISTEN_IDLE_MS,
          deadlineMs: this.#replyMs,
        });
        if (reply === null) {
          throw this.#unreachable("it closed the connection");
        }
        if (reply.type === "incoming") {
          this.#onIncoming?.({
            token: tokenBytes(reply.token),
            host: reply.host,
            relay: this.#relayAt(reply.relay),
            ...(reply.punch === undefined ? {} : { punch: reply.punch }),
          });
          continue;
        }
        if (this.#pending.length === 0) {
          throw this.#unreachable(`it sent "${reply.type}" unasked`);
        }
        const pending = this.#pending.shift()!;
        clearTimeout(pending.timer);
        pending.resolve(reply);
      }
    } catch (error) {
      this.#fail(this.#failureFrom(error));
    } finally {
      this.#reading = false;
      // The read has finished, so nothing is left running on the socket.
      this.#rejectAll();
    }
  }

  /** Turns an `error` reply into a {@linkcode TrackerError}; checks the type. */
  #check<T extends MessageType>(
    reply: Message,
    expect: T,
  ): Extract<Message, { type: T }> {
    if (reply.type === "error" && isPeerRefusal(reply)) {
      const error = new TrackerError(
        reply.code,
        `${
          formatAddress(this.#address)
        } is a peer, not a tracker: point --tracker (or ${TRACKER_ENV}) at the tracker's address.`,
      );
      this.#fail(error);
      throw error;
    }
    if (reply.type === "error") {
      throw new TrackerError(reply.code, userText(reply.message));
    }
    if (reply.type !== expect) {
      const error = this.#unreachable(
        `it sent "${reply.type}" where "${expect}" belongs`,
      );
      this.#fail(error);
      throw error;
    }
    return reply as Extract<Message, { type: T }>;
  }

  /** Marks the connection failed and closes it; waiting requests reject. */
  #fail(error: Error): void {
    if (!this.#failure) this.#failure = error;
    this.#conn.close();
    // While a read is running, it rejects them once it has ended.
    if (!this.#reading) this.#rejectAll();
  }

  #rejectAll(): void {
    if (!this.#failure) return;
    for (const pending of this.#pending.splice(0)) {
      clearTimeout(pending.timer);
      pending.reject(this.#failure);
    }
  }

  #failureFrom(error: unknown): Error {
    if (error instanceof TrackerUnreachableError) return error;
    if (error instanceof Deno.errors.TimedOut) {
      return this.#unreachable(this.#lateText(), error);
    }
    if (error instanceof TypeError || error instanceof RangeError) {
      return this.#unreachable("sent a malformed answer", error);
    }
    return this.#unreachable("the connection broke", error);
  }

  /** The relay at `port` on the tracker's host. */
  #relayAt(port: number): TrackerAddress {
    return { host: this.#address.host, port };
  }

  #lateText(): string {
    return `it did not answer within ${this.#replyMs / 1000} s`;
  }

  #unreachable(detail: string, cause?: unknown): TrackerUnreachableError {
    return new TrackerUnreachableError(
      this.#address,
      `Tracker at ${
        formatAddress(this.#address)
      } stopped responding: ${detail}.`,
      { cause },
    );
  }
}

/** The bytes of a token the protocol checked to be hex. */
function tokenBytes(hex: string): Uint8Array {
  return Uint8Array.fromHex(hex);
}
