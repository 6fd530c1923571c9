/**
 * The flood floor (#22), a control for the crowd bench's flood (`crowd.ts`):
 * the barest server of the same load (`_bare_server.ts`: accepts, reads
 * length-prefixed requests as the tracker does, admits queries at the
 * tracker's rate per address, answers each with a reply of the tracker's
 * size; no handshake, JSON or registry), started with the tracker's V8
 * flags, and with `cipher` also opening and sealing each record with
 * `node:crypto`'s ChaCha20-Poly1305, and with `heavy` under flooders that
 * spend as much CPU as the crowd bench's do. The load is the crowd bench's, in
 * shape (`_flood_clients.ts`): N persistent connections from loopback
 * addresses of their own announcing every 60 s and querying 1% a second,
 * then 8 flooding addresses with 256 idle and 64 half-open connections
 * each (here all silent), then 4 connections each querying 1,000 a second;
 * the crowd and the flooders at `nice 19`. The probe is the crowd bench's
 * in cadence (one query at a time from 127.0.0.1, every PROBE_EVERY_MS
 * after the last answer), quiet, under the connections, and under the
 * query flood, when a second probe asks a second, idle, bare server too.
 *
 * Whether the flood's p99 over the quiet p99 passes 2 here as well says
 * whether the crowd bench's ratio is the runtime's and this machine's for
 * any server, or the tracker's own.
 *
 * @module
 */

import { Latencies, type LatencySummary } from "../scripts/_latency.ts";
import { TRACKER_V8_FLAGS } from "../scripts/compile.ts";
import {
  QUERIES_PER_SECOND_PER_ADDRESS,
  QUERY_BURST_PER_ADDRESS,
} from "../lib/tracker/rate_limit.ts";
import { RATE_WAIT_MS } from "../lib/tracker/server.ts";
import { type Child, machineBusySeconds, spawn } from "./_process.ts";
import {
  cpuSecondsSince,
  pidsCpuSeconds,
  PROBE_EVERY_MS,
} from "./_crowd_probe.ts";
import { FLOOD, PEERS_PER_PROCESS } from "./crowd.ts";
import type { BareServerOptions } from "./_bare_server.ts";
import { ClientFleet, type ClientStats } from "./_flood_clients.ts";
import {
  frame,
  FrameSplitter,
  KIND,
  plaintext,
  RecordCipher,
  REQUEST_PAYLOAD_BYTES,
} from "./_flood_frames.ts";

/** Connection counts the floor runs, as the crowd bench's `--quick`. */
export const FLOOD_FLOOR_SIZES = [1_000, 10_000];
/**
 * The servers: bare, bare with a cipher per record, and bare with flooders
 * as heavy as the crowd bench's (FLOODER_BURN_US).
 */
export const FLOOD_FLOOR_VARIANTS = ["bare", "cipher", "heavy"] as const;
/** One of {@linkcode FLOOD_FLOOR_VARIANTS}. */
export type FloodFloorVariant = typeof FLOOD_FLOOR_VARIANTS[number];
/** `nice` of the crowd's and the flooders' processes, as the crowd bench's. */
const CLIENT_NICE = 19;
/** Queries a second the flooders try, all together, as the crowd bench's. */
const FLOOD_QPS = 8_000;
/** Ms the probe is measured quiet: 3,000 samples, a p99 of 30. */
export const FLOOD_FLOOR_QUIET_MS = 30_000;
/** Ms the probe is measured under each stage of the flood, as the crowd bench's. */
const FLOOD_MS = 10_000;
/** Queries a second of the crowd: 1% of its peers, as the crowd bench's. */
const CROWD_QUERY_SHARE = 0.01;
/** `crowdHost` index of the first flooding address, as the crowd bench's. */
const FLOOD_FIRST_ADDRESS = 5_000_000;
/**
 * µs of CPU the heavy variant's flooders spend after each query sent: with
 * it they use about what the crowd bench's flooders (encrypted JSON
 * clients) used under the flood, 45-49% of a core, against 11-12% without
 * (8,000 tried a second × 45 µs is 36% more).
 */
const FLOODER_BURN_US = 45;
/** Longest the server may take to start. */
const START_MS = 30_000;
/** Bytes of the probe's socket reads. */
const PROBE_READ_BYTES = 4_096;

/** The flood stages of one row. */
export interface FloodFloorFlood {
  /** Silent connections the flooding addresses held (idle and half-open alike). */
  idle: number;
  halfOpen: number;
  /** The probe with the silent connections alone. */
  connectionsProbeMs: LatencySummary;
  /** The probe with the query flood added too. */
  probeMs: LatencySummary;
  /** A second probe meanwhile, of a second bare server nobody floods. */
  idleServerProbeMs?: LatencySummary;
  /** Queries the flooders got answered a second, and `busy`s. */
  floodQueriesPerSecond: number;
  floodBusyPerSecond: number;
  /** Cores the flooded server, the flooders and the whole machine used. */
  serverCpu: number;
  flooderCpu: number;
  machineCpu: number;
  flooderErrors: Record<string, number>;
}

