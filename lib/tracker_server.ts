/**
 * The tracker over TCP: accepts connections, answers each one's requests in
 * order from a {@linkcode TrackerService}, and forgets registrations that
 * were not renewed. Bad input closes that one connection; the server keeps
 * serving everyone else.
 *
 * @module
 */

import { type Address, Connection, formatAddress } from "./connection.ts";
import {
  DEFAULT_TRACKER_PORT,
  FRAME_DEADLINE_MS,
  IDLE_TIMEOUT_MS,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_ADDRESS,
  MAX_JSON_BYTES,
  REGISTRATION_TTL_MS,
} from "./limits.ts";
import type {
  ErrorCode,
  FileSummary,
  Message,
  TrackerStats,
} from "./messages.ts";
import { RegistryError, TrackerService } from "./tracker_service.ts";

/** How often the tracker forgets expired registrations. */
export const SWEEP_INTERVAL_MS = 5_000;
/** Pause before accepting again after `accept()` failed (e.g. out of file descriptors). */
export const ACCEPT_RETRY_MS = 100;

/** Bytes of a `files` answer besides its entries, with room to spare. */
const FILES_FRAME_OVERHEAD = 64;
const encoder = new TextEncoder();

/** Options for {@linkcode startTracker}. */
export interface TrackerOptions {
  /** Address to listen on. @default {"0.0.0.0"} */
  host?: string;
  /** Port to listen on; 0 picks a free one. @default {DEFAULT_TRACKER_PORT} */
  port?: number;
  /** Ms a registration lives unless renewed. @default {REGISTRATION_TTL_MS} */
  ttlMs?: number;
  /** Ms between sweeps of expired registrations. @default {SWEEP_INTERVAL_MS} */
  sweepMs?: number;
  /** Ms a connection may wait between requests. @default {IDLE_TIMEOUT_MS} */
  idleMs?: number;
  /** Connections open at once, in total. @default {MAX_CONNECTIONS} */
  maxConnections?: number;
  /** Connections open at once from one address. @default {MAX_CONNECTIONS_PER_ADDRESS} */
  maxConnectionsPerAddress?: number;
  /** Receives one line per notable event (bad client, refused connection). */
  log?: (line: string) => void;
}

/** A running tracker. */
export interface TrackerServer {
  /** Where it listens (the real port when started with port 0). */
  readonly address: Address;
  /** Stops listening, closes every connection and the sweep timer. */
  close(): Promise<void>;
  /** Counters as a `stats` request would report them. */
  stats(): TrackerStats;
}

/**
 * Starts a tracker listening on `options.host`:`options.port`.
 *
 * @example
 * ```ts
 * const tracker = startTracker({ host: "127.0.0.1", port: 0 });
 * console.log(`Tracker on port ${tracker.address.port}`);
 * await tracker.close();
 * ```
 */
export function startTracker(options: TrackerOptions = {}): TrackerServer {
  return new Tracker(options);
}

class Tracker implements TrackerServer {
  readonly address: Address;
  #listener: Deno.TcpListener;
  #service: TrackerService;
  #options: TrackerOptions;
  #log: (line: string) => void;
  #started = performance.now();
  #requests = 0;
  #connections = new Set<Connection>();
  #perHost = new Map<string, number>();
  #tasks = new Set<Promise<void>>();
  #sweeper: ReturnType<typeof setInterval>;
  #closed = false;
  #wake?: () => void;
  #accepting: Promise<void>;

