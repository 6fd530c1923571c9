/**
 * One tracker for a whole community (#22): a `tracker.ts` process under a
 * crowd of N simulated peers (`scripts/_crowd.ts`, split over child
 * processes by `scripts/_crowd_fleet.ts`), each from its own loopback
 * address, registering one to ten files and re-announcing them on the
 * default interval, with 1% of them querying a second. Over one announce
 * interval: the tracker's RSS and CPU, the crowd's announce and query
 * latencies, an honest probe's query latency (one client from 127.0.0.1 in
 * this process, 20 queries a second) and a real `peer share` + `peer get`.
 * Then the flood of the hostile tests from 8 addresses (idle connections,
 * half-open ones that never start the handshake, a query flood) and the
 * probe's latency under it, against the quiet figure; during the query
 * flood a second probe asks a second, idle tracker, and the flooders' and
 * the whole machine's CPU are measured: what of the probe's p99 the
 * flooded tracker adds, and what the cores shared with the flooders do to
 * any tracker.
 *
 * The tracker and the crowd's children are started through `prlimit
 * --nofile` when they need more open files than this process has (root
 * only; otherwise the row is skipped).
 *
 * @module
 */

import {
  canRaiseOpenFiles,
  CrowdFleet,
  openFileLimit,
  withOpenFiles,
} from "../scripts/_crowd_fleet.ts";
import { crowdHost, halfOpen } from "../scripts/_crowd.ts";
import type { CrowdStats } from "../scripts/_crowd.ts";
import { Latencies, type LatencySummary } from "../scripts/_latency.ts";
import { PERMISSIONS, runEntry, spawnSharer } from "../scripts/_child.ts";
import { TrackerClient } from "../lib/discovery/tracker_client.ts";
import { ANNOUNCE_INTERVAL_MS } from "../lib/protocol/limits.ts";
import { type Child, machineBusySeconds, spawn } from "./_process.ts";
import { cpuSecondsSince, pidsCpuSeconds, runProbe } from "./_crowd_probe.ts";
import { REPO_ROOT } from "./transfer.ts";
import { writeTestFile } from "./baselines.ts";

/** Peers one crowd child process holds. */
export const PEERS_PER_PROCESS = 15_000;
/** Crowd sizes of a full run and a quick one. */
export const CROWD_SIZES = {
  full: [1_000, 10_000, 100_000],
  quick: [1_000, 10_000],
};
/** Flood: attacking addresses, idle and half-open connections from each, query flooders. */
export const FLOOD = { addresses: 8, idle: 256, halfOpen: 64, querying: 4 };
/**
 * `nice` of the crowd's and the flooders' processes: they stand for other
 * machines, so the tracker and the probe get the 2 cores first.
 */
const CROWD_NICE = 19;
/** Queries a second the flooders try to send, all together. */
const FLOOD_QPS = 8_000;
/** Ms the probe is measured under the flood. */
const FLOOD_MS = 10_000;
/** Bytes of the file the real share and get move. */
const GET_BYTES = 4 * 1024 * 1024;
/**
 * Ms between samples of the tracker's RSS over the window: the row's RSS is
 * their median, not the figure at one instant (which swings by tens of MiB
 * with the garbage collector's cycle, too much for a per-peer slope).
 */
const RSS_SAMPLE_MS = 1_000;
/** Open files the tracker needs beyond one per connection. */
const SPARE_FDS = 4_096;
/** Longest the tracker may take to start. */
const START_MS = 30_000;

