/**
 * The sharing side of the peer protocol: accepts downloaders, answers
 * `hello` with `welcome` for a shared file, then serves pipelined piece
 * requests in order. Bad input closes that one connection; the server keeps
 * serving everyone else.
 *
 * Accepting within the connection caps is {@linkcode startListener}'s job,
 * and serving one downloader's requests is an {@linkcode UploadSession}'s;
 * this module answers `hello` between the two and holds what every session
 * shares.
 *
 * @module
 */

import { BandwidthLimiter } from "../util/bandwidth.ts";
import {
  type Address,
  type Connection,
  formatAddress,
} from "../net/connection.ts";
import { describeError } from "../net/describe_error.ts";
import { type Listener, startListener } from "../net/listener.ts";
import { relayOf, viaRelay } from "../net/relayed_socket.ts";
import type { NamedKey } from "../net/secure_transport.ts";
import {
  DEFAULT_PEER_PORT,
  FRAME_DEADLINE_MS,
  IDLE_TIMEOUT_MS,
  MAX_OUTSTANDING_REQUESTS,
  PROTOCOL_VERSION,
} from "../protocol/limits.ts";
import type { ErrorCode, FileMeta, Message } from "../protocol/messages.ts";
import type { PieceSource } from "../storage/piece_source.ts";
import {
  type RelayedDownloader,
  type UploadHost,
  UploadSession,
} from "./upload_session.ts";
import { type Downloader, Downloaders } from "./_downloaders.ts";
import { NodeTags } from "./node_tags.ts";
import { SLOT_TURN_MS, UPLOAD_SLOTS, UploadSlots } from "./upload_slots.ts";

export { HEADROOM_BYTES } from "./upload_session.ts";
export { type Downloader, RELAYED_RETURN_MS } from "./_downloaders.ts";

/** Time a new connection has to send `hello` (libtorrent uses 10 s too). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Time allowed for a last `error` reply to go out before closing anyway. */
export const CLOSE_FLUSH_TIMEOUT_MS = 1_000;
/**
 * Largest JSON part a peer server reads: `hello` and `request` are under
 * 200 bytes, so a downloader cannot make it buffer 64 KiB per connection.
 */
export const MAX_PEER_REQUEST_BYTES = 1024;
/** Default listening host of a peer server: every interface. */
export const DEFAULT_PEER_HOST = "0.0.0.0";
/**
 * Ms a relayed socket is remembered as such between `adopt` and its
 * `hello` (the encryption handshake comes between): one never served is
 * forgotten after this.
 */
const ADOPTED_MEMORY_MS = 60_000;

/** Options for {@linkcode startPeerServer}. */
export interface PeerServerOptions {
  /** Interface to listen on. @default {DEFAULT_PEER_HOST} */
  host?: string;
  /** Port to listen on; 0 picks a free one. @default {DEFAULT_PEER_PORT} */
  port?: number;
  /** Finds what is offered under this full ID (a whole or partial file), or undefined. */
  lookup: (id: string) => PieceSource | undefined;
  /**
   * The keys of the private files offered, named by their lookup keys: a
   * downloader proves one in the handshake. @default {none}
   */
  keys?: () => Iterable<NamedKey>;
  /**
   * The name of the key a connection must have proved to get the file `id`
   * (a private file's lookup key), or undefined for a public file.
   * @default {every file is public}
   */
  keyFor?: (id: string) => string | undefined;
  /**
   * The metadata a `meta-request` for `id` is answered with, given the key
   * the connection proved (a private file's lookup key), or undefined when
   * that is not shared to it. @default {no metadata is given}
   */
  metaFor?: (id: string, key: string | undefined) => FileMeta | undefined;
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
  /**
   * Downloaders past the handshake right now (choked ones too), oldest
   * first; the connections of one host to one file count as one, and a
   * relayed downloader between two connections is still one for a while
   * (`RELAYED_RETURN_MS`).
   */
  downloaders(): Downloader[];
  /** Connections open right now. */
  readonly connections: number;
  /**
   * Serves a socket that reached this peer another way (a relay or a hole
   * punch joined it to the downloader at `remote`, port 0 when unknown)
   * as if it had been accepted. One a relay joined (`relayOf`) names the
   * downloader by `remote`'s host: its other end is the relay.
   */
  adopt(raw: Deno.Conn, remote: Address): void;
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
  return new Server(options, slots, limiter);
}

