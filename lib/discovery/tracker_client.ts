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
import { HandshakeTimeoutError } from "../net/secure_transport.ts";
import {
  CONNECT_TIMEOUT_MS,
  IDLE_TIMEOUT_MS,
  MAX_SEARCH_CHARS,
  MAX_TRACKER_ANSWER_JSON_BYTES,
  TEAM_SECRET_ENV,
  TRACKER_ENV,
  TRACKER_REPLY_TIMEOUT_MS,
} from "../protocol/limits.ts";
import type {
  ErrorCode,
  FileMeta,
  FileSummary,
  Message,
  MessageType,
  PeerAddress,
  SealedFile,
  TrackerStats,
} from "../protocol/messages.ts";

/** The tracker refused a request; `code` says why, the message is for the user. */
export class TrackerError extends Error {
  /** The tracker's error code. */
  readonly code: ErrorCode;

  /** Creates an error from a tracker's `error` reply. */
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "TrackerError";
    this.code = code;
  }
}

/** The tracker could not be reached, or stopped answering; the message is for the user. */
export class TrackerUnreachableError extends Error {
  /** The tracker's address. */
  readonly address: Address;

  /** Creates an error about the tracker at `address`. */
  constructor(address: Address, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TrackerUnreachableError";
    this.address = address;
  }
}

/**
 * A request the client refuses to send because it breaks a protocol limit
 * (a search text too long); the message is for the user, whose input it was.
 */
export class TrackerRequestError extends RangeError {
  /** Creates an error with a message for the user. */
  constructor(message: string) {
    super(message);
    this.name = "TrackerRequestError";
  }
}

/**
 * Checks a search text against MAX_SEARCH_CHARS, the most a tracker
 * accepts; throws a {@linkcode TrackerRequestError} saying the limit.
 */
export function checkSearchText(text: string): void {
  if (text.length > MAX_SEARCH_CHARS) {
    throw new TrackerRequestError(
      `The search text has ${text.length} characters, over the limit of ${MAX_SEARCH_CHARS}: search for a shorter part of the name.`,
    );
  }
}

/** Options for {@linkcode TrackerClient.register} and {@linkcode TrackerClient.registerSealed}. */
export interface RegisterOptions {
  /** This peer holds only part of the file: it is downloading it. @default {false} */
  partial?: boolean;
}

/** Options for {@linkcode TrackerClient.connect}. */
/**
 * A tracker's address, and the team key it requires (`tracker
 * --secret-file`), if it does: the two travel together wherever a tracker is
 * named, so every connection to it proves the key.
 */
export interface TrackerAddress extends Address {
  /** The team's pre-shared key (from its secret). @default {an open tracker} */
  psk?: Uint8Array;
}

export interface TrackerClientOptions {
  /** Ms to wait for the connection, and again for its encryption handshake. @default {CONNECT_TIMEOUT_MS} */
  timeoutMs?: number;
  /** Ms to wait for each answer. @default {TRACKER_REPLY_TIMEOUT_MS} */
  replyTimeoutMs?: number;
}

/** What a tracker says of this peer after trying to connect back to it. */
export interface Reachability {
  /** The address the tracker sees this peer at (its router's, behind a NAT). */
  observed: Address;
  /** True if the tracker got through to the peer's port. */
  reachable: boolean;
  /** The tracker's relay, if it offers one. */
  relay?: Address;
}

/**
 * A peer that wants to connect to this one through the tracker's relay:
 * meet it there with the token (`nat/relay_client.ts`).
 */
export interface Incoming {
  /** The token both were given. */
  token: Uint8Array;
  /** The other peer's address as the tracker sees it. */
  host: string;
  /** The relay: the tracker's host, the port it named. */
  relay: Address;
}

/** Where to meet a peer the tracker is joining this one to. */
export interface Meeting {
  /** The token both were given. */
  token: Uint8Array;
  /** The relay: the tracker's host, the port it named. */
  relay: Address;
}

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
  async reach(port: number): Promise<Reachability> {
    const reply = await this.#request({ type: "reach", port }, "reached");
    return {
      observed: { host: reply.host, port: reply.port },
      reachable: reply.reachable,
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
  async meet(peer: Address): Promise<Meeting> {
    const reply = await this.#request(
      { type: "connect", host: peer.host, port: peer.port },
      "connecting",
    );
    return {
      token: tokenBytes(reply.token),
      relay: this.#relayAt(reply.relay),
    };
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

/**
 * True for the `error` a peer server answers a tracker request with: it
 * wants `hello` first, or its frame limits (no binary part, a small JSON
 * part) refuse the request before reading it. A tracker words its own
 * refusals differently (`Bad request: …`, `A tracker does not answer …`),
 * so neither can come from one.
 */
function isPeerRefusal(reply: Extract<Message, { type: "error" }>): boolean {
  return reply.code === "bad-request" &&
    /^(Expected "hello", got |Frame )/.test(reply.message);
}

/** Why a connect failed, in a few words. */
function connectFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof HandshakeRefusedError) {
    return error.reason === "key-required"
      ? `it is a team tracker and needs the team's secret (--secret-file or ${TEAM_SECRET_ENV})`
      : error.reason === "unknown-key"
      ? "the team secret given does not match this tracker's"
      : "it speaks another version of p2p's encryption; one of you needs to upgrade";
  }
  if (error instanceof PlainPeerError) {
    return "it runs an older p2p that does not encrypt; upgrade the tracker";
  }
  if (error instanceof Deno.errors.ConnectionRefused) {
    return "connection refused";
  }
  if (error instanceof HandshakeTimeoutError) {
    return `no answer to the encryption handshake within ${
      error.limitMs / 1000
    } s (is it a p2p tracker?)`;
  }
  if (error instanceof Deno.errors.TimedOut) {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  if (error instanceof Deno.errors.NotFound) return "host not found";
  if (error instanceof Deno.errors.PermissionDenied) {
    return "network access not permitted";
  }
  const text = error instanceof Error ? error.message : String(error);
  return userText(text).replace(/\.$/, "");
}

/** Text from the network made safe to print: no control characters, bounded. */
function userText(text: string): string {
  // deno-lint-ignore no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?").trim();
  const short = clean.length > 300 ? `${clean.slice(0, 300)}…` : clean;
  if (short === "") return "The tracker refused the request.";
  return /[.!?…]$/.test(short) ? short : `${short}.`;
}
