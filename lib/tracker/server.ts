/**
 * The tracker over TCP: accepts connections, answers each one's requests in
 * order from a {@linkcode TrackerService}, and forgets registrations that
 * were not renewed, and at once those of a connection that closed (each
 * connection is a registry session). Bad input closes that one connection;
 * the server keeps serving everyone else. Connections are capped in total
 * and per address, every frame has a deadline both ways, and reads
 * (`query`, `query-sealed`, `list`, `search`, `stats`) are rate-limited
 * per address. It counts its load (`load_counters.ts`), for `stats` and,
 * when asked, a Prometheus `/metrics` endpoint on a port of its own.
 *
 * @module
 */

import {
  type Address,
  Connection,
  formatAddress,
  type ReceiveOptions,
} from "../net/connection.ts";
import { addressGroup, type Listener, startListener } from "../net/listener.ts";
import { unmapIPv4 } from "../net/address.ts";
import { useSmallRecordCipher } from "../secure/chacha_poly.ts";
import {
  DEFAULT_TRACKER_PORT,
  FRAME_DEADLINE_MS,
  IDLE_TIMEOUT_MS,
  REGISTRATION_TTL_MS,
  TRACKER_MAX_CONNECTIONS,
  TRACKER_MAX_CONNECTIONS_PER_ADDRESS,
} from "../protocol/limits.ts";
import type { Message, TrackerStats } from "../protocol/messages.ts";
import { RequestLimits } from "./_request_limits.ts";
import {
  busyReply,
  errorReply,
  filesReply,
  isBadInput,
  message,
  registryReply,
  sendOrClose,
} from "./_replies.ts";
import { FairTurns } from "./_fair_turns.ts";
import { trackerBinaryLimit } from "./_binary_limit.ts";
import { Broker, type RelayDesk } from "./_broker.ts";
import { OutOfFilesWarning } from "./_out_of_files.ts";
import { LoadCounters, registryRefusal } from "./load_counters.ts";
import { type MetricsServer, startMetricsServer } from "./metrics_server.ts";
import {
  RegistryError,
  type Session,
  TrackerService,
  type TrackerServiceOptions,
} from "./service.ts";

export type { RelayDesk } from "./_broker.ts";

/** How often the tracker forgets expired registrations. */
export const SWEEP_INTERVAL_MS = 5_000;
/**
 * Longest a request over its address's rate waits for its token before it
 * is answered `busy` instead. A connection reads nothing while its request
 * waits, so one that keeps asking is held to the rate by TCP itself, at
 * the cost of one timer, where answering `busy` costs as much as answering
 * (#22: a flood from 8 addresses at 1,000 queries a second each, refused
 * past 250, still took 55% of a core). Half a client's wait for a reply
 * (TRACKER_REPLY_TIMEOUT_MS, 10 s), so that the answer, `busy` or not,
 * comes before the client gives up on the connection: at 250 a second,
 * 1,250 connections of one address may wait at once.
 */
export const RATE_WAIT_MS = 5_000;

