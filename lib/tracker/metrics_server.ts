/**
 * A tracker's load on `http://HOST:PORT/metrics`, in the Prometheus text
 * exposition format (version 0.0.4), for an operator to scrape and graph:
 * the numbers a `stats` request answers with, the relay's beside the
 * tracker (sessions, bytes, refusals), and the version. It listens on a
 * port of its own, on loopback unless told otherwise, and answers `GET`
 * (and `HEAD`) `/metrics`; another method there is 405, any other path 404.
 *
 * @module
 */

import { type Address, formatAddress } from "../net/connection.ts";
import { ListenError } from "../net/listener.ts";
import type { TrackerStats } from "../protocol/messages.ts";
import { VERSION } from "../protocol/version.ts";
import { REFUSAL_REASONS } from "./load_counters.ts";

/** Where the metrics listen unless told otherwise: this machine only. */
export const DEFAULT_METRICS_HOST = "127.0.0.1";
/** The one path answered. */
export const METRICS_PATH = "/metrics";
/** Every metric's name starts with this. */
export const METRIC_PREFIX = "p2p_tracker_";
/** The `Content-Type` of the text exposition format. */
const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * What `/metrics` shows of the relay beside the tracker, as it counts it
 * (`nat/relay_server.ts`'s `RelayStats` is one): now, and since it started.
 */
export interface RelayLoad {
  /** Pairs piping bytes. */
  sessions: number;
  /** Connections waiting for their partner. */
  waiting: number;
  /** Bytes relayed, both directions. */
  bytes: number;
  /** Pairs that met. */
  paired: number;
  /** Connections turned away, by reason (every reason, from 0). */
  refused: Readonly<Record<string, number>>;
  /** Sessions closed at their byte quota. */
  quotaReached: number;
  /** Connections whose partner did not come in time. */
  noPartner: number;
}

/** Options for {@linkcode startMetricsServer}. */
export interface MetricsServerOptions {
  /** Address to listen on. @default {DEFAULT_METRICS_HOST} */
  host?: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** The numbers to serve, read at each request. */
  stats: () => TrackerStats;
  /** The relay's numbers, read at each request. @default {no relay} */
  relay?: () => RelayLoad;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** Where it listens (the real port when started with port 0). */
  readonly address: Address;
  /** `http://HOST:PORT/metrics`. */
  readonly url: string;
  /** Stops listening and ends open requests. */
  close(): Promise<void>;
}

/**
 * Serves `options.stats()` as Prometheus text on `GET /metrics`. Throws a
 * `ListenError` naming the address if it cannot listen.
 *
 * @example
 * ```ts
 * const metrics = startMetricsServer({ port: 0, stats: () => tracker.stats() });
 * console.log(`Metrics on ${metrics.url}`);
 * await metrics.close();
 * ```
 */
export function startMetricsServer(
  options: MetricsServerOptions,
): MetricsServer {
  const host = options.host ?? DEFAULT_METRICS_HOST;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: host,
      port: options.port,
      onListen: () => {},
      onError: () => new Response("Internal error\n", { status: 500 }),
    }, (request) => answer(request, options));
  } catch (error) {
    throw new ListenError({ host, port: options.port }, error);
  }
  const address = { host: server.addr.hostname, port: server.addr.port };
  let closing: Promise<void> | undefined;
  return {
    address,
    url: metricsUrl(address),
    close: () => closing ??= server.shutdown(),
  };
}

/** `http://HOST:PORT/metrics` for a server at `address` (IPv6 in brackets). */
export function metricsUrl(address: Address): string {
  return `http://${formatAddress(address)}${METRICS_PATH}`;
}

function answer(request: Request, options: MetricsServerOptions): Response {
  if (new URL(request.url).pathname !== METRICS_PATH) {
    return new Response("Not found\n", { status: 404 });
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("Method not allowed: use GET\n", {
      status: 405,
      headers: { allow: "GET, HEAD" },
    });
  }
  const text = formatMetrics(options.stats(), { relay: options.relay?.() });
  // The server sends no body for HEAD, but says how long it would be.
  return new Response(text, {
    headers: { "content-type": CONTENT_TYPE },
  });
}

/** Options for {@linkcode formatMetrics}. */
export interface FormatMetricsOptions {
  /** The relay's numbers. @default {none: no relay metrics} */
  relay?: RelayLoad;
  /** The version `p2p_tracker_info` names. @default {VERSION} */
  version?: string;
}

/** One metric: its name after the prefix, kind, help and value. */
interface Metric {
  name: string;
  type: "gauge" | "counter";
  help: string;
  value: number | undefined;
}

/**
 * `stats` in the Prometheus text exposition format: one `# HELP` and
 * `# TYPE` line and one sample per metric, names prefixed
 * {@linkcode METRIC_PREFIX}, counters ending in `_total`, and refusals as
 * one counter with a `reason` label (every known reason listed, from 0).
 * Fields the stats lack are left out. First `p2p_tracker_info` (1, its
 * `version` label the tracker's), last the relay's (`p2p_tracker_relay_…`)
 * when there is one.
 *
 * @example
 * ```ts
 * formatMetrics(tracker.stats()); // "# HELP p2p_tracker_peers ...\n..."
 * ```
 */
