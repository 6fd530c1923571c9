/**
 * The bench's results: their shape (written as JSON), the targets of issue
 * 4 checked against them, and Markdown tables for the terminal and README.
 *
 * @module
 */

import type { Aria2Result } from "./aria2.ts";
import type { Throughput } from "./baselines.ts";
import { ms, size } from "./_format.ts";
import type { CryptoResults } from "./crypto.ts";
import { cryptoTargets, formatCrypto } from "./crypto_report.ts";
import type { FloorResult } from "./floor.ts";
import type { FixedCostResult } from "./floor_fixed.ts";
import { type FloorPart, floorTargets, formatFloors } from "./floor_report.ts";
import type { LinkResult } from "./links.ts";
import { formatLinks, linkTargets } from "./links_report.ts";
import type { ProfileEntry } from "./profile.ts";
import { formatSwarm } from "./swarm_report.ts";
import type { SwarmResult } from "./swarm.ts";
import type { MemoryResult, QpsResult } from "./tracker_load.ts";
import type { GetResult } from "./transfer.ts";

export { size };

/** Bytes in one MiB. */
const MIB = 1024 * 1024;
/** Share target: at least this fraction of the SHA-256 baseline. */
export const SHARE_TARGET_RATIO = 0.85;
/** Get target: wall time at most this many SHA-256 passes. */
export const GET_TARGET_SHA_PASSES = 2;
/** Get target: at least this many times aria2c's throughput. */
export const GET_TARGET_ARIA2_RATIO = 2.5;
/** Peak RSS target of `peer get`, bytes. */
export const GET_TARGET_RSS_BYTES = 100 * MIB;
/** Tracker target: queries per second with 64 clients. */
export const TRACKER_TARGET_QPS = 20_000;
/** Tracker target: memory holding 100,000 files × 10 peers, bytes. */
export const TRACKER_TARGET_MEMORY_BYTES = 300 * MIB;

/** The machine a run measured. */
export interface MachineInfo {
  /** Logical CPUs. */
  cpus: number;
  /** CPU model name. */
  cpuModel: string;
  /** Total RAM in bytes. */
  memoryBytes: number;
  /** Kernel release. */
  kernel: string;
  /** Deno version. */
  deno: string;
  /** 1, 5 and 15-minute load averages when the run started. */
  loadBefore: number[];
  /** The same when it ended. */
  loadAfter: number[];
}

/** One share measured. */
export interface ShareResult {
  /** Bytes shared. */
  bytes: number;
  /** Ms from spawn to the printed ID (start-up + hash + register). */
  ms: number;
  /** bytes / ms, MB/s. */
  mbps: number;
  /** Ms the share reported: from the command's start (modules loaded) to registered. */
  reportedMs?: number;
  /** Each share timed, when `ms` and `reportedMs` are their medians. */
  runs?: { ms: number; reportedMs: number }[];
}

/** One get measured, with how many sharers served it. */
export interface GetRow extends GetResult {
  /** Sharers registered for the file. */
  sharers: number;
  /**
   * Wall ms of each get timed, in the order run, when this row is their
   * median (its peak RSS is then the highest of them).
   */
  runs?: number[];
}

/** Everything one run measured. */
export interface BenchResults {
  /** ISO time the run started. */
  date: string;
  /** True for `--quick`. */
  quick: boolean;
  /**
   * Ms the machine idled before each get, write-baseline run and the aria2c
   * download (see `settle.ts`); 0 in quick runs.
   */
  settleMs?: number;
  /** The machine. */
  machine: MachineInfo;
  /** Sizes of the two test files, bytes (large is 0 when skipped). */
  sizes: { small: number; large: number; largeNote?: string };
  /** Raw Deno TCP over loopback. */
  tcp?: Throughput;
  /** Streaming SHA-256 of the small test file, and its hex digest. */
  sha256?: Throughput & { hex: string };
  /** Writing the small file's size to a new file: a get's writing alone. */
  write?: Throughput;
  /** The same past the page cache, as `peer get` writes where it can. */
  writeDirect?: Throughput;
  /** The work every get must do, with no protocol: the floor under a get. */
  floor?: FloorResult;
  /** The same through the product's secret stream (every get is encrypted). */
  floorEncrypted?: FloorResult;
  /** An encrypted get's cost besides its bytes, which the floor leaves out. */
  getFixedCost?: FixedCostResult;
  /** Ms `peer --help` takes: process start-up inside every timing. */
  startupMs?: number;
  /** Shares, small file then large. */
  shares: ShareResult[];
  /** Gets, in the order run. */
  gets: GetRow[];
  /** The aria2c anchor. */
  aria2?: Aria2Result;
  /** One capped sharer → eight gets at once, and one after the other. */
  swarm?: SwarmResult;
  /** Gets over emulated links, with one TCP stream over the same link. */
  links?: LinkResult[];
  /** Why the emulated links were not measured, if they were not. */
  linksSkipped?: string;
  /** Share and gets encrypted vs in plaintext, interleaved. */
  crypto?: CryptoResults;
  /** Tracker queries per second, tracker.ts as shipped. */
  trackerQps?: QpsResult;
  /** The same with the per-address rate limit lifted: the server's capacity. */
  trackerCapacity?: QpsResult;
  /** Tracker memory when full. */
  trackerMemory?: MemoryResult;
  /** Top functions of a profiled `peer get`, if `--profile`. */
  profile?: { totalMs: number; entries: ProfileEntry[] };
  /** Targets of issue 4 checked against the numbers above. */
  targets: TargetCheck[];
  /** Sections that failed, with why. */
  errors: string[];
}

