/**
 * The crowd rows of the report (#22): the tracker's memory, CPU and
 * latencies under N simulated peers, the real get meanwhile, the flood
 * against the quiet figure, and the issue's targets checked.
 *
 * @module
 */

import type { LatencySummary } from "../scripts/_latency.ts";
import type { CrowdResults, CrowdRow } from "./crowd.ts";
import type { TargetCheck } from "./report.ts";
import { ANNOUNCE_INTERVAL_MS } from "../lib/protocol/limits.ts";

/** Most tracker RSS with 100,000 peers. */
export const CROWD_TARGET_RSS_BYTES = 2 * 1024 ** 3;
/** Most cores the tracker may use with 100,000 peers. */
export const CROWD_TARGET_CPU = 1;
/** Most query p99 (the honest probe's), ms. */
export const CROWD_TARGET_QUERY_P99_MS = 50;
/** Most ratio of the probe's p99 under the flood to its quiet p99. */
export const CROWD_TARGET_FLOOD_RATIO = 2;
/** Crowd size the memory and CPU targets are set for. */
const TARGET_PEERS = 100_000;
/** Most tracker memory per peer (its connection and registrations) that fits the RSS target at 100,000. */
export const CROWD_TARGET_BYTES_PER_PEER = 20 * 1024;

/**
 * The tracker's cost of one more peer, from the smallest and the largest
 * crowd that ran (their difference: what a process costs anyway cancels
 * out), and what that makes at 100,000 peers from the largest.
 */
export interface PerPeer {
  /** The two crowd sizes compared. */
  from: number;
  to: number;
  /** RSS per peer (connection, registrations, heap overhead), bytes. */
  bytes: number;
  /** Cores per peer. */
  cpu: number;
  /** RSS and cores at 100,000 peers, extrapolated from the largest row. */
  rssAtTarget: number;
  cpuAtTarget: number;
}

/** The per-peer slope of the rows that ran; undefined with fewer than two sizes. */
export function perPeer(crowd: CrowdResults | undefined): PerPeer | undefined {
  const rows = (crowd?.rows ?? []).filter((row) => !row.skipped && row.opened)
    .sort((a, b) => a.opened - b.opened);
  const small = rows[0];
  const large = rows.at(-1);
  if (!small || !large || large.opened <= small.opened) return undefined;
  const peers = large.opened - small.opened;
  const bytes = (large.trackerRssBytes - small.trackerRssBytes) / peers;
  const cpu = (large.trackerCpu - small.trackerCpu) / peers;
  const more = TARGET_PEERS - large.opened;
  return {
    from: small.opened,
    to: large.opened,
    bytes,
    cpu,
    rssAtTarget: large.trackerRssBytes + bytes * more,
    cpuAtTarget: large.trackerCpu + cpu * more,
  };
}

/** The crowd section of the results. */
export interface CrowdPart {
  /** The crowd rows (`--crowd`). */
  crowd?: CrowdResults;
}