export function formatMetrics(
  stats: TrackerStats,
  options: FormatMetricsOptions = {},
): string {
  const lines = [
    ...head("info", "gauge", "Always 1; its version label is the tracker's."),
    `${METRIC_PREFIX}info{version="${label(options.version ?? VERSION)}"} 1`,
  ];
  samples(lines, metricsOf(stats));
  if (stats.refused) {
    byReason(lines, "refused_total", { ...zeroes(), ...stats.refused }, {
      help: "Requests and connections refused since start, by reason.",
    });
  }
  const relay = options.relay;
  if (relay) {
    samples(lines, relayMetricsOf(relay));
    byReason(lines, "relay_refused_total", relay.refused, {
      help:
        "Relay connections turned away since start, by reason (not-expected, busy, hellos, bad-hello).",
    });
  }
  return lines.join("\n") + "\n";
}

/** Adds each metric that has a value: its head and its sample. */
function samples(lines: string[], metrics: Metric[]): void {
  for (const { name, type, help, value } of metrics) {
    if (value === undefined) continue;
    lines.push(...head(name, type, help), `${METRIC_PREFIX}${name} ${value}`);
  }
}

/** Adds counter `name`, one sample per reason in `counts`. */
function byReason(
  lines: string[],
  name: string,
  counts: Readonly<Record<string, number>>,
  options: { help: string },
): void {
  lines.push(...head(name, "counter", options.help));
  for (const [reason, count] of Object.entries(counts)) {
    lines.push(`${METRIC_PREFIX}${name}{reason="${label(reason)}"} ${count}`);
  }
}

function gauge(name: string, help: string, value?: number): Metric {
  return { name, type: "gauge", help, value };
}

function counter(name: string, help: string, value?: number): Metric {
  return { name, type: "counter", help, value };
}

function metricsOf(s: TrackerStats): Metric[] {
  return [
    gauge("peers", "Peer addresses with a live registration.", s.peers),
    gauge(
      "connections",
      "Connections open past their handshake.",
      s.connections,
    ),
    gauge(
      "pending_handshakes",
      "Connections still in their handshake.",
      s.pendingHandshakes,
    ),
    gauge("files", "Public files with a live registration.", s.files),
    gauge("private_files", "Private files registered.", s.privateFiles),
    gauge("registrations", "Live (file, peer) registrations.", s.registrations),
    gauge(
      "announces_per_second",
      "Announces a second over the last 10 s.",
      s.announcesPerSecond,
    ),
    gauge(
      "queries_per_second",
      "Queries a second over the last 10 s.",
      s.queriesPerSecond,
    ),
    gauge("uptime_seconds", "Seconds since start.", s.uptimeMs / 1000),
    counter("requests_total", "Requests answered since start.", s.requests),
    counter(
      "announces_total",
      "announce, register and register-sealed requests answered since start.",
      s.announces,
    ),
    counter(
      "queries_total",
      "query, query-sealed, list and search requests answered since start.",
      s.queries,
    ),
    counter(
      "rate_waits_total",
      "Requests over their address's rate that waited for their token.",
      s.rateWaits,
    ),
    counter(
      "out_of_files_total",
      "Accepts that failed for want of file descriptors (the open-file limit), one every 100 ms while it lasts.",
      s.outOfFiles,
    ),
    counter(
      "received_bytes_total",
      "Frame bytes received from clients since start.",
      s.bytesReceived,
    ),
  ];
}

function relayMetricsOf(r: RelayLoad): Metric[] {
  return [
    gauge("relay_sessions", "Relayed pairs piping bytes now.", r.sessions),
    gauge(
      "relay_waiting",
      "Relay connections waiting for their partner now.",
      r.waiting,
    ),
    counter(
      "relay_sessions_total",
      "Relayed pairs that met since start.",
      r.paired,
    ),
    counter(
      "relay_bytes_total",
      "Bytes relayed since start, both directions.",
      r.bytes,
    ),
    counter(
      "relay_quota_reached_total",
      "Relayed pairs closed at their byte quota (--relay-quota).",
      r.quotaReached,
    ),
    counter(
      "relay_no_partner_total",
      "Relay connections whose partner did not come in time.",
      r.noPartner,
    ),
  ];
}

function head(name: string, type: string, help: string): string[] {
  return [
    `# HELP ${METRIC_PREFIX}${name} ${help}`,
    `# TYPE ${METRIC_PREFIX}${name} ${type}`,
  ];
}

function zeroes(): Record<string, number> {
  return Object.fromEntries(REFUSAL_REASONS.map((reason) => [reason, 0]));
}

/** A label value escaped as the format asks: backslash, quote, newline. */
function label(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}