/** One crowd size's figures. */
export interface CrowdRow {
  /** Peers asked for. */
  peers: number;
  /** Child processes holding them. */
  processes: number;
  /** Peers connected after opening, and those that could not be. */
  opened: number;
  failed: number;
  /** Files the crowd registered, and registrations the tracker reports. */
  files: number;
  registrations: number;
  /** Ms opening and registering took. */
  openMs: number;
  /** Ms of the measured window (one announce interval). */
  windowMs: number;
  /** Tracker RSS over the window (the median of a sample a second) and its peak, bytes. */
  trackerRssBytes: number;
  trackerPeakRssBytes: number;
  /** Cores the tracker used over the window (1 = one core). */
  trackerCpu: number;
  /** Announces answered a second over the window. */
  announcesPerSecond: number;
  /** The crowd's own latencies over the window. */
  announceMs: LatencySummary;
  queryMs: LatencySummary;
  /** The honest probe's query latency, quiet. */
  probeMs: LatencySummary;
  /** The real share and get of a 4 MiB file. */
  get: { ok: boolean; ms: number; error?: string };
  /** The flood, and the probe under it. */
  flood?: {
    idle: number;
    halfOpen: number;
    /** The probe with the idle and half-open connections alone. */
    connectionsProbeMs: LatencySummary;
    /** The probe with the query flood added too. */
    probeMs: LatencySummary;
    /** A second probe meanwhile, of a second tracker nobody floods (absent: it did not start). */
    idleTrackerProbeMs?: LatencySummary;
    /** Queries the flooders got answered a second. */
    floodQueriesPerSecond: number;
    /** Cores the flooded tracker used. */
    trackerCpu: number;
    /** Cores the flooders' processes used. */
    flooderCpu?: number;
    /** Cores the whole machine used (every process and the kernel). */
    machineCpu?: number;
    flooderErrors: Record<string, number>;
  };
  /** Crowd failures by what they said. */
  errors: Record<string, number>;
  /** Why this size was not run. */
  skipped?: string;
}

/** The crowd rows of a run. */
export interface CrowdResults {
  rows: CrowdRow[];
}

/** Options for {@linkcode crowdBench}. */
export interface CrowdBenchOptions {
  /** Crowd sizes to run. */
  sizes: readonly number[];
  /** Folder for the shared file and the get. */
  work: string;
  /** Progress lines. */
  step: (text: string) => void;
}