/** Requests that register the sender at a port: the broker notes the connection. */
const REGISTERS: ReadonlySet<string> = new Set([
  "register",
  "register-sealed",
  "announce",
]);

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
  /** Connections open at once, in total. @default {TRACKER_MAX_CONNECTIONS} */
  maxConnections?: number;
  /** Connections open at once from one address (or IPv6 /64). @default {TRACKER_MAX_CONNECTIONS_PER_ADDRESS} */
  maxConnectionsPerAddress?: number;
  /** Ms a started frame has to arrive whole. @default {FRAME_DEADLINE_MS} */
  frameDeadlineMs?: number;
  /** Ms an answer has to go out before the connection is closed. @default {FRAME_DEADLINE_MS} */
  writeDeadlineMs?: number;
  /** Reads (`query`, `list`, `search`, `stats`) a second per address; `Infinity` turns the limit off. @default {QUERIES_PER_SECOND_PER_ADDRESS} */
  queriesPerSecond?: number;
  /** Reads one address may make at once. @default {QUERY_BURST_PER_ADDRESS} */
  queryBurst?: number;
  /** Most ms a request over its rate waits before `busy`. @default {RATE_WAIT_MS} */
  rateWaitMs?: number;
  /** Registry quotas (per host, in total, variants). @default {tracker_service.ts} */
  quotas?: Omit<TrackerServiceOptions, "ttlMs" | "now">;
  /** Receives one line per notable event (bad client, refused connection). */
  log?: (line: string) => void;
  /**
   * Receives what an operator should see at any verbosity: that the
   * tracker ran out of file descriptors (at most once a minute,
   * `_out_of_files.ts`). @default {log}
   */
  warn?: (line: string) => void;
  /**
   * A team's pre-shared key (from `--secret-file`): only clients that
   * prove they hold it, in the handshake, get an answer. @default {open to all}
   */
  teamPsk?: Uint8Array;
  /**
   * The relay peers that cannot reach each other are sent to (`nat/`'s,
   * started beside the tracker). @default {none: `connect` is refused}
   */
  relay?: RelayDesk;
  /** Ms for each of a `reach` probe's connect and handshake. @default {REACH_PROBE_TIMEOUT_MS} */
  probeMs?: number;
  /** Ms a `connect` answer waits for the other peer's punch port. @default {PUNCH_OFFER_WAIT_MS} */
  punchOfferWaitMs?: number;
  /**
   * Also serve the load as Prometheus text on `http://HOST:PORT/metrics`
   * (`metrics_server.ts`), on a port other than the tracker's.
   * @default {no metrics endpoint}
   */
  metrics?: { host?: string; port: number };
}

/** A running tracker. */
export interface TrackerServer {
  /** Where it listens (the real port when started with port 0). */
  readonly address: Address;
  /** Stops listening, closes every connection and the sweep timer. */
  close(): Promise<void>;
  /** Counters as a `stats` request would report them. */
  stats(): TrackerStats;
  /** Connections being served right now (refused ones not counted). */
  readonly connections: number;
  /** `http://HOST:PORT/metrics`, when started with `metrics`. */
  readonly metricsUrl: string | undefined;
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
  #listener: Listener;
  #service: TrackerService;
  #limits: RequestLimits;
  #broker: Broker;
  #options: TrackerOptions;
  #log: (line: string) => void;
  #load = new LoadCounters();
  #metrics?: MetricsServer;
  #sweeper: ReturnType<typeof setInterval>;
  #turns = new FairTurns();
  #outOfFiles: OutOfFilesWarning;
  /** How every connection receives: one object for all. */
  #receive: ReceiveOptions;
  #closed = false;
  /** Ends the waits of requests over their rate (when closing). */
  #rateWaits = new Set<() => void>();