/** One server and crowd size's figures. */
export interface FloodFloorRow {
  /** Which server. */
  variant: FloodFloorVariant;
  /** Connections asked for, opened, and those that failed. */
  peers: number;
  opened: number;
  failed: number;
  /** Ms opening took. */
  openMs: number;
  /** Ms of the quiet window. */
  windowMs: number;
  /** Cores the server used over the quiet window, and its RSS after it. */
  serverCpu: number;
  serverRssBytes: number;
  /** Announces and crowd queries answered a second over the quiet window. */
  announcesPerSecond: number;
  crowdQueriesPerSecond: number;
  /** The honest probe's query latency, quiet. */
  probeMs: LatencySummary;
  /** The flood, and the probe under it. */
  flood?: FloodFloorFlood;
  /** Why the row failed, when it did. */
  error?: string;
}

/** The flood floor's rows. */
export interface FloodFloorResults {
  rows: FloodFloorRow[];
}

/** Options for {@linkcode floodFloorBench}. */
export interface FloodFloorOptions {
  /** Connection counts to run. @default {FLOOD_FLOOR_SIZES} */
  sizes?: readonly number[];
  /** Servers to run, alternated at each size. @default {FLOOD_FLOOR_VARIANTS} */
  variants?: readonly FloodFloorVariant[];
  /** Progress lines. */
  step: (text: string) => void;
}

/** Runs every size, each with every variant in turn; a failed row keeps its error. */
export async function floodFloorBench(
  into: FloodFloorResults,
  options: FloodFloorOptions,
): Promise<void> {
  for (const peers of options.sizes ?? FLOOD_FLOOR_SIZES) {
    for (const variant of options.variants ?? FLOOD_FLOOR_VARIANTS) {
      options.step(
        `flood floor: ${variant} server, ${peers.toLocaleString("en")} peers`,
      );
      try {
        into.rows.push(await floorRow(variant, peers));
      } catch (error) {
        into.rows.push(failedRow(variant, peers, error));
      }
    }
  }
}

async function floorRow(
  variant: FloodFloorVariant,
  peers: number,
): Promise<FloodFloorRow> {
  const cipher = variant === "cipher";
  const server = await startServer(cipher);
  const fleets: ClientFleet[] = [];
  try {
    const address = { host: "127.0.0.1", port: server.port };
    const crowd = await ClientFleet.open({
      processes: Math.ceil(peers / PEERS_PER_PROCESS),
      nice: CLIENT_NICE,
      server: address,
      peers,
      queriesPerSecond: peers * CROWD_QUERY_SHARE,
      cipher,
    });
    fleets.push(crowd);
    const opened = await crowd.stats();
    await crowd.reset();
    const cpuBefore = server.child.cpuSeconds();
    const started = performance.now();
    const probeMs = await runBareProbe(address, FLOOD_FLOOR_QUIET_MS, cipher);
    const windowMs = performance.now() - started;
    const seconds = windowMs / 1000;
    const quiet = await crowd.stats();
    return {
      variant,
      peers,
      opened: opened.open,
      failed: opened.failed,
      openMs: opened.openMs,
      windowMs,
      serverCpu: (server.child.cpuSeconds() - cpuBefore) / seconds,
      serverRssBytes: server.child.currentRssBytes(),
      announcesPerSecond: quiet.announces / seconds,
      crowdQueriesPerSecond: quiet.queries / seconds,
      probeMs,
      flood: await measureFlood(server.child, address, fleets, variant),
    };
  } finally {
    await Promise.allSettled(fleets.map((fleet) => fleet.close()));
    await server.child.stop();
  }
}