/** Runs every size in turn; a size that fails leaves its error in the row. */
export async function crowdBench(
  into: CrowdResults,
  options: CrowdBenchOptions,
): Promise<void> {
  const file = `${options.work}/crowd-get.bin`;
  writeTestFile(file, GET_BYTES);
  try {
    let last = 0;
    for (const asked of options.sizes) {
      let peers = asked;
      const fits = largestCrowd(asked);
      if (fits < asked) {
        into.rows.push(skippedRow(asked, trackerFdsText(trackerFds(asked))));
        // The largest crowd this machine's open-file limit allows instead.
        if (fits <= last) continue;
        peers = fits;
      }
      options.step(
        `tracker under a crowd of ${peers.toLocaleString("en")} peers`,
      );
      into.rows.push(await crowdRow(peers, file, options.work));
      last = peers;
    }
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

async function crowdRow(
  peers: number,
  file: string,
  work: string,
): Promise<CrowdRow> {
  const fds = trackerFds(peers);
  const processes = Math.ceil(peers / PEERS_PER_PROCESS);
  const tracker = await startTracker(fds);
  if (typeof tracker === "string") return skippedRow(peers, tracker);
  const fleets: CrowdFleet[] = [];
  try {
    const address = { host: "127.0.0.1", port: tracker.port };
    const crowd = await CrowdFleet.open({
      processes,
      nice: CROWD_NICE,
      tracker: address,
      peers,
      queriesPerSecond: peers / 100,
      openTimeoutMs: Math.max(60_000, peers * 3),
    });
    fleets.push(crowd);
    const opened = await crowd.stats();
    const quiet = await measureWindow(tracker.child, crowd, address, {
      file,
      work,
      ms: ANNOUNCE_INTERVAL_MS,
    });
    const registrations = await trackerRegistrations(address);
    const flood = await measureFlood(tracker.child, address, fleets);
    return {
      peers,
      processes,
      opened: opened.open,
      failed: opened.failed,
      files: opened.files,
      registrations,
      openMs: opened.openMs,
      ...quiet,
      flood,
      errors: { ...opened.errors, ...quiet.errors },
    };
  } finally {
    await Promise.allSettled(fleets.map((fleet) => fleet.close()));
    await tracker.child.stop();
  }
}

/** The quiet window: one announce interval with the probe and a real get. */
async function measureWindow(
  tracker: Child,
  crowd: CrowdFleet,
  address: { host: string; port: number },
  options: { file: string; work: string; ms: number },
) {
  await crowd.resetCounts();
  const cpuBefore = tracker.cpuSeconds();
  const started = performance.now();
  const rss: number[] = [];
  const sampler = setInterval(
    () => rss.push(tracker.currentRssBytes()),
    RSS_SAMPLE_MS,
  );
  const probe = runProbe(address, options.ms);
  const get = realGet(address, options.file, options.work);
  const [probeMs, got] = await Promise.all([probe, get]);
  const left = options.ms - (performance.now() - started);
  if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
  clearInterval(sampler);
  const windowMs = performance.now() - started;
  const stats: CrowdStats = await crowd.stats();
  return {
    windowMs,
    trackerRssBytes: median(rss) ?? tracker.currentRssBytes(),
    trackerPeakRssBytes: tracker.peakRssBytes,
    trackerCpu: (tracker.cpuSeconds() - cpuBefore) / (windowMs / 1000),
    announcesPerSecond: stats.announces / (windowMs / 1000),
    announceMs: summary(stats.announceMs),
    queryMs: summary(stats.queryMs),
    probeMs,
    get: got,
    errors: stats.errors,
  };
}

/** The flood from 8 addresses while the probe runs. */
async function measureFlood(
  tracker: Child,
  address: { host: string; port: number },
  fleets: CrowdFleet[],
): Promise<CrowdRow["flood"]> {
  const first = 5_000_000;
  const idle = await CrowdFleet.open({
    processes: 1,
    nice: CROWD_NICE,
    tracker: address,
    peers: FLOOD.addresses * FLOOD.idle,
    addresses: FLOOD.addresses,
    firstAddress: first,
    files: [0, 0],
    tries: 1,
  });
  fleets.push(idle);
  const raw = (await Promise.all(
    Array.from(
      { length: FLOOD.addresses },
      (_, a) => halfOpen(address, crowdHost(first + a), FLOOD.halfOpen),
    ),
  )).flat();
  try {
    const connectionsProbeMs = await runProbe(address, FLOOD_MS);
    return {
      connectionsProbeMs,
      ...await queryFlood(tracker, address, fleets, first),
      idle: (await idle.stats()).open,
      halfOpen: raw.length,
    };
  } finally {
    for (const socket of raw) socket.destroy();
  }
}

/** The query flood from the same 8 addresses, while the probe runs. */
async function queryFlood(
  tracker: Child,
  address: { host: string; port: number },
  fleets: CrowdFleet[],
  first: number,
) {
  // Started before the flooders, so that the probes begin as soon after
  // them as they did without it (the flood's first second is its burst).
  const idle = await startTracker(SPARE_FDS);
  try {
    const flooders = await CrowdFleet.open({
      processes: 1,
      nice: CROWD_NICE,
      tracker: address,
      peers: FLOOD.addresses * FLOOD.querying,
      addresses: FLOOD.addresses,
      firstAddress: first,
      peerOffset: FLOOD.addresses * FLOOD.idle,
      files: [1, 1],
      tries: 1,
      queriesPerSecond: FLOOD_QPS,
    });
    fleets.push(flooders);
    await flooders.resetCounts();
    const cpuBefore = tracker.cpuSeconds();
    const flooderBefore = pidsCpuSeconds(flooders.pids);
    const machineBefore = machineBusySeconds();
    const started = performance.now();
    const [probeMs, idleTrackerProbeMs] = await Promise.all([
      runProbe(address, FLOOD_MS),
      typeof idle === "string"
        ? undefined
        : runProbe({ host: "127.0.0.1", port: idle.port }, FLOOD_MS),
    ]);
    const seconds = (performance.now() - started) / 1000;
    const stats = await flooders.stats();
    return {
      probeMs,
      idleTrackerProbeMs,
      floodQueriesPerSecond: stats.queries / seconds,
      trackerCpu: (tracker.cpuSeconds() - cpuBefore) / seconds,
      flooderCpu: cpuSecondsSince(flooderBefore) / seconds,
      machineCpu: (machineBusySeconds() - machineBefore) / seconds,
      flooderErrors: stats.errors,
    };
  } finally {
    if (typeof idle !== "string") await idle.child.stop();
  }
}

/** A real `peer share` of `file` and a `peer get` of it. */
async function realGet(
  address: { host: string; port: number },
  file: string,
  work: string,
): Promise<CrowdRow["get"]> {
  const where = `127.0.0.1:${address.port}`;
  const out = await Deno.makeTempDir({ dir: work, prefix: "crowd-get-" });
  let sharer;
  try {
    sharer = await spawnSharer(file, where);
    const started = performance.now();
    const get = await runEntry("peer.ts", [
      "get",
      sharer.id,
      "--tracker",
      where,
      "--out",
      out,
      "--host",
      "127.0.0.1",
    ], { timeoutMs: 60_000 });
    const ms = performance.now() - started;
    return get.code === 0
      ? { ok: true, ms }
      : { ok: false, ms, error: get.stderr.trim().split("\n").pop() };
  } catch (error) {
    return { ok: false, ms: 0, error: String(error) };
  } finally {
    await sharer?.child.stop();
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
}

async function trackerRegistrations(
  address: { host: string; port: number },
): Promise<number> {
  const client = await TrackerClient.connect(address);
  try {
    return (await client.stats()).registrations;
  } finally {
    client.close();
  }
}

/** Open files the tracker needs for `peers` and the flood. */
function trackerFds(peers: number): number {
  return peers + FLOOD.addresses * (FLOOD.idle + FLOOD.halfOpen) + SPARE_FDS;
}

/** `peers`, or the most thousands of peers the open-file limit allows here. */
function largestCrowd(peers: number): number {
  const fds = trackerFds(peers);
  if (fds <= openFileLimit() || canRaiseOpenFiles(fds)) return peers;
  return Math.floor((openFileLimit() - trackerFds(0)) / 1_000) * 1_000;
}

function trackerFdsText(fds: number): string {
  return `the tracker needs ${fds} open files; the limit is ${openFileLimit()} and cannot be raised here (root with CAP_SYS_RESOURCE can: prlimit --nofile)`;
}

/** `tracker.ts` with `fds` open files, or why it cannot have them. */
async function startTracker(
  fds: number,
): Promise<{ child: Child; port: number } | string> {
  const run = withOpenFiles(fds, [
    "run",
    ...PERMISSIONS["tracker.ts"],
    `${REPO_ROOT}tracker.ts`,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ]);
  if (!run) {
    return trackerFdsText(fds);
  }
  const child = spawn(run.command, run.args);
  try {
    const { line } = await child.waitForLine(
      (text) => /listening on \S+:\d+/i.test(text),
      START_MS,
    );
    return { child, port: Number(/:(\d+)\s*$/.exec(line)?.[1]) };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

function skippedRow(peers: number, why: string): CrowdRow {
  const none = { count: 0, p50: 0, p99: 0, max: 0 };
  return {
    peers,
    processes: 0,
    opened: 0,
    failed: 0,
    files: 0,
    registrations: 0,
    openMs: 0,
    windowMs: 0,
    trackerRssBytes: 0,
    trackerPeakRssBytes: 0,
    trackerCpu: 0,
    announcesPerSecond: 0,
    announceMs: none,
    queryMs: none,
    probeMs: none,
    get: { ok: false, ms: 0 },
    errors: {},
    skipped: why,
  };
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function summary(json: CrowdStats["queryMs"]): LatencySummary {
  const latencies = new Latencies();
  latencies.merge(json);
  return latencies.summary();
}
