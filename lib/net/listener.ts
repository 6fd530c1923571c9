/**
 * A TCP listener that hands each accepted socket, as a {@linkcode Connection},
 * to a server's `serve` function, within caps on connections open in total
 * and from one address. A connection over a cap is told why (by the server's
 * `refuse`) and closed, without counting as open. Accepting is the one place
 * where an incoming socket becomes a `Connection`: after the encryption
 * handshake (`secure_transport.ts`), which counts against the caps too.
 *
 * @module
 */

import {
  type Address,
  Connection,
  type ConnectionOptions,
  formatAddress,
} from "./connection.ts";
import { describeError } from "./describe_error.ts";
import { relayOf, viaRelay } from "./relayed_socket.ts";
import { closeQuietly } from "../util/close_quietly.ts";
import { unmapIPv4 } from "./address.ts";
import { sleep } from "../util/sleep.ts";
import { secureAccept, type SecureAcceptOptions } from "./secure_transport.ts";
import {
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_ADDRESS,
  MAX_PENDING_HANDSHAKES,
  MAX_PENDING_HANDSHAKES_PER_ADDRESS,
} from "../protocol/limits.ts";
import { Admission, type RefusalReason, type Ticket } from "./_admission.ts";

export { addressGroup, type RefusalReason } from "./_admission.ts";

/**
 * Connections over a cap that may be in their handshake at once, to be told
 * why they are refused; past it, more are closed without a word (each
 * telling costs a key exchange and may take the handshake's time-out).
 */
export const REFUSALS_AT_ONCE = 32;

/** How each refusal is logged. */
const REFUSAL_WORDS: Record<RefusalReason, string> = {
  "full": "too many connections",
  "address-full": "too many connections from its address",
  "handshakes": "too many connections in their handshake",
  "handshake-failed": "its handshake failed",
  "evicted": "closed to make room for another address",
};

/** Pause before accepting again after `accept()` failed (e.g. out of file descriptors). */
export const ACCEPT_RETRY_MS = 100;

/** Options for {@linkcode startListener}. */
export interface ListenerOptions {
  /** Interface to listen on. */
  host: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /**
   * Serves one admitted connection until it ends; the connection is closed
   * and stops counting against the caps once this settles. A throw is
   * logged as the reason the connection closed, and ends only that one.
   */
  serve: (conn: Connection) => Promise<void>;
  /**
   * Tells a connection over a cap why it is refused (it is closed right
   * after). @default {close without a word}
   */
  refuse?: (conn: Connection) => Promise<void>;
  /** Frame limits and send deadline of every accepted connection. @default {Connection's defaults} */
  connection?: ConnectionOptions;
  /** Keys connecting sides may prove they hold, in the handshake. @default {none} */
  secure?: SecureAcceptOptions;
  /** Connections open at once. @default {MAX_CONNECTIONS} */
  maxConnections?: number;
  /**
   * Connections open at once from one address (an IPv6 /64 counts as one).
   * @default {MAX_CONNECTIONS_PER_ADDRESS}
   */
  maxConnectionsPerAddress?: number;
  /**
   * Connections from one address (or /64) in their handshake at once; more
   * are closed unanswered. @default {MAX_PENDING_HANDSHAKES_PER_ADDRESS}
   */
  maxPendingPerAddress?: number;
  /** Connections in their handshake at once, in all. @default {MAX_PENDING_HANDSHAKES} */
  maxPending?: number;
  /**
   * Called for each connection turned away or closed for a cap (and each
   * failed handshake), with why and the remote host. @default {nothing}
   */
  onRefused?: (reason: RefusalReason, host: string) => void;
  /**
   * Called each time `accept()` fails for want of file descriptors (the
   * process's open-file limit, or the system's), with the connections held
   * then. Accepting is tried again after ACCEPT_RETRY_MS; meanwhile new
   * connections wait in the system's queue. @default {nothing}
   */
  onOutOfFiles?: (connections: number) => void;
  /** Receives one line per notable event. @default {no logging} */
  log?: (line: string) => void;
}

/** A running listener. */
export interface Listener {
  /** The address it listens on (with the real port when 0 was asked). */
  readonly address: Address;
  /** Connections being served right now (refused ones not counted). */
  readonly connections: number;
  /** Of {@linkcode connections}, those still in their handshake. */
  readonly pending: number;
  /**
   * Admits a socket that did not come through `accept` (one a relay joined
   * to a peer at `remote`) as if it had: the same caps, handshake and
   * `serve`.
   */
  adopt(raw: Deno.Conn, remote: Address): void;
  /** Stops listening, closes every connection and waits for them to end. */
  close(): Promise<void>;
}