/** Markdown lines of the crowd table. */
export function formatCrowd(crowd: CrowdResults | undefined): string[] {
  if (!crowd || crowd.rows.length === 0) return [];
  const lines = [
    "",
    `| Crowd (1-10 files each, announce every ${
      ANNOUNCE_INTERVAL_MS / 1000
    } s) | Opened (ms) | Registrations | Tracker RSS, median (peak) | Tracker CPU | Announces/s | Announce p50 / p99 | Crowd query p50 / p99 | Probe query p50 / p99 | Real get of 4 MiB | Probe, 8 addresses' idle + half-open connections | Probe, + their query flood (queries/s served, tracker CPU) | Probe of an idle tracker meanwhile (CPU of the flooders, of the machine) |`,
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
  ];
  for (const row of crowd.rows) lines.push(crowdLine(row));
  const slope = perPeer(crowd);
  if (slope) {
    lines.push(
      "",
      `Per peer (tracker RSS and CPU, ${slope.from.toLocaleString("en")} to ${
        slope.to.toLocaleString("en")
      } peers): ${(slope.bytes / 1024).toFixed(1)} KiB and ${
        (slope.cpu * 1e6).toFixed(1)
      } µ-cores; extrapolated to ${TARGET_PEERS.toLocaleString("en")} peers: ${
        mib(slope.rssAtTarget)
      } RSS (target ≤ ${mib(CROWD_TARGET_RSS_BYTES)}), ${
        pct(slope.cpuAtTarget)
      } of a core (target ≤ ${pct(CROWD_TARGET_CPU)}).`,
    );
  }
  lines.push(
    "",
    "Each peer has its own encrypted connection from its own loopback address (127.1.0.1 up), as separate machines would; the crowd runs in child processes of up to 15,000 peers. Latencies of the crowd are measured by its own processes (their event loops included); the probe is one client from 127.0.0.1 querying every 10 ms after its last answer (about 800 samples in 10 s, so that its p99 is not one stall's). The flood: 8 addresses, each with 256 idle connections and 64 half-open ones (no handshake), the probe measured 10 s; then 4 connections from each querying (8,000/s tried in all, 1,000/s from each address: 4 times its rate limit, so past its burst each address is held to 250/s), the probe measured 10 s more, and a second probe meanwhile asks a second tracker that nobody floods (what the cores shared with the flooders do to any tracker; the machine's CPU counts every process on it, other work too). The crowd and the flooders run at `nice 19` on the same cores as the tracker and the probe (they stand for other machines). The tracker's RSS is the median of a sample a second over the window; its cost per peer is the slope between the smallest and the largest crowd that ran.",
  );
  return lines;
}

function crowdLine(row: CrowdRow): string {
  const name = `${row.peers.toLocaleString("en")} peers`;
  if (row.skipped) {
    return `| ${name} | skipped: ${row.skipped} | | | | | | | | | | | |`;
  }
  const flood = row.flood
    ? `${pair(row.flood.connectionsProbeMs)} | ${pair(row.flood.probeMs)} (${
      row.flood.floodQueriesPerSecond.toFixed(0)
    }/s, ${pct(row.flood.trackerCpu)}) | ${idleCell(row.flood)}`
    : "— | — | —";
  const get = row.get.ok
    ? `ok, ${(row.get.ms / 1000).toFixed(2)} s`
    : `**failed**: ${row.get.error ?? "?"}`;
  return `| ${name} | ${row.opened.toLocaleString("en")}${
    row.failed ? ` (**${row.failed} failed**)` : ""
  } (${(row.openMs / 1000).toFixed(1)} s) | ${
    row.registrations.toLocaleString("en")
  } | ${mib(row.trackerRssBytes)} (${mib(row.trackerPeakRssBytes)}) | ${
    pct(row.trackerCpu)
  } | ${row.announcesPerSecond.toFixed(0)} | ${pair(row.announceMs)} | ${
    pair(row.queryMs)
  } | ${pair(row.probeMs)} | ${get} | ${flood} |`;
}

/** The idle tracker's probe under the flood, and the CPU of the flooders and the machine. */
function idleCell(flood: NonNullable<CrowdRow["flood"]>): string {
  const probe = flood.idleTrackerProbeMs;
  const cpu = [
    flood.flooderCpu === undefined ? "" : `flooders ${pct(flood.flooderCpu)}`,
    flood.machineCpu === undefined ? "" : `machine ${pct(flood.machineCpu)}`,
  ].filter(Boolean).join(", ");
  return `${probe ? pair(probe) : "—"}${cpu ? ` (${cpu})` : ""}`;
}

