/**
 * A tracker's load on `http://HOST:PORT/metrics`, in the Prometheus text
 * exposition format (version 0.0.4), for an operator to scrape and graph:
 * the same numbers a `stats` request answers with. It listens on a port of
 * its own, on loopback unless told otherwise, and answers `GET /metrics`
 * and nothing else (404).
 *
 * @module
 */

import { type Address, formatAddress } from "../net/connection.ts";
import { ListenError } from "../net/listener.ts";
import type { TrackerStats } from "../protocol/messages.ts";
import { REFUSAL_REASONS } from "./load_counters.ts";

/** Where the metrics listen unless told otherwise: this machine only. */
export const DEFAULT_METRICS_HOST = "127.0.0.1";
/** The one path answered. */
export const METRICS_PATH = "/metrics";
/** Every metric's name starts with this. */
export const METRIC_PREFIX = "p2p_tracker_";
/** The `Content-Type` of the text exposition format. */
const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Options for {@linkcode startMetricsServer}. */
export interface MetricsServerOptions {
  /** Address to listen on. @default {DEFAULT_METRICS_HOST} */
  host?: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** The numbers to serve, read at each request. */
  stats: () => TrackerStats;
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
    }, (request) => answer(request, options.stats));
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

function answer(request: Request, stats: () => TrackerStats): Response {
  const { pathname } = new URL(request.url);
  if (request.method !== "GET" || pathname !== METRICS_PATH) {
    return new Response("Not found\n", { status: 404 });
  }
  return new Response(formatMetrics(stats()), {
    headers: { "content-type": CONTENT_TYPE },
  });
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
 * Fields the stats lack are left out.
 *
 * @example
 * ```ts
 * formatMetrics(tracker.stats()); // "# HELP p2p_tracker_peers ...\n..."
 * ```
 */
export function formatMetrics(stats: TrackerStats): string {
  const lines: string[] = [];
  for (const { name, type, help, value } of metricsOf(stats)) {
    if (value === undefined) continue;
    lines.push(...head(name, type, help), `${METRIC_PREFIX}${name} ${value}`);
  }
  if (stats.refused) {
    const name = "refused_total";
    lines.push(
      ...head(
        name,
        "counter",
        "Requests and connections refused since start, by reason.",
      ),
    );
    const refused = { ...zeroes(), ...stats.refused };
    for (const [reason, count] of Object.entries(refused)) {
      lines.push(`${METRIC_PREFIX}${name}{reason="${label(reason)}"} ${count}`);
    }
  }
  return lines.join("\n") + "\n";
}

function metricsOf(s: TrackerStats): Metric[] {
  const gauge = (name: string, help: string, value: number | undefined) => ({
    name,
    type: "gauge" as const,
    help,
    value,
  });
  const counter = (name: string, help: string, value: number | undefined) => ({
    name,
    type: "counter" as const,
    help,
    value,
  });
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