/**
 * Listens on `options.host`:`options.port` and serves every connection the
 * caps admit with `options.serve`.
 *
 * @example
 * ```ts
 * // An echo server: every message goes back as it came.
 * const listener = startListener({
 *   host: "127.0.0.1",
 *   port: 0,
 *   serve: async (conn) => {
 *     let message;
 *     while ((message = await conn.receive()) !== null) await conn.send(message);
 *   },
 * });
 * console.log(`Listening on port ${listener.address.port}`);
 * await listener.close();
 * ```
 */
export function startListener(options: ListenerOptions): Listener {
  const listener = listenOn({ host: options.host, port: options.port });
  return new CappedListener(listener, options);
}

/**
 * Listening on `address` failed: the system's error is the `cause` (an
 * address not on this machine, a port in use, a name that does not
 * resolve), and `address` is what was asked for, so the user can be told
 * which `--host` or `--port` to change.
 */
export class ListenError extends Error {
  /** The address that could not be listened on. */
  readonly address: Address;

  /** Creates an error about `address`, caused by the system's `cause`. */
  constructor(address: Address, cause: unknown) {
    super(
      `Cannot listen on ${formatAddress(address)}: ${describeError(cause)}`,
      { cause },
    );
    this.name = "ListenError";
    this.address = address;
  }
}

/**
 * Opens a TCP listener on `address`; throws a {@linkcode ListenError}
 * (whose `cause` is the system's error) when it cannot.
 *
 * @example
 * ```ts
 * using listener = listenOn({ host: "127.0.0.1", port: 0 });
 * console.log(listener.addr);
 * ```
 */
export function listenOn(address: Address): Deno.TcpListener {
  try {
    return Deno.listen({ hostname: address.host, port: address.port });
  } catch (error) {
    throw new ListenError(address, error);
  }
}

/**
 * Accepts connections on `listener` and hands each to `handle` until
 * `signal` aborts or the listener closes. A failed `accept()` (out of file
 * descriptors, say: `onOutOfFiles` is told) is logged and tried again after
 * ACCEPT_RETRY_MS; a connection accepted as it closes is closed.
 */
export async function acceptEach(
  listener: Deno.TcpListener,
  handle: (conn: Deno.TcpConn) => void,
  options: {
    signal: AbortSignal;
    log?: (line: string) => void;
    onOutOfFiles?: () => void;
  },
): Promise<void> {
  const { signal } = options;
  for (;;) {
    let conn: Deno.TcpConn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (signal.aborted || error instanceof Deno.errors.BadResource) return;
      options.log?.(`Accept failed: ${describeError(error)}`);
      if (isOutOfFiles(error)) options.onOutOfFiles?.();
      // Give the file descriptors time to come back.
      await sleep(ACCEPT_RETRY_MS, signal).catch(() => {});
      continue;
    }
    if (signal.aborted) {
      conn.close();
      return;
    }
    handle(conn);
  }
}

/**
 * True for the errors of a process (EMFILE) or a system (ENFILE) that has
 * no file descriptor left.
 */
function isOutOfFiles(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "EMFILE" || code === "ENFILE";
}

/** The remote address of an accepted socket; undefined (and closed) if it has none. */
function remoteOf(raw: Deno.Conn): Address | undefined {
  try {
    const addr = raw.remoteAddr as Deno.NetAddr;
    return { host: unmapIPv4(addr.hostname), port: addr.port };
  } catch {
    raw.close();
    return undefined;
  }
}

/**
 * The peer on `raw` (at `remote`) as the log names it: for a socket a relay
 * joined to it, its host via the relay (the socket's other end is the
 * relay); for another adopted one that came without a port (a hole
 * punch), its host and the socket's remote port.
 */
function nameOf(raw: Deno.Conn, remote: Address): string {
  const relay = relayOf(raw);
  if (relay) return viaRelay(remote.host, relay);
  if (remote.port !== 0) return formatAddress(remote);
  try {
    const { port } = raw.remoteAddr as Deno.NetAddr;
    return formatAddress({ host: remote.host, port });
  } catch {
    // Closed already: the host is all there is.
    return remote.host;
  }
}

class CappedListener implements Listener {
  readonly address: Address;
  #listener: Deno.TcpListener;
  #options: ListenerOptions;
  /** Connections being served, and sockets still in their handshake. */
  #open = new Set<{ close(): void }>();
  /** Connections over a cap still being told why. */
  #refusing = 0;
  #admission: Admission;
  /** Sockets being admitted or served, and who waits for them to end. */
  #running = 0;
  #drained?: () => void;
  #whenDrained?: Promise<void>;
  #accepting: Promise<void>;
  #closing = new AbortController();