/** The 8 addresses' silent connections, then their query flood, while the probe runs. */
async function measureFlood(
  server: Child,
  address: { host: string; port: number },
  fleets: ClientFleet[],
  variant: FloodFloorVariant,
): Promise<FloodFloorFlood> {
  const cipher = variant === "cipher";
  const heavy = variant === "heavy";
  const silentEach = FLOOD.idle + FLOOD.halfOpen;
  const silent = await ClientFleet.open({
    processes: 1,
    nice: CLIENT_NICE,
    server: address,
    peers: FLOOD.addresses * silentEach,
    addresses: FLOOD.addresses,
    firstAddress: FLOOD_FIRST_ADDRESS,
    silent: true,
  });
  fleets.push(silent);
  const connectionsProbeMs = await runBareProbe(address, FLOOD_MS, cipher);
  // Started before the flooders, so that the probes begin as soon after
  // them as in the crowd bench (the flood's first second is its burst).
  const idle = await startServer(cipher);
  try {
    const flooders = await ClientFleet.open({
      processes: 1,
      nice: CLIENT_NICE,
      server: address,
      peers: FLOOD.addresses * FLOOD.querying,
      addresses: FLOOD.addresses,
      firstAddress: FLOOD_FIRST_ADDRESS,
      peerOffset: FLOOD.addresses * silentEach,
      queriesPerSecond: FLOOD_QPS,
      cipher,
      burnUsPerQuery: heavy ? FLOODER_BURN_US : 0,
    });
    fleets.push(flooders);
    await flooders.reset();
    const cpuBefore = server.cpuSeconds();
    const flooderBefore = pidsCpuSeconds(flooders.pids);
    const machineBefore = machineBusySeconds();
    const started = performance.now();
    const [probeMs, idleServerProbeMs] = await Promise.all([
      runBareProbe(address, FLOOD_MS, cipher),
      runBareProbe({ host: "127.0.0.1", port: idle.port }, FLOOD_MS, cipher),
    ]);
    const seconds = (performance.now() - started) / 1000;
    const stats: ClientStats = await flooders.stats();
    const held = await silent.stats();
    return {
      idle: Math.min(held.open, FLOOD.addresses * FLOOD.idle),
      halfOpen: Math.max(0, held.open - FLOOD.addresses * FLOOD.idle),
      connectionsProbeMs,
      probeMs,
      idleServerProbeMs,
      floodQueriesPerSecond: stats.queries / seconds,
      floodBusyPerSecond: stats.busy / seconds,
      serverCpu: (server.cpuSeconds() - cpuBefore) / seconds,
      flooderCpu: cpuSecondsSince(flooderBefore) / seconds,
      machineCpu: (machineBusySeconds() - machineBefore) / seconds,
      flooderErrors: stats.errors,
    };
  } finally {
    await idle.child.stop();
  }
}

/**
 * An honest client from 127.0.0.1 asking `address` one query at a time,
 * every PROBE_EVERY_MS after the last answer, for `ms`: the crowd bench's
 * probe, over the floor's frames.
 */
export async function runBareProbe(
  address: { host: string; port: number },
  ms: number,
  cipher: boolean,
): Promise<LatencySummary> {
  const latencies = new Latencies();
  const conn = await Deno.connect({
    hostname: address.host,
    port: address.port,
  });
  try {
    conn.setNoDelay(true);
    const records = cipher ? new RecordCipher() : undefined;
    const request = plaintext(KIND.query, REQUEST_PAYLOAD_BYTES, cipher);
    const frames = new FrameSplitter();
    const chunk = new Uint8Array(PROBE_READ_BYTES);
    const end = performance.now() + ms;
    while (performance.now() < end) {
      const started = performance.now();
      const bytes = frame(records ? records.seal(request) : request);
      for (let at = 0; at < bytes.length;) {
        at += await conn.write(bytes.subarray(at));
      }
      let payload: Uint8Array | undefined;
      while ((payload = frames.next()) === undefined) {
        const got = await conn.read(chunk);
        if (got === null) throw new Error("The server closed the probe");
        frames.push(chunk.subarray(0, got));
      }
      records?.open(payload);
      latencies.add(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
    }
    return latencies.summary();
  } finally {
    conn.close();
  }
}

/** The bare server with the tracker's V8 flags and rate, on a port of its own. */
async function startServer(
  cipher: boolean,
): Promise<{ child: Child; port: number }> {
  const options: BareServerOptions = {
    host: "127.0.0.1",
    queriesPerSecond: QUERIES_PER_SECOND_PER_ADDRESS,
    queryBurst: QUERY_BURST_PER_ADDRESS,
    rateWaitMs: RATE_WAIT_MS,
    cipher,
  };
  const child = spawn(Deno.execPath(), [
    "run",
    "--allow-net",
    ...TRACKER_V8_FLAGS,
    new URL("./_bare_server.ts", import.meta.url).pathname,
    JSON.stringify(options),
  ]);
  try {
    const { line } = await child.waitForLine(
      (text) => /listening on \S+:\d+/.test(text),
      START_MS,
    );
    return { child, port: Number(/:(\d+)\s*$/.exec(line)?.[1]) };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

function failedRow(
  variant: FloodFloorVariant,
  peers: number,
  error: unknown,
): FloodFloorRow {
  const none = { count: 0, p50: 0, p99: 0, max: 0 };
  return {
    variant,
    peers,
    opened: 0,
    failed: 0,
    openMs: 0,
    windowMs: 0,
    serverCpu: 0,
    serverRssBytes: 0,
    announcesPerSecond: 0,
    crowdQueriesPerSecond: 0,
    probeMs: none,
    error: error instanceof Error ? error.message : String(error),
  };
}
