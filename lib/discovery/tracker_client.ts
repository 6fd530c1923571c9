/**
 * Talks to a tracker over one persistent connection. Requests may overlap:
 * they are sent at once and the tracker answers them in order. Every wait is
 * bounded; a tracker that does not answer in time fails the connection.
 * This file is what each request means; `_tracker_connection.ts` is how
 * requests and answers pass over the connection.
 *
 * @module
 */

import { RUNNING_HINT } from "./tracker_trouble.ts";
import {
  type Address,
  connect,
  type Connection,
  formatAddress,
} from "../net/connection.ts";
import {
  CONNECT_TIMEOUT_MS,
  MAX_TRACKER_ANSWER_JSON_BYTES,
  TRACKER_REPLY_TIMEOUT_MS,
} from "../protocol/limits.ts";
import type {
  FileList,
  FileMeta,
  FileSummary,
  Message,
  PeerAddress,
  SealedFile,
  TrackerStats,
} from "../protocol/messages.ts";
import {
  checkSearchText,
  connectFailure,
  connectMayPass,
  connectReached,
  TrackerUnreachableError,
} from "./tracker_errors.ts";
import type {
  Incoming,
  Meeting,
  Reachability,
  RegisterOptions,
  TrackerAddress,
  TrackerClientOptions,
} from "./tracker_types.ts";
import {
  type IncomingMessage,
  TrackerConnection,
} from "./_tracker_connection.ts";

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
  #conn: TrackerConnection;

  private constructor(address: Address, conn: TrackerConnection) {
    this.#address = address;
    this.#conn = conn;
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
      const replyMs = options.replyTimeoutMs ?? TRACKER_REPLY_TIMEOUT_MS;
      return new TrackerClient(
        address,
        new TrackerConnection(address, conn, replyMs),
      );
    } catch (error) {
      // Something answered (a refused handshake, not a tracker): it runs,
      // but cannot be used as asked.
      const reached = connectReached(error);
      const mayPass = connectMayPass(error);
      throw new TrackerUnreachableError(
        address,
        `Cannot ${reached ? "use" : "reach"} tracker at ${
          formatAddress(address)
        }: ${connectFailure(error, timeoutMs, address.host)}.${
          mayPass ? RUNNING_HINT : ""
        }`,
        { cause: error, transient: mayPass },
      );
    }
  }

  /**
   * A client over `connection`, an encrypted connection to the tracker at
   * `address` that the caller opened itself (from a chosen source address,
   * say: `connect` cannot bind one). The client owns it from now on; open
   * it with `limits.maxJsonBytes` at MAX_TRACKER_ANSWER_JSON_BYTES, as
   * {@linkcode connect} does, or large answers fail it.
   *
   * @example
   * ```ts
   * const connection = await openSecure(socket, { limits: { compact: true } });
   * const client = TrackerClient.over(connection, { host: "127.0.0.1", port: 5000 });
   * ```
   */
  static over(
    connection: Connection,
    address: Address,
    options: Pick<TrackerClientOptions, "replyTimeoutMs"> = {},
  ): TrackerClient {
    const replyMs = options.replyTimeoutMs ?? TRACKER_REPLY_TIMEOUT_MS;
    return new TrackerClient(
      address,
      new TrackerConnection(address, connection, replyMs),
    );
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
    if (options.unlisted) message.unlisted = true;
    await this.#conn.request(message, "ok");
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
    await this.#conn.request(message, "ok");
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
    const reply = await this.#conn.request(
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
   * The peers of the private file under `lookup`, without its sealed
   * metadata again (as {@linkcode queryPeers}); a tracker too old for that
   * answers with the metadata too, which is taken as well.
   */
  async querySealedPeers(
    lookup: string,
  ): Promise<{ id: string; peers: PeerAddress[]; observed?: string }> {
    const reply = await this.#conn.request(
      { type: "query-sealed", lookup, peersOnly: true },
      ["peers", "sealed"],
    );
    return {
      id: reply.type === "peers" ? reply.id : reply.lookup,
      peers: reply.peers,
      observed: reply.observed,
    };
  }

  /**
   * Renews registrations (file IDs, or lookup keys of private files);
   * resolves to those the tracker does not know for this peer.
   */
  async announce(ids: string[], port: number): Promise<string[]> {
    const reply = await this.#conn.request(
      { type: "announce", ids, port },
      "announced",
    );
    return reply.unknown;
  }

  /** Withdraws this peer's registration of `id` (a file ID or a lookup key). */
  async unregister(id: string, port: number): Promise<void> {
    await this.#conn.request({ type: "unregister", id, port }, "ok");
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
    const reply = await this.#conn.request(
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

  /**
   * The peers of file `id` (full) and its variant `options.variant`,
   * without its metadata again: for a download that has it and asks for
   * more peers. A tracker too old for that answers with the metadata too,
   * which is taken as well.
   */
  async queryPeers(
    id: string,
    options: { variant?: number } = {},
  ): Promise<{ id: string; peers: PeerAddress[]; observed?: string }> {
    const reply = await this.#conn.request(
      {
        type: "query",
        id,
        variant: options.variant ?? 0,
        peersOnly: true,
      },
      ["peers", "file"],
    );
    return {
      id: reply.type === "peers" ? reply.id : reply.meta.id,
      peers: reply.peers,
      observed: reply.observed,
    };
  }

  /**
   * Every file the tracker knows (up to its answer cap), with `more`: how
   * many it left out, if it says.
   */
  async list(): Promise<FileList> {
    const reply = await this.#conn.request({ type: "list" }, "files");
    return withMore(reply.files, reply.more);
  }

  /**
   * Files whose name contains `text`, ignoring case. A text over
   * MAX_SEARCH_CHARS is refused before anything is sent. With `more`, as
   * {@linkcode list}.
   */
  async search(text: string): Promise<FileList> {
    checkSearchText(text);
    const reply = await this.#conn.request({ type: "search", text }, "files");
    return withMore(reply.files, reply.more);
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
    const reply = await this.#conn.request(message, "reached");
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
    const reply = await this.#conn.request(message, "connecting");
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
    await this.#conn.request(message, "ok");
  }

  /**
   * Keeps reading this connection for the tracker's unasked messages: each
   * peer that wants to meet this one through the relay goes to `handler`.
   * Until the connection closes (then requests fail and whoever owns the
   * client connects again).
   */
  listen(handler: (incoming: Incoming) => void): void {
    this.#conn.listen((message) => handler(this.#incoming(message)));
  }

  /**
   * Resolves once the connection has closed, by either side (noticed at
   * once while {@linkcode listen}ing, else at the next request).
   */
  get closed(): Promise<void> {
    return this.#conn.closed;
  }

  /** The tracker's counters. */
  async stats(): Promise<TrackerStats> {
    const reply = await this.#conn.request({ type: "stats" }, "stats-reply");
    return reply.stats;
  }

  /** Closes the connection; requests still waiting reject. Safe to call twice. */
  close(): void {
    this.#conn.close();
  }

  /** An unasked `incoming` message as what {@linkcode listen} hands over. */
  #incoming(message: IncomingMessage): Incoming {
    return {
      token: tokenBytes(message.token),
      host: message.host,
      relay: this.#relayAt(message.relay),
      ...(message.punch === undefined ? {} : { punch: message.punch }),
    };
  }

  /** The relay at `port` on the tracker's host. */
  #relayAt(port: number): TrackerAddress {
    return { host: this.#address.host, port };
  }
}

/** The bytes of a token the protocol checked to be hex. */
function tokenBytes(hex: string): Uint8Array {
  return Uint8Array.fromHex(hex);
}

/** `files` as a {@linkcode FileList}, carrying `more` when it is over 0. */
function withMore(files: FileSummary[], more = 0): FileList {
  const list: FileList = files;
  if (more > 0) list.more = more;
  return list;
}