/** One target of issue 4 and whether this run met it. */
export interface TargetCheck {
  /** What is measured. */
  name: string;
  /** The goal, in words. */
  goal: string;
  /** The measured value, in words. */
  measured: string;
  /** Whether it was met; undefined when not measured. */
  met?: boolean;
}

/** Checks every target of issue 4 that this run has numbers for. */
export function checkTargets(r: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const sha = r.sha256?.mbps;
  const share = r.shares.find((s) => s.bytes === r.sizes.small);
  if (share && sha) {
    const ratio = share.mbps / sha;
    checks.push({
      name: "Share vs SHA-256, from spawn (Deno start-up included)",
      goal: `≥ ${pct(SHARE_TARGET_RATIO)} of SHA-256`,
      measured: pct(ratio),
      met: ratio >= SHARE_TARGET_RATIO,
    });
    if (share.reportedMs) {
      const own = share.bytes / 1e6 / (share.reportedMs / 1000) / sha;
      checks.push({
        name: "Share vs SHA-256, from the command's start (hash + register)",
        goal: `≥ ${pct(SHARE_TARGET_RATIO)} of SHA-256`,
        measured: pct(own),
        met: own >= SHARE_TARGET_RATIO,
      });
    }
  }
  const one = findGet(r, r.sizes.small, 1);
  const four = findGet(r, r.sizes.small, 4);
  if (one && r.sha256) {
    const passes = one.wallMs / r.sha256.ms;
    checks.push({
      name: "Get from 1 sharer vs SHA-256 pass",
      goal: `≤ ${GET_TARGET_SHA_PASSES}× one pass`,
      measured: `${passes.toFixed(2)}× one pass${
        r.write
          ? ` (writing a new file that size alone: ${
            (r.write.ms / r.sha256.ms).toFixed(2)
          }×${
            r.writeDirect
              ? `, past the page cache as peer get does: ${
                (r.writeDirect.ms / r.sha256.ms).toFixed(2)
              }×`
              : ""
          })`
          : ""
      }${
        r.floor
          ? `; receiving, hashing and writing it with no protocol took ${
            (r.floor.ms / r.sha256.ms).toFixed(2)
          }× (${(r.floor.busyMs / 1000).toFixed(2)} CPU-s in all)`
          : ""
      }${workFloor(one, r)}`,
      met: passes <= GET_TARGET_SHA_PASSES,
    });
  }
  if (one && r.aria2?.ran) {
    const ratio = one.mbps / r.aria2.mbps;
    checks.push({
      name: "Get from 1 sharer vs aria2c",
      goal: `≥ ${GET_TARGET_ARIA2_RATIO}× aria2c`,
      measured: `${ratio.toFixed(2)}×`,
      met: ratio >= GET_TARGET_ARIA2_RATIO,
    });
  }
  if (one && four) {
    checks.push({
      name: "Get from 4 sharers vs from 1",
      goal: "no slower",
      measured: `${(four.mbps / one.mbps).toFixed(2)}× the speed`,
      met: four.mbps >= one.mbps,
    });
  }
  for (const get of r.gets) {
    checks.push({
      name: `Peak RSS of get, ${size(get.bytes)} from ${get.sharers}`,
      goal: `≤ ${mib(GET_TARGET_RSS_BYTES)}`,
      measured: mib(get.peakRssBytes),
      met: get.peakRssBytes <= GET_TARGET_RSS_BYTES,
    });
  }
  for (const q of [r.trackerQps, r.trackerCapacity]) {
    if (!q) continue;
    checks.push({
      name: `Tracker queries served/s, ${q.clients} clients, ${q.tracker}`,
      goal: `≥ ${count(TRACKER_TARGET_QPS)}/s`,
      measured: `${count(Math.round(q.servedPerSecond))}/s`,
      met: q.servedPerSecond >= TRACKER_TARGET_QPS,
    });
  }
  const memory = r.trackerMemory;
  if (memory) {
    const full = memory.files * memory.peersPerFile >= 1_000_000;
    checks.push({
      name: `Tracker memory, ${
        count(memory.files)
      } files × ${memory.peersPerFile} peers`,
      goal: `≤ ${mib(TRACKER_TARGET_MEMORY_BYTES)} at 100,000 × 10`,
      measured: mib(memory.rssBytes),
      met: full ? memory.rssBytes <= TRACKER_TARGET_MEMORY_BYTES : undefined,
    });
  }
  checks.push(...floorTargets(floorPart(r)));
  checks.push(...linkTargets(r.links), ...cryptoTargets(r.crypto));
  return checks;
}