  constructor(listener: Deno.TcpListener, options: ListenerOptions) {
    this.#listener = listener;
    this.#options = options;
    const addr = listener.addr as Deno.NetAddr;
    this.address = { host: addr.hostname, port: addr.port };
    this.#admission = new Admission({
      maxConnections: options.maxConnections ?? MAX_CONNECTIONS,
      maxPerAddress: options.maxConnectionsPerAddress ??
        MAX_CONNECTIONS_PER_ADDRESS,
      maxPendingPerAddress: options.maxPendingPerAddress ??
        MAX_PENDING_HANDSHAKES_PER_ADDRESS,
      maxPending: options.maxPending ?? MAX_PENDING_HANDSHAKES,
    });
    this.#accepting = acceptEach(
      listener,
      (conn) => this.#admit(conn),
      {
        signal: this.#closing.signal,
        log: (line) => this.#log(line),
        onOutOfFiles: () => options.onOutOfFiles?.(this.#open.size),
      },
    );
  }

  get connections(): number {
    return this.#open.size;
  }

  get pending(): number {
    return this.#admission.pending;
  }

  adopt(raw: Deno.Conn, remote: Address): void {
    if (this.#closing.signal.aborted) {
      closeQuietly(raw);
      return;
    }
    this.#admit(raw, remote);
  }

  async close(): Promise<void> {
    if (!this.#closing.signal.aborted) {
      this.#closing.abort();
      try {
        this.#listener.close();
      } catch {
        // Already closed.
      }
      for (const conn of this.#open) closeQuietly(conn);
    }
    await this.#accepting;
    if (this.#running > 0) {
      this.#whenDrained ??= new Promise((resolve) => this.#drained = resolve);
      await this.#whenDrained;
    }
  }

  /**
   * Admits and serves one socket; never rejects. One async function, and no
   * promise chained to it: each would be held as long as the connection.
   */
  async #admit(raw: Deno.Conn, given?: Address): Promise<void> {
    this.#running++;
    try {
      const remote = given ?? remoteOf(raw);
      if (!remote) return;
      const { host } = remote;
      const who = nameOf(raw, remote);
      // Counted from the start: a handshake in progress holds a place too.
      let open: { close(): void } = raw;
      const admitted = this.#admission.enter(host, () => {
        this.#refused("evicted", host, who);
        closeQuietly(open);
      });
      if (typeof admitted === "string") {
        this.#refused(admitted, host, who);
        return await this.#refuse(raw, who, admitted);
      }
      const ticket: Ticket = admitted;
      let pending = true;
      this.#open.add(open);
      try {
        const conn = await this.#secure(raw, who, host);
        this.#admission.handshaken(ticket);
        pending = false;
        if (!conn || this.#closing.signal.aborted) return;
        this.#open.delete(open);
        this.#open.add(open = conn);
        this.#options.log?.(
          `Connection from ${who} accepted (${this.#open.size} open).`,
        );
        try {
          await this.#options.serve(conn);
        } catch (error) {
          this.#options.log?.(`Closed ${who}: ${describeError(error)}`);
        }
        this.#options.log?.(
          `Connection from ${who} closed (${this.#open.size - 1} open).`,
        );
      } finally {
        // The handshake may have closed the socket already.
        closeQuietly(open);
        this.#open.delete(open);
        this.#admission.leave(ticket, pending);
      }
    } catch (error) {
      this.#log(`Connection failed: ${describeError(error)}`);
    } finally {
      if (--this.#running === 0) this.#drained?.();
    }
  }

  /**
   * Turns away a connection over a cap: told why over the encrypted
   * connection, like any other answer, unless too many are being told
   * already or it came while too many were in their handshake (then it is
   * closed unanswered: each telling costs a key exchange).
   */
  async #refuse(
    raw: Deno.Conn,
    who: string,
    reason: RefusalReason,
  ): Promise<void> {
    if (reason === "handshakes" || this.#refusing >= REFUSALS_AT_ONCE) {
      raw.close();
      return;
    }
    this.#refusing++;
    try {
      const conn = await this.#secure(raw, who);
      if (conn) await this.#options.refuse?.(conn);
      conn?.close();
    } finally {
      this.#refusing--;
    }
  }

  #refused(reason: RefusalReason, host: string, who: string): void {
    this.#options.log?.(`Refused ${who}: ${REFUSAL_WORDS[reason]}`);
    this.#options.onRefused?.(reason, host);
  }

  /** The handshake, then a `Connection`; undefined (logged, closed) if it fails. */
  async #secure(
    raw: Deno.Conn,
    who: string,
    host?: string,
  ): Promise<Connection | undefined> {
    try {
      const secure = await secureAccept(raw, this.#options.secure);
      return new Connection(raw, this.#options.connection, secure);
    } catch (error) {
      this.#options.log?.(
        `Closed ${who}: the encryption handshake failed: ${
          describeError(error)
        }`,
      );
      if (host !== undefined) {
        this.#options.onRefused?.("handshake-failed", host);
      }
      closeQuietly(raw);
      return undefined;
    }
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }
}