class Server implements PeerServer, UploadHost {
  readonly address: Address;
  uploaded = 0;
  #listener: Listener;
  #options: PeerServerOptions;
  #perFile = new Map<string, number>();
  #downloaders = new Downloaders();
  /** Relayed sockets adopted and not yet served, by their two ends. */
  #relayed = new Map<string, RelayedDownloader & { at: number }>();
  /** The downloader each relayed connection being served is from. */
  #relayedConns = new WeakMap<Connection, RelayedDownloader>();
  /** Receives one line per notable event; undefined when not logging. */
  readonly log?: (line: string) => void;
  /** Shared by every connection, so the limit holds for the process. */
  readonly limiter?: BandwidthLimiter;
  /** Upload slots shared by every connection. */
  readonly slots: UploadSlots;
  /** This server's tag for each file, in `welcome`. */
  readonly tags = new NodeTags();

  constructor(
    options: PeerServerOptions,
    slots: UploadSlots,
    limiter?: BandwidthLimiter,
  ) {
    this.#options = options;
    this.log = options.log;
    this.slots = slots;
    this.limiter = limiter;
    this.#listener = startListener({
      host: options.host ?? DEFAULT_PEER_HOST,
      port: options.port ?? DEFAULT_PEER_PORT,
      serve: (conn) => this.#serve(conn),
      refuse: (conn) =>
        this.fail(conn, "busy", "Too many connections; try later"),
      // A peer server never receives a binary part, so refuse any at once.
      connection: {
        maxBinaryBytes: 0,
        maxJsonBytes: MAX_PEER_REQUEST_BYTES,
        writeDeadlineMs: options.writeDeadlineMs,
      },
      secure: { role: "peer", keys: options.keys },
      maxConnections: options.maxConnections,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress,
      log: options.log,
    });
    this.address = this.#listener.address;
  }

  get connections(): number {
    return this.#listener.connections;
  }

  adopt(raw: Deno.Conn, remote: Address): void {
    const relay = relayOf(raw);
    if (relay) {
      const now = performance.now();
      // One whose handshake failed is never served: forgotten in time.
      for (const [key, { at }] of this.#relayed) {
        if (now - at > ADOPTED_MEMORY_MS) this.#relayed.delete(key);
      }
      const key = endsOf(raw.localAddr, raw.remoteAddr);
      this.#relayed.set(key, { host: remote.host, relay, at: now });
    }
    this.#listener.adopt(raw, remote);
  }

  uploadedFor(id: string): number {
    return this.#perFile.get(id) ?? 0;
  }

  downloaders(): Downloader[] {
    return this.#downloaders.list();
  }

  async close(): Promise<void> {
    await this.#listener.close();
    this.limiter?.close();
  }

  async #serve(conn: Connection): Promise<void> {
    const relayed = this.#relayedFor(conn);
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
    if (first.type === "meta-request") {
      return await this.#giveMeta(conn, first.id);
    }
    const file = await this.#handshake(conn, first);
    if (!file) return;
    const { agent, batch } = first.type === "hello" ? first : {};
    await this.#upload(
      new UploadSession(this, conn, file, { batch, relayed }),
      agent,
    );
  }

  /** Runs one downloader's session, counted among the downloaders meanwhile. */
  async #upload(session: UploadSession, agent?: string): Promise<void> {
    const started = performance.now();
    const who = session.who;
    this.log?.(
      `Serving ${session.meta.name} to ${who}${agent ? ` (${agent})` : ""}.`,
    );
    this.#downloaders.add(session);
    try {
      await session.run();
    } finally {
      this.#downloaders.remove(session);
      this.log?.(
        `Finished serving ${session.meta.name} to ${who}: sent ${session.sent} bytes in ${
          ((performance.now() - started) / 1000).toFixed(1)
        } s.`,
      );
    }
  }

  /** The downloader a relay joined to `conn`, if one did (see `adopt`). */
  #relayedFor(conn: Connection): RelayedDownloader | undefined {
    const key = endsOf(conn.local, conn.remote);
    const relayed = this.#relayed.get(key);
    if (!relayed) return undefined;
    this.#relayed.delete(key);
    const downloader = { host: relayed.host, relay: relayed.relay };
    this.#relayedConns.set(conn, downloader);
    return downloader;
  }

  /**
   * The other end of `conn` as the log names it: its address, or for one a
   * relay joined to this peer, its host via the relay.
   */
  #who(conn: Connection): string {
    const relayed = this.#relayedConns.get(conn);
    return relayed
      ? viaRelay(relayed.host, relayed.relay)
      : formatAddress(conn.remote);
  }

  /**
   * Answers a `meta-request` (a getter that found this peer without a
   * tracker) with the file's metadata, or the `not-shared` a `hello` would
   * get; the connection then ends.
   */
  async #giveMeta(conn: Connection, id: string): Promise<void> {
    const meta = this.#options.metaFor?.(id, conn.key);
    if (!meta) {
      return await this.#refuse(
        conn,
        "not-shared",
        `File ${id} is not shared here`,
      );
    }
    this.log?.(
      `Sent the metadata of ${meta.name} to ${this.#who(conn)}.`,
    );
    await sendBriefly(conn, { type: "meta", meta });
  }

  /** Answers `hello`; returns the file to serve, or undefined (and replies). */
  async #handshake(
    conn: Connection,
    hello: Message,
  ): Promise<PieceSource | undefined> {
    if (hello.type !== "hello") {
      await this.#refuse(
        conn,
        "bad-request",
        `Expected "hello", got "${hello.type}"`,
      );
      return undefined;
    }
    if (hello.version !== PROTOCOL_VERSION) {
      await this.#refuse(
        conn,
        "bad-request",
        `Protocol version ${hello.version} is not supported; this peer speaks ${PROTOCOL_VERSION}`,
      );
      return undefined;
    }
    const file = this.#options.lookup(hello.id);
    const key = this.#options.keyFor?.(hello.id);
    // A private file is not there for a connection without its key: the
    // same answer as for a file not shared at all.
    if (!file || file.closed || (key !== undefined && key !== conn.key)) {
      await this.#refuse(
        conn,
        "not-shared",
        `File ${hello.id} is not shared here`,
      );
      return undefined;
    }
    if (hello.port !== undefined) {
      // Through a relay, the socket's other end is the relay's host.
      const host = this.#relayedConns.get(conn)?.host ?? conn.remote.host;
      this.#options.onPeer?.(hello.id, { host, port: hello.port });
    }
    return file;
  }

  /** Refuses a handshake: logs why and replies with one `error`. */
  #refuse(conn: Connection, code: ErrorCode, message: string): Promise<void> {
    this.log?.(`Refused ${this.#who(conn)}: ${message}.`);
    return this.fail(conn, code, message);
  }

  /** Replies to bad input from the remote end when it deserves a reply. */
  async failOnInput(conn: Connection, error: unknown): Promise<void> {
    if (conn.closed || !isDecodeError(error)) {
      // Timeouts, resets and truncated frames: nothing useful to say.
      if (!conn.closed) {
        this.log?.(`Closed ${this.#who(conn)}: ${describeError(error)}`);
      }
      return;
    }
    this.log?.(`Bad input from ${this.#who(conn)}: ${describeError(error)}`);
    await this.fail(conn, "bad-request", describeError(error));
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
    this.log?.(`Stopped offering "${file.meta.name}": ${reason}`);
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
}

/** A socket's two ends as one key (unique among open sockets). */
function endsOf(local: Deno.Addr | Address, remote: Deno.Addr | Address) {
  return `${nameOf(local)} ${nameOf(remote)}`;
}

function nameOf(addr: Deno.Addr | Address): string {
  if ("host" in addr) return formatAddress(addr);
  return "hostname" in addr
    ? formatAddress({ host: addr.hostname, port: addr.port })
    : addr.transport;
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
