/**
 * Gets over emulated real links, against one TCP stream over the same link
 * in the same run. Each scenario is a lab of network namespaces
 * (`scripts/netlab.ts`): a getter and a sharer side joined through a router
 * whose emulator (`tools/linkemu/linkemu.c`) delays, drops and rate-limits
 * every packet, so both ends run real TCP over the emulated round trip. The
 * tracker and the sharers run on the sharer side, the get on the getter
 * side; the stream baseline sends the same file from the sharer side to a
 * sink on the getter side (`bench/link_stream.ts`), timed from before its
 * connect, as the get is timed from its own start (`elapsedMs`: tracker
 * lookup, connects, handshakes included).
 *
 * The emulation models a fixed round trip, random loss per packet in each
 * direction, and a bottleneck rate with a tail-drop queue; not reordering,
 * jitter, burst loss, or different routes per sharer (all sharers share the
 * sharer side's one link, as peers behind one uplink would).
 *
 * @module
 */

import {
  type LinkOptions,
  NetLab,
  netlabAvailable,
} from "../scripts/netlab.ts";
import { type Child, getArgs, PERMISSIONS, ROOT } from "../scripts/_child.ts";
import { megabytesPerSecond } from "./baselines.ts";

/** One emulated link to measure. */
export interface LinkScenario {
  /** What the row says, e.g. "RTT 100 ms, 1% loss". */
  name: string;
  /** The link, both directions. */
  link: LinkOptions;
  /** Sharers of the file on the sharer side. */
  sharers: number;
  /**
   * Compare with the line rate instead of a TCP stream (a link too slow to
   * time both on): the row says what share of the line the get used.
   */
  lineRate?: boolean;
}

/** The scenarios of a run. */
export const LINK_SCENARIOS: readonly LinkScenario[] = [
  { name: "RTT 20 ms", link: { rttMs: 20 }, sharers: 1 },
  { name: "RTT 100 ms", link: { rttMs: 100 }, sharers: 1 },
  { name: "RTT 200 ms", link: { rttMs: 200 }, sharers: 1 },
  { name: "RTT 100 ms, 1% loss", link: { rttMs: 100, loss: 0.01 }, sharers: 1 },
  { name: "RTT 100 ms, 3 sharers", link: { rttMs: 100 }, sharers: 3 },
  {
    name: "100 Mbit/s, RTT 40 ms",
    link: { rttMs: 40, rateBitsPerSecond: 100e6 },
    sharers: 1,
  },
  {
    name: "100 Mbit/s, RTT 40 ms, 3 sharers",
    link: { rttMs: 40, rateBitsPerSecond: 100e6 },
    sharers: 3,
  },
  {
    name: "1 Mbit/s, RTT 40 ms, 10 sharers",
    link: { rttMs: 40, rateBitsPerSecond: 1e6 },
    sharers: 10,
    lineRate: true,
  },
];

/** What one scenario measured. */
export interface LinkResult {
  /** The scenario's name. */
  name: string;
  /** Sharers. */
  sharers: number;
  /** Bytes of the file. */
  bytes: number;
  /** Ms of each get (its own `elapsedMs`). */
  getMs: number[];
  /** Ms of each stream run; empty for a line-rate row. */
  streamMs: number[];
  /** MB/s of the median get. */
  getMbps: number;
  /** MB/s of the median stream, or of the line for a line-rate row. */
  baselineMbps: number;
  /** Median get's speed ÷ the baseline's. */
  ratio: number;
  /** Peers a get dropped (its `--json` peers with an `error`), all runs. */
  dropped: string[];
  /** Packets to the getter the emulator lost at random. */
  lost: number;
  /** Packets to the getter dropped at the bottleneck's full queue. */
  queueDrops: number;
  /** Why the row could not be measured (a get failed); the figures are 0. */
  failed?: string;
}

/** Options for {@linkcode linkBench}. */
export interface LinkBenchOptions {
  /** Bytes of the file on fast links. */
  bytes: number;
  /** Bytes of the file on a line-rate link. */
  slowBytes: number;
  /** Runs of each (alternated, stream first). */
  runs: number;
  /** Working folder for the getter's downloads. */
  work: string;
  /** Says what is being measured. */
  step: (text: string) => void;
}

/** Ms any one get or stream may take before the run is declared stuck. */
const RUN_TIMEOUT_MS = 180_000;
/** Ms a tracker or sharer may take to be ready. */
const READY_MS = 60_000;

/**
 * Measures every scenario on `file` (`options.bytes` long) and `slowFile`;
 * resolves to undefined with the reason when the lab cannot run here.
 */
export async function linkBench(
  file: string,
  slowFile: string,
  options: LinkBenchOptions,
): Promise<{ results: LinkResult[] } | { skipped: string }> {
  const reason = await netlabAvailable();
  if (reason) return { skipped: reason };
  const results: LinkResult[] = [];
  for (const scenario of LINK_SCENARIOS) {
    options.step(`emulated link: ${scenario.name}`);
    const path = scenario.lineRate ? slowFile : file;
    const bytes = scenario.lineRate ? options.slowBytes : options.bytes;
    // One row failing (a get that failed over the link) keeps the others.
    results.push(
      await measure(scenario, path, bytes, options).catch((error) =>
        failedRow(scenario, bytes, error)
      ),
    );
  }
  return { results };
}

