/**
 * `deno task bench --discovery`: how long a get takes to find a file and its
 * first peer by each way there is, with no other difference: a tracker on
 * 127.0.0.1; the LAN (two namespaces on a bridge, no tracker; needs root);
 * a local DHT of 20 and of 100 nodes on 127.0.0.1 (no tracker). Each row is
 * the median of several gets of a 1 MiB file from one sharer, each a new
 * `peer get` process: `foundMs` (from the start of the download to the file
 * and its peers found) and the whole get.
 *
 * @module
 */

import { join } from "node:path";
import {
  type Child,
  completion,
  getArgs,
  READY_TIMEOUT_MS,
  shareArgs,
  spawnEntry,
  spawnTracker,
} from "../scripts/_child.ts";
import { entryArgv, spawnIn } from "../scripts/_namespaces.ts";
import { lanLab, lanLabAvailable } from "../scripts/lanlab.ts";

/** Gets per row. */
export const DISCOVERY_RUNS = 5;
/** Size of the file fetched. */
export const DISCOVERY_FILE_BYTES = 1024 * 1024;
/** Where no tracker runs. */
const NO_TRACKER = "127.0.0.1:1";
/** Ms the sharer's DHT announcement is given before the gets. */
const DHT_SETTLE_MS = 2_000;
/** Most ms one get may take. */
const GET_TIMEOUT_MS = 60_000;

/** One way of finding peers, measured. */
export interface DiscoveryRow {
  /** How the peers were found. */
  way: string;
  /** Median ms from the start of the download to the file and its first peers found. */
  foundMs?: number;
  /** Median ms of the whole get process (start, find, fetch, verify, save). */
  getMs?: number;
  /** Why the row was not measured. */
  skipped?: string;
}

/** The discovery section of the results. */
export interface DiscoveryPart {
  /** The rows (`--discovery`). */
  discovery?: { rows: DiscoveryRow[] };
}

/** Options for {@linkcode discoveryBench}. */
export interface DiscoveryBenchOptions {
  /** A scratch folder. */
  work: string;
  /** Prints what runs now. */
  step: (text: string) => void;
}

/** Measures every way of finding peers into `rows`. */
export async function discoveryBench(
  rows: DiscoveryRow[],
  options: DiscoveryBenchOptions,
): Promise<void> {
  const file = join(options.work, "discovery.bin");
  const bytes = new Uint8Array(DISCOVERY_FILE_BYTES);
  for (let i = 0; i < bytes.length; i += 65_536) {
    crypto.getRandomValues(bytes.subarray(i, i + 65_536));
  }
  await Deno.writeFile(file, bytes);
  options.step("discovery: tracker on 127.0.0.1");
  rows.push(await trackerRow(file, options.work));
  options.step("discovery: LAN, two namespaces, no tracker");
  rows.push(await lanRow(file, options.work));
  for (const nodes of [20, 100]) {
    options.step(`discovery: local DHT of ${nodes} nodes, no tracker`);
    rows.push(await dhtRow(file, options.work, nodes));
  }
}

/** Markdown lines of the discovery table. */
export function formatDiscovery(
  part: DiscoveryPart["discovery"],
): string[] {
  if (!part || part.rows.length === 0) return [];
  const lines = [
    "",
    `| Finding peers (1 sharer, ${DISCOVERY_RUNS} gets of 1 MiB each, medians) | File and peers found (ms) | Whole get (ms) |`,
    "|---|---:|---:|",
  ];
  for (const row of part.rows) {
    lines.push(
      row.skipped
        ? `| ${row.way} | skipped: ${row.skipped} | |`
        : `| ${row.way} | ${row.foundMs} | ${row.getMs} |`,
    );
  }
  return lines;
}

