/**
 * The flood floor's rows in the report (`flood_floor.ts`): the bare
 * server's probe quiet and under the flood, the ratio of the two p99s the
 * crowd bench holds the tracker to (≤ 2×, `crowd_report.ts`), and an idle
 * server's beside it.
 *
 * @module
 */

import type { LatencySummary } from "../scripts/_latency.ts";
import { CROWD_TARGET_FLOOD_RATIO } from "./crowd_report.ts";
import {
  FLOOD_FLOOR_QUIET_MS,
  type FloodFloorResults,
  type FloodFloorRow,
} from "./flood_floor.ts";

/** The flood floor section of the results. */
export interface FloodFloorPart {
  /** The flood floor's rows (`--flood-floor`). */
  floodFloor?: FloodFloorResults;
}

/**
 * Smallest quiet p99 divided by, ms: a probe that recorded nothing makes
 * no infinite ratio.
 */
const MIN_QUIET_MS = 0.001;

/** A row's p99s under each stage of the flood over its quiet p99. */
export interface FloodRatios {
  /** Under the flooding addresses' silent connections alone. */
  connections: number;
  /** Under their query flood too. */
  flood: number;
  /** The idle server's probe meanwhile (absent: none ran). */
  idleServer?: number;
  /** Ms the query flood added to the p99 (flooded p99 less quiet p99). */
  addedMs: number;
}

/** The ratios of `row`'s flood p99s to its quiet p99; undefined without a flood. */
export function floodRatios(row: FloodFloorRow): FloodRatios | undefined {
  if (!row.flood || row.probeMs.count === 0) return undefined;
  const quiet = Math.max(row.probeMs.p99, MIN_QUIET_MS);
  const idle = row.flood.idleServerProbeMs;
  return {
    connections: row.flood.connectionsProbeMs.p99 / quiet,
    flood: row.flood.probeMs.p99 / quiet,
    idleServer: idle && idle.count > 0 ? idle.p99 / quiet : undefined,
    addedMs: row.flood.probeMs.p99 - row.probeMs.p99,
  };
}

/** Markdown lines of the flood floor's table and its ratios. */
export function formatFloodFloor(
  results: FloodFloorResults | undefined,
): string[] {
  if (!results || results.rows.length === 0) return [];
  const lines = [
    "",
    "| Flood floor: server, peers | Opened (ms) | Quiet: server CPU, announces/s | Probe p50 / p99, quiet | Probe, 8 addresses' silent connections | Probe, + their query flood (queries/s served, server CPU) | Flood p99 / quiet p99 | Probe of an idle server meanwhile (its p99 / quiet p99) | CPU of the flooders, of the machine |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const row of results.rows) lines.push(floorLine(row));
  lines.push(
    "",
    `The bare server (\`bench/_bare_server.ts\`) reads length-prefixed requests as the tracker does (a 512-byte socket read pending per connection) and answers each with a reply of the tracker's size (a query's 580 bytes, an announce's 57), queries admitted at the tracker's rate per address; no handshake, JSON or registry; \`cipher\` opens and seals each record with node:crypto's ChaCha20-Poly1305; \`heavy\` is the bare server with flooders that spend 45 µs of CPU on each query they send, as much in all as the crowd bench's flooders use. It runs with the tracker's V8 flags. The load is the crowd bench's in shape: N connections each from its own loopback address announcing every 60 s and querying 1% a second, the 8 flooding addresses' 320 silent connections each (the crowd bench's 256 idle and 64 half-open), then 4 connections each trying 1,000 queries a second; all at nice 19. The probe asks one query at a time from 127.0.0.1, every 10 ms after its last answer: ${
      FLOOD_FLOOR_QUIET_MS / 1000
    } s quiet, 10 s under each stage; during the query flood a second probe asks a second bare server nobody floods.`,
    "",
  );
  for (const row of results.rows) {
    const ratios = floodRatios(row);
    if (!ratios) continue;
    const verdict = ratios.flood <= CROWD_TARGET_FLOOD_RATIO
      ? "within"
      : "past";
    lines.push(
      `- ${name(row)}: the probe's p99 under the query flood ${
        ratios.flood.toFixed(2)
      }× quiet (${verdict} the tracker's ${CROWD_TARGET_FLOOD_RATIO}×; ${
        ratios.addedMs.toFixed(1)
      } ms more), under the silent connections ${
        ratios.connections.toFixed(2)
      }×${
        ratios.idleServer === undefined
          ? ""
          : `; an idle server meanwhile ${ratios.idleServer.toFixed(2)}×`
      }.`,
    );
  }
  return lines;
}

function name(row: FloodFloorRow): string {
  return `${row.variant}, ${row.peers.toLocaleString("en")} peers`;
}

function floorLine(row: FloodFloorRow): string {
  if (row.error) {
    return `| ${name(row)} | **failed**: ${row.error} | | | | | | | |`;
  }
  const ratios = floodRatios(row);
  const flood = row.flood;
  const cells = flood
    ? [
      pair(flood.connectionsProbeMs),
      `${pair(flood.probeMs)} (${flood.floodQueriesPerSecond.toFixed(0)}/s, ${
        pct(flood.serverCpu)
      })`,
      ratios ? `${ratios.flood.toFixed(2)}×` : "—",
      `${flood.idleServerProbeMs ? pair(flood.idleServerProbeMs) : "—"}${
        ratios?.idleServer === undefined
          ? ""
          : ` (${ratios.idleServer.toFixed(2)}×)`
      }`,
      `${pct(flood.flooderCpu)}, ${pct(flood.machineCpu)}`,
    ]
    : ["—", "—", "—", "—", "—"];
  return `| ${name(row)} | ${row.opened.toLocaleString("en")}${
    row.failed ? ` (**${row.failed} failed**)` : ""
  } (${(row.openMs / 1000).toFixed(1)} s) | ${pct(row.serverCpu)}, ${
    row.announcesPerSecond.toFixed(0)
  } | ${pair(row.probeMs)} | ${cells.join(" | ")} |`;
}

function pair(l: LatencySummary): string {
  return l.count === 0 ? "—" : `${l.p50.toFixed(1)} / ${l.p99.toFixed(1)} ms`;
}

function pct(cores: number): string {
  return `${(cores * 100).toFixed(0)}%`;
}