/** The issue's targets, checked on the rows that ran. */
export function crowdTargets(crowd: CrowdResults | undefined): TargetCheck[] {
  const rows = (crowd?.rows ?? []).filter((row) => !row.skipped);
  const checks: TargetCheck[] = [];
  const big = rows.find((row) => row.peers === TARGET_PEERS);
  if (big) {
    checks.push({
      name: "Tracker RSS with 100,000 peers",
      goal: `≤ ${mib(CROWD_TARGET_RSS_BYTES)}`,
      measured: mib(big.trackerPeakRssBytes),
      met: big.trackerPeakRssBytes <= CROWD_TARGET_RSS_BYTES,
    }, {
      name: "Tracker CPU with 100,000 peers",
      goal: `≤ ${CROWD_TARGET_CPU} core`,
      measured: pct(big.trackerCpu),
      met: big.trackerCpu <= CROWD_TARGET_CPU,
    });
  }
  const slope = perPeer(crowd);
  if (!big && slope) {
    const span = `from ${slope.from.toLocaleString("en")} to ${
      slope.to.toLocaleString("en")
    } peers`;
    checks.push({
      name: `Tracker RSS per peer (slope ${span})`,
      goal: `≤ ${CROWD_TARGET_BYTES_PER_PEER / 1024} KiB`,
      measured: `${(slope.bytes / 1024).toFixed(1)} KiB`,
      met: slope.bytes <= CROWD_TARGET_BYTES_PER_PEER,
    }, {
      name: "Tracker RSS with 100,000 peers, extrapolated",
      goal: `≤ ${mib(CROWD_TARGET_RSS_BYTES)}`,
      measured: mib(slope.rssAtTarget),
      met: slope.rssAtTarget <= CROWD_TARGET_RSS_BYTES,
    }, {
      name: "Tracker CPU with 100,000 peers, extrapolated",
      goal: `≤ ${CROWD_TARGET_CPU} core`,
      measured: pct(slope.cpuAtTarget),
      met: slope.cpuAtTarget <= CROWD_TARGET_CPU,
    });
  }
  for (const row of rows) {
    const name = `${row.peers.toLocaleString("en")} peers`;
    checks.push({
      name: `Query p99 (probe) with ${name}`,
      goal: `≤ ${CROWD_TARGET_QUERY_P99_MS} ms`,
      measured: `${row.probeMs.p99.toFixed(1)} ms`,
      met: row.probeMs.p99 <= CROWD_TARGET_QUERY_P99_MS,
    }, {
      name: `Real peer get with ${name}`,
      goal: "succeeds",
      measured: row.get.ok ? "ok" : `failed: ${row.get.error ?? "?"}`,
      met: row.get.ok,
    });
    const quiet = Math.max(row.probeMs.p99, 0.001);
    for (const [what, flooded, idle] of floods(row)) {
      const ratio = flooded.p99 / quiet;
      // What the same cores gave a tracker nobody flooded, meanwhile.
      const beside = idle
        ? `; idle tracker meanwhile ${(idle.p99 / quiet).toFixed(2)}× (${
          idle.p99.toFixed(1)
        } ms)`
        : "";
      checks.push({
        name: `Probe p99 under the 8 addresses' ${what}, ${name}`,
        goal: `≤ ${CROWD_TARGET_FLOOD_RATIO}× quiet`,
        measured: `${ratio.toFixed(2)}× (${flooded.p99.toFixed(1)} ms vs ${
          row.probeMs.p99.toFixed(1)
        } ms)${beside}`,
        met: ratio <= CROWD_TARGET_FLOOD_RATIO,
      });
    }
  }
  return checks;
}

/** The probe's latencies under each stage of the flood, and an idle tracker's beside it. */
function floods(
  row: CrowdRow,
): [string, LatencySummary, LatencySummary | undefined][] {
  if (!row.flood) return [];
  return [
    ["idle and half-open connections", row.flood.connectionsProbeMs, undefined],
    [
      "connections and query flood",
      row.flood.probeMs,
      row.flood.idleTrackerProbeMs,
    ],
  ];
}

function pair(l: LatencySummary): string {
  return l.count === 0 ? "—" : `${l.p50.toFixed(1)} / ${l.p99.toFixed(1)} ms`;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
}

function pct(cores: number): string {
  return `${(cores * 100).toFixed(0)}%`;
}