  constructor(options: TrackerOptions) {
    this.#options = options;
    useSmallRecordCipher(); // Tiny records, many: no cipher object each.
    this.#log = options.log ?? (() => {});
    this.#outOfFiles = new OutOfFilesWarning({
      warn: options.warn ?? this.#log,
    });
    this.#receive = {
      idleMs: options.idleMs ?? IDLE_TIMEOUT_MS,
      deadlineMs: options.frameDeadlineMs ?? FRAME_DEADLINE_MS,
    };
    this.#service = new TrackerService({
      ...options.quotas,
      ttlMs: options.ttlMs ?? REGISTRATION_TTL_MS,
    });
    this.#limits = new RequestLimits({
      queriesPerSecond: options.queriesPerSecond,
      queryBurst: options.queryBurst,
    });
    this.#broker = new Broker({
      relay: options.relay,
      probeMs: options.probeMs,
      offerWaitMs: options.punchOfferWaitMs,
      log: (line) => this.#log(`Tracker: ${line}`),
    });
    const team = options.teamPsk;
    const { metrics, port = DEFAULT_TRACKER_PORT } = options;
    if (metrics && metrics.port !== 0 && metrics.port === port) {
      throw new RangeError(
        `Cannot serve metrics on the tracker's own port ${metrics.port}; choose another.`,
      );
    }
    this.#listener = startListener({
      host: options.host ?? "0.0.0.0",
      port,
      serve: (connection) => this.#serve(connection),
      refuse: async (connection) => {
        await sendOrClose(
          connection,
          errorReply("busy", "Too many connections; try again later."),
        );
      },
      // Many connections, mostly idle: no buffers kept between messages.
      connection: {
        binaryLimit: trackerBinaryLimit,
        writeDeadlineMs: options.writeDeadlineMs,
        compact: true,
      },
      secure: {
        compact: true,
        role: "tracker",
        requireKey: team !== undefined,
        // An open tracker says so to a peer that brings a team secret.
        noKeyExpected: team === undefined,
        keys: () => team ? [{ psk: team, name: "team" }] : [],
      },
      maxConnections: options.maxConnections ?? TRACKER_MAX_CONNECTIONS,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress ??
        TRACKER_MAX_CONNECTIONS_PER_ADDRESS,
      onRefused: (reason) => this.#load.refuse(reason),
      onOutOfFiles: (connections) => {
        this.#load.outOfFiles();
        this.#outOfFiles.note(connections);
      },
      log: (line) => this.#log(`Tracker: ${line}`),
    });
    this.address = this.#listener.address;
    try {
      const relay = options.relay?.stats;
      this.#metrics = metrics &&
        startMetricsServer({ ...metrics, stats: () => this.stats(), relay });
    } catch (error) {
      this.#listener.close().catch(() => {});
      throw error;
    }
    this.#sweeper = setInterval(() => {
      this.#service.sweep();
      this.#limits.sweep();
      this.#broker.sweep();
    }, options.sweepMs ?? SWEEP_INTERVAL_MS);
  }

  stats(): TrackerStats {
    return {
      ...this.#service.stats(),
      privateFiles: this.#service.privateFiles(),
      ...this.#load.report(),
      connections: this.#listener.connections - this.#listener.pending,
      pendingHandshakes: this.#listener.pending,
    };
  }

  get connections(): number {
    return this.#listener.connections;
  }

  get metricsUrl(): string | undefined {
    return this.#metrics?.url;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const end of this.#rateWaits) end();
    clearInterval(this.#sweeper);
    this.#turns.close();
    await Promise.all([this.#listener.close(), this.#metrics?.close()]);
  }

  /**
   * Answers one admitted connection's requests in order until the client
   * leaves or misbehaves, with a session for what it registers. One async
   * function per connection: each one held costs memory while it idles.
   */
  async #serve(connection: Connection): Promise<void> {
    const session = this.#service.openSession();
    const host = unmapIPv4(connection.remote.host);
    const group = addressGroup(host);
    const receive = this.#receive;
    const rateWaitMs = this.#options.rateWaitMs ?? RATE_WAIT_MS;
    try {
      for (let seen = 0; !this.#closed; seen = connection.bytesReceived) {
        let request: Message | null;
        try {
          request = await connection.receive(receive);
        } catch (error) {
          this.#load.received(connection.bytesReceived - seen);
          if (!this.#closed) await this.#receiveFailed(connection, error);
          return;
        }
        this.#load.received(connection.bytesReceived - seen);
        if (request === null) return;
        // Within its address's rate: at once, after a wait for its token
        // (this connection reads nothing meanwhile), or refused.
        const waitMs = this.#limits.reserve(request.type, host, rateWaitMs);
        if (waitMs === undefined) {
          this.#load.refuse("rate-limit");
          this.#load.answered(request.type);
          if (!await sendOrClose(connection, busyReply(host))) return;
          continue;
        }
        if (waitMs > 0) {
          this.#load.rateWaited();
          await this.#rateWait(waitMs);
          if (this.#closed) return;
        }
        // Its turn among the address groups with requests waiting.
        const turn = this.#turns.take(group);
        if (turn) await turn;
        let answer: Message | Promise<Message>;
        try {
          answer = this.#answer(request, connection, host, session);
        } finally {
          this.#turns.done();
        }
        const reply = await answer;
        this.#load.answered(request.type);
        if (!await sendOrClose(connection, reply)) return;
        if (reply.type === "error" && reply.code === "bad-request") {
          this.#log(
            `Tracker closed ${
              formatAddress(connection.remote)
            }: ${reply.message}`,
          );
          return;
        }
      }
    } finally {
      // Whatever it registered goes with it, however it ended (a peer
      // killed without unregistering); unless renewed over a newer one.
      this.#service.closeSession(session);
      this.#broker.forget(connection);
    }
  }

  /** Waits `ms` for a rate-limited request's token, or until closing. */
  #rateWait(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.#rateWaits.delete(end);
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.#rateWaits.add(end);
    });
  }

  /** Counts and logs why a receive failed; a bad request is told why. */
  async #receiveFailed(connection: Connection, error: unknown): Promise<void> {
    const who = formatAddress(connection.remote);
    if (isBadInput(error)) {
      this.#load.refuse("bad-request");
      this.#log(`Tracker closed ${who}: bad request: ${message(error)}`);
      await sendOrClose(
        connection,
        errorReply("bad-request", `Bad request: ${message(error)}`),
      );
    } else if (error instanceof Deno.errors.TimedOut) {
      this.#load.refuse("timeout");
      this.#log(`Tracker closed ${who}: idle or too slow.`);
    }
  }

  /** The reply to one request; refusals become `error` replies. */
  #answer(
    request: Message,
    connection: Connection,
    host: string,
    session: Session,
  ): Message | Promise<Message> {
    const service = this.#service;
    const broker = this.#broker;
    if (
      "port" in request && request.port !== undefined &&
      REGISTERS.has(request.type)
    ) {
      broker.seen(connection, { host, port: request.port });
    }
    try {
      switch (request.type) {
        case "register":
          service.register(request.meta, { host, port: request.port }, {
            session,
            partial: request.partial,
            unlisted: request.unlisted,
          });
          return { type: "ok" };
        case "announce":
          return {
            type: "announced",
            unknown: service.announce(
              request.ids,
              { host, port: request.port },
              { session },
            ),
          };
        case "unregister":
          service.unregister(request.id, { host, port: request.port });
          return { type: "ok" };
        case "register-sealed":
          service.registerSealed(
            { lookup: request.lookup, blob: request.blob },
            { host, port: request.port },
            { session, partial: request.partial },
          );
          return { type: "ok" };
        case "query-sealed": {
          const { peers, ...found } = service.querySealed(request.lookup);
          const marked = broker.mark(peers);
          return request.peersOnly
            ? {
              type: "peers",
              id: request.lookup,
              peers: marked,
              observed: host,
            }
            : {
              type: "sealed",
              lookup: request.lookup,
              ...found,
              peers: marked,
              observed: host,
            };
        }
        case "query": {
          const { meta, peers, ...counts } = service.query(
            request.id,
            request.variant ?? 0,
          );
          const marked = broker.mark(peers);
          return request.peersOnly
            ? {
              type: "peers",
              id: meta.id,
              ...counts,
              peers: marked,
              observed: host,
            }
            : { type: "file", meta, ...counts, peers: marked, observed: host };
        }
        case "reach":
          return broker.reach(
            connection,
            host,
            request.port,
            request.mapped ?? false,
          );
        case "connect":
          return broker.connect(connection, host, request);
        case "punch":
          return broker.offer(host, request.token, request.port);
        case "list":
          return filesReply(service.list());
        case "search":
          return filesReply(service.search(request.text));
        case "stats":
          return { type: "stats-reply", stats: this.stats() };
        default:
          this.#load.refuse("bad-request");
          return errorReply(
            "bad-request",
            `A tracker does not answer "${request.type}" messages.`,
          );
      }
    } catch (error) {
      if (error instanceof RegistryError) {
        this.#load.refuse(registryRefusal(error.code));
        return registryReply(error);
      }
      throw error;
    }
  }
}