  constructor(options: TrackerOptions) {
    this.#options = options;
    this.#log = options.log ?? (() => {});
    this.#service = new TrackerService({
      ttlMs: options.ttlMs ?? REGISTRATION_TTL_MS,
    });
    this.#listener = Deno.listen({
      hostname: options.host ?? "0.0.0.0",
      port: options.port ?? DEFAULT_TRACKER_PORT,
    });
    const addr = this.#listener.addr;
    this.address = { host: addr.hostname, port: addr.port };
    this.#sweeper = setInterval(
      () => this.#service.sweep(),
      options.sweepMs ?? SWEEP_INTERVAL_MS,
    );
    this.#accepting = this.#acceptLoop();
  }

  stats(): TrackerStats {
    return {
      ...this.#service.stats(),
      requests: this.#requests,
      uptimeMs: Math.round(performance.now() - this.#started),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#wake?.();
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    for (const connection of this.#connections) connection.close();
    await this.#accepting;
    await Promise.allSettled([...this.#tasks]);
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) return;
        this.#log(`Tracker could not accept a connection: ${message(error)}`);
        await this.#pause(ACCEPT_RETRY_MS);
        continue;
      }
      this.#track(this.#admit(new Connection(conn)));
    }
  }

  #track(task: Promise<void>): void {
    const settled = task.catch((error) => {
      this.#log(
        `Tracker dropped a connection after an error: ${message(error)}`,
      );
    });
    this.#tasks.add(settled);
    settled.finally(() => this.#tasks.delete(settled));
  }

  /** Waits `ms`, or less if the tracker closes meanwhile. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      this.#wake = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /** Serves `connection` if the caps allow, otherwise says `busy` and closes. */
  async #admit(connection: Connection): Promise<void> {
    const host = remoteHost(connection);
    const fromHost = this.#perHost.get(host) ?? 0;
    const maxTotal = this.#options.maxConnections ?? MAX_CONNECTIONS;
    const maxHost = this.#options.maxConnectionsPerAddress ??
      MAX_CONNECTIONS_PER_ADDRESS;
    if (this.#connections.size >= maxTotal || fromHost >= maxHost) {
      this.#log(`Tracker refused a connection from ${host}: too many open.`);
      await sendBounded(
        connection,
        errorReply("busy", "Too many connections; try again later."),
      );
      connection.close();
      return;
    }
    this.#connections.add(connection);
    this.#perHost.set(host, fromHost + 1);
    try {
      await this.#serve(connection, host);
    } finally {
      connection.close();
      this.#connections.delete(connection);
      const left = (this.#perHost.get(host) ?? 1) - 1;
      if (left > 0) this.#perHost.set(host, left);
      else this.#perHost.delete(host);
    }
  }

  /** Answers requests in order until the client leaves or misbehaves. */
  async #serve(connection: Connection, host: string): Promise<void> {
    const idleMs = this.#options.idleMs ?? IDLE_TIMEOUT_MS;
    const who = formatAddress(connection.remote);
    while (!this.#closed) {
      let request: Message | null;
      try {
        request = await connection.receive({ idleMs });
      } catch (error) {
        if (this.#closed) return;
        if (isBadInput(error)) {
          this.#log(`Tracker closed ${who}: bad request: ${message(error)}`);
          await sendBounded(
            connection,
            errorReply("bad-request", `Bad request: ${message(error)}`),
          );
        } else if (error instanceof Deno.errors.TimedOut) {
          this.#log(`Tracker closed ${who}: idle or too slow.`);
        }
        return;
      }
      if (request === null) return;
      const reply = this.#answer(request, host);
      this.#requests++;
      if (!await sendBounded(connection, reply)) return;
      if (reply.type === "error" && reply.code === "bad-request") {
        this.#log(`Tracker closed ${who}: ${reply.message}`);
        return;
      }
    }
  }

  /** The reply to one request; refusals become `error` replies. */
  #answer(request: Message, host: string): Message {
    const service = this.#service;
    try {
      switch (request.type) {
        case "register":
          service.register(request.meta, { host, port: request.port });
          return { type: "ok" };
        case "announce":
          return {
            type: "announced",
            unknown: service.announce(request.ids, {
              host,
              port: request.port,
            }),
          };
        case "unregister":
          service.unregister(request.id, { host, port: request.port });
          return { type: "ok" };
        case "query":
          return { type: "file", ...service.query(request.id) };
        case "list":
          return { type: "files", files: fitFrame(service.list()) };
        case "search":
          return {
            type: "files",
            files: fitFrame(service.search(request.text)),
          };
        case "stats":
          return { type: "stats-reply", stats: this.stats() };
        default:
          return errorReply(
            "bad-request",
            `A tracker does not answer "${request.type}" messages.`,
          );
      }
    } catch (error) {
      if (error instanceof RegistryError) {
        return errorReply(error.code, error.message);
      }
      throw error;
    }
  }
}

/**
 * The longest head of `files` whose answer fits in one frame's JSON part:
 * 500 summaries with long names would not.
 */
function fitFrame(files: FileSummary[]): FileSummary[] {
  let bytes = FILES_FRAME_OVERHEAD;
  for (let i = 0; i < files.length; i++) {
    bytes += encoder.encode(JSON.stringify(files[i])).length + 1;
    if (bytes > MAX_JSON_BYTES) return files.slice(0, i);
  }
  return files;
}

function errorReply(code: ErrorCode, text: string): Message {
  return { type: "error", code, message: text.slice(0, 1000) };
}

/** Sends `reply`, closing the connection if the client does not take it in time. */
async function sendBounded(
  connection: Connection,
  reply: Message,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), FRAME_DEADLINE_MS);
  });
  try {
    const sent = connection.send(reply).then(() => true, () => false);
    const ok = await Promise.race([sent, late]);
    if (!ok) connection.close();
    // A write still pending after close() fails at once; wait for it.
    await sent;
    return ok;
  } finally {
    clearTimeout(timer);
  }
}

/** Errors that mean the client sent something malformed, not that the socket failed. */
function isBadInput(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError ||
    error instanceof SyntaxError;
}

/** The client's IP as the socket reports it (IPv4-mapped IPv6 unwrapped). */
function remoteHost(connection: Connection): string {
  const host = connection.remote.host;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return mapped ? mapped[1] : host;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