async function trackerRow(file: string, work: string): Promise<DiscoveryRow> {
  const tracker = await spawnTracker();
  const sharer = spawnEntry("peer.ts", shareArgs(file, tracker.address));
  try {
    const { id } = JSON.parse(
      await sharer.waitForLine(/^\{/, READY_TIMEOUT_MS),
    );
    return await measure("tracker on 127.0.0.1", work, (out) =>
      completion(
        spawnEntry("peer.ts", getArgs(id, tracker.address, out)),
        GET_TIMEOUT_MS,
      ));
  } finally {
    await sharer.stop();
    await tracker.child.stop();
  }
}

async function lanRow(file: string, work: string): Promise<DiscoveryRow> {
  const way = "LAN (BEP 14 multicast), no tracker";
  const missing = lanLabAvailable();
  if (missing) return { way, skipped: missing };
  await using lab = await lanLab();
  const on = { env: { P2P_NO_LAN: "" } };
  const sharer = spawnIn(
    lab.a,
    entryArgv("peer.ts", shareArgs(file, NO_TRACKER, ["--host", "10.79.0.1"])),
    on,
  );
  try {
    const { id } = JSON.parse(
      await sharer.waitForLine(/^\{/, READY_TIMEOUT_MS),
    );
    return await measure(way, work, (out) =>
      completion(
        spawnIn(
          lab.b,
          entryArgv(
            "peer.ts",
            getArgs(id, NO_TRACKER, out, ["--host", "10.79.0.2"]),
          ),
          on,
        ),
        GET_TIMEOUT_MS,
      ));
  } finally {
    await sharer.stop();
  }
}

async function dhtRow(
  file: string,
  work: string,
  nodes: number,
): Promise<DiscoveryRow> {
  const way = `DHT of ${nodes} nodes on 127.0.0.1, no tracker`;
  const plain = spawnDhtNodes(nodes - 2);
  const children: Child[] = [plain];
  try {
    const first = (await plain.waitForLine(/^node /, READY_TIMEOUT_MS))
      .slice("node ".length);
    await waitForLines(plain, nodes - 2);
    const on = (home: string) => ({
      env: { P2P_NO_DHT: "", P2P_HOME: join(work, home) },
    });
    const dht = ["--dht-bootstrap", first, "--host", "127.0.0.1"];
    const sharer = spawnEntry(
      "peer.ts",
      shareArgs(file, NO_TRACKER, dht),
      on(`dht${nodes}-sharer`),
    );
    children.push(sharer);
    const { id } = JSON.parse(
      await sharer.waitForLine(/^\{/, READY_TIMEOUT_MS),
    );
    // Its announcement reaches the nodes nearest the key.
    await new Promise((resolve) => setTimeout(resolve, DHT_SETTLE_MS));
    return await measure(way, work, (out, run) =>
      completion(
        spawnEntry(
          "peer.ts",
          getArgs(id, NO_TRACKER, out, ["--wait", "30s", ...dht]),
          // A fresh data folder each run: no routing table saved before.
          on(`dht${nodes}-getter-${run}`),
        ),
        GET_TIMEOUT_MS,
      ));
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

/** Runs `get` DISCOVERY_RUNS times into fresh folders; the medians. */
async function measure(
  way: string,
  work: string,
  get: (
    out: string,
    run: number,
  ) => Promise<{ code: number; stdout: string; stderr: string }>,
): Promise<DiscoveryRow> {
  const found: number[] = [];
  const whole: number[] = [];
  for (let run = 0; run < DISCOVERY_RUNS; run++) {
    const out = join(work, `discovery-out-${run}`);
    const started = performance.now();
    const result = await get(out, run);
    whole.push(performance.now() - started);
    await Deno.remove(out, { recursive: true }).catch(() => {});
    if (result.code !== 0) {
      return {
        way,
        skipped: `get failed: ${result.stderr.trim().split("\n").at(-1)}`,
      };
    }
    const report = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
    found.push(report.foundMs);
  }
  return { way, foundMs: median(found), getMs: median(whole) };
}

function spawnDhtNodes(count: number): Child {
  return spawnEntry("scripts/dht_node.ts", ["--count", String(count)]);
}

async function waitForLines(child: Child, count: number): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  while (child.stdout.filter((l) => l.startsWith("node ")).length < count) {
    if (performance.now() > deadline) {
      throw new Error("DHT nodes did not start");
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)]);
}