function failedRow(
  scenario: LinkScenario,
  bytes: number,
  error: unknown,
): LinkResult {
  return {
    name: scenario.name,
    sharers: scenario.sharers,
    bytes,
    getMs: [],
    streamMs: [],
    getMbps: 0,
    baselineMbps: 0,
    ratio: 0,
    dropped: [],
    lost: 0,
    queueDrops: 0,
    failed: (error as Error).message ?? String(error),
  };
}

async function measure(
  scenario: LinkScenario,
  file: string,
  bytes: number,
  options: LinkBenchOptions,
): Promise<LinkResult> {
  await using lab = await NetLab.create({
    prefix: "p2pbench",
    link: scenario.link,
  });
  const tracker = await serveTracker(lab);
  let id = "";
  for (let i = 0; i < scenario.sharers; i++) {
    id = await share(lab, file, tracker);
  }
  const getMs: number[] = [];
  const streamMs: number[] = [];
  const dropped: string[] = [];
  const runs = scenario.lineRate ? 1 : options.runs;
  for (let run = 0; run < runs; run++) {
    if (!scenario.lineRate) streamMs.push(await stream(lab, file));
    const got = await get(lab, id, tracker, `${options.work}/link-${run}`);
    getMs.push(got.ms);
    dropped.push(...got.dropped);
  }
  const stats = await lab.stats();
  const getMbps = megabytesPerSecond(bytes, median(getMs));
  const baselineMbps = scenario.lineRate
    ? (scenario.link.rateBitsPerSecond ?? 0) / 8 / 1e6
    : megabytesPerSecond(bytes, median(streamMs));
  return {
    name: scenario.name,
    sharers: scenario.sharers,
    bytes,
    getMs,
    streamMs,
    getMbps,
    baselineMbps,
    ratio: getMbps / baselineMbps,
    dropped,
    lost: stats.toGetter.lost,
    queueDrops: stats.toGetter.queueDrops,
  };
}

/** How one lab process runs, beyond its entry file's permissions. */
export interface LabProcessOptions {
  /** Extra `deno run` flags, e.g. a permission. @default {none} */
  denoFlags?: string[];
  /** Extra environment variables. @default {none} */
  env?: Record<string, string>;
}

/** Starts the tracker on the sharer side; resolves to `host:port`. */
export async function serveTracker(
  lab: NetLab,
  options: LabProcessOptions = {},
): Promise<string> {
  const child = lab.spawn("sharer", [
    Deno.execPath(),
    "run",
    ...PERMISSIONS["tracker.ts"],
    ...(options.denoFlags ?? []),
    `${ROOT}tracker.ts`,
    "--host",
    "0.0.0.0",
    "--port",
    "0",
  ], { env: { NO_COLOR: "1", ...options.env } });
  const line = await child.waitForLine(/listening on/, READY_MS);
  return `${lab.host("sharer")}:${line.slice(line.lastIndexOf(":") + 1)}`;
}

/**
 * Starts one sharer of `file` on the sharer side, registered under its lab
 * address; resolves to the file's ID.
 */
export async function share(
  lab: NetLab,
  file: string,
  tracker: string,
  options: LabProcessOptions = {},
): Promise<string> {
  const child: Child = lab.spawnEntry("sharer", "peer.ts", [
    "share",
    file,
    "--json",
    "--tracker",
    tracker,
    "--host",
    "0.0.0.0",
    "--port",
    "0",
  ], { env: options.env });
  return JSON.parse(await child.waitForLine(/^\{/, READY_MS)).id;
}

/**
 * Runs one `peer get` on the getter side into `out` (removed after); its
 * own `elapsedMs` and the peers it dropped.
 */
export async function get(
  lab: NetLab,
  id: string,
  tracker: string,
  out: string,
  options: LabProcessOptions = {},
): Promise<{ ms: number; dropped: string[] }> {
  const result = await lab.runEntry(
    "getter",
    "peer.ts",
    getArgs(id, tracker, out),
    { timeoutMs: RUN_TIMEOUT_MS, env: options.env },
  );
  if (result.code !== 0) {
    throw new Error(`peer get failed over the emulated link: ${result.stderr}`);
  }
  const report = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
  await Deno.remove(out, { recursive: true });
  return {
    ms: report.elapsedMs,
    dropped: (report.peers as { address: string; error?: string }[])
      .filter((peer) => peer.error).map((peer) =>
        `${peer.address} ${peer.error}`
      ),
  };
}

async function stream(lab: NetLab, file: string): Promise<number> {
  const bench = new URL("./link_stream.ts", import.meta.url).pathname;
  const sink = lab.spawn("getter", [
    Deno.execPath(),
    "run",
    "--allow-net",
    bench,
    "sink",
  ]);
  const line = await sink.waitForLine(/listening on/, READY_MS);
  const port = line.slice(line.lastIndexOf(" ") + 1);
  const sent = await new Promise<string>((resolve, reject) => {
    const sender = lab.spawn("sharer", [
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-read",
      bench,
      "send",
      lab.host("getter"),
      port,
      file,
    ]);
    sender.waitForLine(/^\{/, RUN_TIMEOUT_MS).then(resolve, reject);
  });
  await sink.finished();
  return JSON.parse(sent).ms;
}

function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