/** What the floor rows and their target read (floor_report.ts). */
function floorPart(r: BenchResults): FloorPart {
  return {
    cpus: r.machine.cpus,
    floor: r.floor,
    floorEncrypted: r.floorEncrypted,
    fixedCost: r.getFixedCost,
    aria2: r.aria2,
    get: findGet(r, r.sizes.small, 1),
    crypto: r.crypto,
  };
}

/** Markdown tables of a run: transfers, tracker, targets. */
export function formatReport(r: BenchResults): string {
  const lines: string[] = [];
  const m = r.machine;
  lines.push(
    `Machine: ${m.cpus} × ${m.cpuModel}, ${
      (m.memoryBytes / 1024 ** 3).toFixed(1)
    } GiB RAM, Linux ${m.kernel}, Deno ${m.deno}; load ${
      m.loadBefore.map((l) => l.toFixed(2)).join(" ")
    } at start, ${m.loadAfter.map((l) => l.toFixed(2)).join(" ")} at end.`,
    `MB = 10^6 bytes. Times are wall clock from spawning the process${
      r.startupMs ? ` (Deno start-up of peer.ts: ${ms(r.startupMs)})` : ""
    }. ${
      r.settleMs
        ? `Each get, write-baseline run and the aria2c download starts after the machine idled ${
          ms(r.settleMs)
        } (bench/settle.ts). `
        : ""
    }${
      r.quick
        ? "Quick run: smaller sizes, shorter tracker load, no idling before gets (they vary with the state of memory)."
        : ""
    }`,
    "",
    "| Measurement | Time | MB/s | × SHA-256 | × TCP | Peak RSS |",
    "|---|---:|---:|---:|---:|---:|",
  );
  const sha = r.sha256?.mbps;
  const tcp = r.tcp?.mbps;
  const row = (name: string, t: number, mbps: number, rss?: number) =>
    lines.push(
      `| ${name} | ${ms(t)} | ${mbps.toFixed(0)} | ${ratio(mbps, sha)} | ${
        ratio(mbps, tcp)
      } | ${rss ? mib(rss) : "—"} |`,
    );
  if (r.tcp) {
    row(
      `TCP loopback, ${size(r.tcp.bytes)} (median of ${r.tcp.runs.length})`,
      r.tcp.ms,
      r.tcp.mbps,
    );
  }
  if (r.sha256) {
    row(
      `SHA-256 streaming, ${
        size(r.sha256.bytes)
      } (median of ${r.sha256.runs.length})`,
      r.sha256.ms,
      r.sha256.mbps,
    );
  }
  for (
    const [write, how] of [
      [r.write, ""],
      [r.writeDirect, " past the page cache (O_DIRECT)"],
    ] as const
  ) {
    if (!write) continue;
    row(
      `Writing a new file${how}, ${
        size(write.bytes)
      } (median of ${write.runs.length}: ${
        write.runs.map((run) => run.toFixed(0)).join(", ")
      } MB/s)`,
      write.ms,
      write.mbps,
    );
  }
  formatFloors(floorPart(r), row);
  for (const share of r.shares) {
    row(
      `peer share ${size(share.bytes)} (spawn to registered${
        share.runs ? `, median of ${share.runs.length}` : ""
      })`,
      share.ms,
      share.mbps,
    );
    if (share.reportedMs) {
      row(
        `peer share ${size(share.bytes)} (its own time: hash + register${
          share.runs ? `, median of ${share.runs.length}` : ""
        })`,
        share.reportedMs,
        share.bytes / 1e6 / (share.reportedMs / 1000),
      );
    }
  }
  for (const get of r.gets) {
    row(
      `peer get ${size(get.bytes)} from ${get.sharers} sharer${
        get.sharers > 1 ? "s" : ""
      }${
        get.runs
          ? ` (median of ${get.runs.length}: ${get.runs.map(ms).join(", ")})`
          : ""
      }`,
      get.wallMs,
      get.mbps,
      get.peakRssBytes,
    );
  }
  if (r.aria2?.ran) {
    row(
      `aria2c ${size(r.aria2.bytes)}, 1 seeder → 1 downloader`,
      r.aria2.wallMs,
      r.aria2.mbps,
      r.aria2.peakRssBytes,
    );
    if (r.aria2.reportedMbps) {
      lines.push(
        `| aria2c's own reported average (excludes start-up, tracker and connect) | — | ${
          r.aria2.reportedMbps.toFixed(0)
        } | ${ratio(r.aria2.reportedMbps, sha)} | ${
          ratio(r.aria2.reportedMbps, tcp)
        } | — |`,
      );
    }
  } else if (r.aria2) {
    lines.push(`| aria2c anchor: not run — ${r.aria2.reason} | | | | | |`);
  }
  if (r.swarm) formatSwarm(r.swarm, lines);
  lines.push(...formatLinks(r.links, r.linksSkipped));
  lines.push(...formatCrypto(r.crypto));
  formatTracker(r, lines);
  lines.push("", "| Target | Goal | Measured | Met |", "|---|---|---|---|");
  for (const t of r.targets) {
    const met = t.met === undefined ? "n/a" : t.met ? "yes" : "**no**";
    lines.push(`| ${t.name} | ${t.goal} | ${t.measured} | ${met} |`);
  }
  if (r.profile) {
    lines.push(
      "",
      `Top self time in a profiled peer get (${
        ms(r.profile.totalMs)
      } sampled):`,
      "",
      "| Function | Self ms | Share |",
      "|---|---:|---:|",
    );
    for (const e of r.profile.entries) {
      lines.push(`| ${e.name} | ${e.selfMs.toFixed(0)} | ${pct(e.share)} |`);
    }
  }
  for (const error of r.errors) lines.push("", `Failed: ${error}`);
  return lines.join("\n");
}

function formatTracker(r: BenchResults, lines: string[]): void {
  const mem = r.trackerMemory;
  const loads = [r.trackerQps, r.trackerCapacity].filter((q) =>
    q !== undefined
  );
  if (loads.length === 0 && !mem) return;
  lines.push("", "| Tracker | Result | Detail |", "|---|---:|---|");
  for (const q of loads) {
    lines.push(
      `| Queries answered/s, ${q.clients} clients (one address each), ${
        ms(q.ms)
      }: ${q.tracker} | ${count(Math.round(q.perSecond))} | served (\`file\`) ${
        count(Math.round(q.servedPerSecond))
      }/s, refused ${count(q.refused)}; tracker used ${
        pct(q.trackerCpu)
      } of a core; peak RSS ${mib(q.trackerPeakRssBytes)} |`,
    );
  }
  if (mem) {
    lines.push(
      `| RSS holding ${count(mem.files)} files × ${mem.peersPerFile} peers | ${
        mib(mem.rssBytes)
      } | ${
        count(mem.registrationsHeld)
      } registrations held, ${mem.refused} refused; empty ${
        mib(mem.emptyRssBytes)
      }, peak ${mib(mem.peakRssBytes)}; filled ${mem.method} in ${
        ms(mem.fillMs)
      } (${count(Math.round(mem.fillPerSecond))}/s) |`,
    );
  }
}

/**
 * What the get's work alone allows: the CPU time the whole machine spent
 * during it, spread over every core, in SHA-256 passes.
 */
function workFloor(get: GetRow, r: BenchResults): string {
  if (!get.busyMs || !r.sha256 || r.machine.cpus < 1) return "";
  const floor = get.busyMs / r.machine.cpus / r.sha256.ms;
  return `; all processes used ${
    (get.busyMs / 1000).toFixed(2)
  } CPU-s, so even spread over ${r.machine.cpus} cores ≥ ${floor.toFixed(2)}×`;
}

function findGet(r: BenchResults, bytes: number, sharers: number) {
  return r.gets.find((g) => g.bytes === bytes && g.sharers === sharers);
}

function ratio(value: number, base?: number): string {
  return base ? `${(value / base).toFixed(2)}` : "—";
}

function pct(value: number): string {
  return `${(value * 100).toFixed(0)}%`;
}

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(0)} MiB`;
}

function count(n: number): string {
  return n.toLocaleString("en");
}
