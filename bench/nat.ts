/**
 * Time to first byte by each route a get can take to its sharer: straight,
 * through a port the sharer's router maps, by a hole punch, through the
 * tracker's relay. Each scenario is a lab of network namespaces joined
 * through Linux NAT routers (`scripts/natlab.ts`) with a tracker on a
 * public host; one sharer of the file, and `peer get --json` run a few
 * times, each into a fresh folder. A get's `firstPieceMs` (from its start
 * to its first verified piece, one 16 KiB piece here: tracker lookup,
 * meeting, handshake and request included) is the time to first byte; its
 * `elapsedMs` the whole get. A baseline row times a plain TCP connect and
 * the first 16 KiB between two public hosts of one lab
 * (`bench/link_stream.ts`), the floor the lab's network sets.
 *
 * @module
 */

import {
  miniupnpdAvailable,
  NatLab,
  natlabAvailable,
  type NatLabOptions,
} from "../scripts/natlab.ts";
import { READY_TIMEOUT_MS } from "../scripts/_child.ts";
import {
  labGet,
  startLabSharer,
  startLabTracker,
} from "../scripts/_nat_peers.ts";

/** Bytes of the file each scenario shares. */
export const NAT_FILE_BYTES = 4 * 1024 ** 2;
/** Piece size it is shared with: the first piece is the first 16 KiB. */
export const NAT_PIECE_SIZE = "16K";
/** Bytes the baseline stream sends: one piece. */
export const NAT_FIRST_BYTES = 16 * 1024;
/** Gets (and baseline streams) per scenario. */
export const NAT_RUNS = 3;

/** Longest one get may take before the run is declared stuck. */
const GET_TIMEOUT_MS = 60_000;
/** Namespace names of the bench's labs start with this. */
const LAB_PREFIX = "p2pbnat";

/** One route to measure: who is where, and the route the get should take. */
export interface NatScenario {
  /** What the row says. */
  name: string;
  /** The route a get of this pair must report (`via`). */
  route: "direct" | "mapped" | "punched" | "relayed";
  /** The lab; its hosts "sharer" and "getter" may be public or NATs. */
  lab: NatLabOptions;
}

/** The scenarios of a run, each its own lab. */
export const NAT_SCENARIOS: readonly NatScenario[] = [
  {
    name: "Public sharer → getter behind a NAT",
    route: "direct",
    lab: { publicHosts: ["tracker", "sharer"], nats: [{ name: "getter" }] },
  },
  {
    name: "Sharer behind a port-keeping NAT → public getter",
    route: "punched",
    lab: { publicHosts: ["tracker", "getter"], nats: [{ name: "sharer" }] },
  },
  {
    name: "Sharer behind a UPnP NAT → public getter",
    route: "mapped",
    lab: {
      publicHosts: ["tracker", "getter"],
      nats: [{ name: "sharer", upnp: true }],
    },
  },
  {
    name: "Sharer and getter behind two port-keeping NATs",
    route: "punched",
    lab: {
      publicHosts: ["tracker"],
      nats: [{ name: "sharer" }, { name: "getter" }],
    },
  },
  {
    name: "Sharer behind a random-port NAT → getter behind a NAT",
    route: "relayed",
    lab: {
      publicHosts: ["tracker"],
      nats: [{ name: "sharer", randomPorts: true }, { name: "getter" }],
    },
  },
];

/** What one scenario measured, or why it did not run. */
export interface NatResult {
  /** The scenario's name. */
  name: string;
  /** The route it should take. */
  expected: NatScenario["route"];
  /** Every route the gets reported, each once, in the order first seen. */
  routes: string[];
  /** Each get's `firstPieceMs`, in the order run. */
  firstPieceMs: number[];
  /** Each get's `elapsedMs`, in the order run. */
  elapsedMs: number[];
  /** Median of `firstPieceMs`. */
  medianFirstPieceMs?: number;
  /** Median of `elapsedMs`. */
  medianElapsedMs?: number;
  /** Why it was not measured (no miniupnpd for the UPnP row). */
  skipped?: string;
  /** What failed, if it did. */
  error?: string;
}

/** The baseline: a TCP connect and the first 16 KiB, public host to public host. */
export interface NatBaseline {
  /** Bytes sent. */
  bytes: number;
  /** Ms of each run, connect to the receiver's close. */
  ms: number[];
  /** Median of `ms`. */
  medianMs: number;
}

/** Everything the NAT part measured. */
export interface NatResults {
  /** Bytes of the shared file. */
  bytes: number;
  /** Its piece size, as given to `peer share --piece-size`. */
  pieceSize: string;
  /** The baseline row. */
  baseline: NatBaseline;
  /** One row per scenario. */
  scenarios: NatResult[];
}

/** Options for {@linkcode natBench}. */
export interface NatBenchOptions {
  /** Working folder for the gets' downloads. */
  work: string;
  /** Gets per scenario. @default {NAT_RUNS} */
  runs?: number;
  /** Says what is being measured. */
  step: (text: string) => void;
}

/**
 * Measures every scenario sharing `file` (NAT_FILE_BYTES long) and the
 * baseline sending `first` (NAT_FIRST_BYTES long); resolves to the reason
 * instead when NAT labs cannot be made here.
 */
export async function natBench(
  file: string,
  first: string,
  options: NatBenchOptions,
): Promise<NatResults | { skipped: string }> {
  const reason = await natlabAvailable();
  if (reason) return { skipped: reason };
  const runs = options.runs ?? NAT_RUNS;
  options.step("NAT lab baseline: TCP connect + first 16 KiB");
  const baseline = await streamBaseline(first, runs);
  const noUpnp = await miniupnpdAvailable();
  const scenarios: NatResult[] = [];
  for (const scenario of NAT_SCENARIOS) {
    const row: NatResult = {
      name: scenario.name,
      expected: scenario.route,
      routes: [],
      firstPieceMs: [],
      elapsedMs: [],
    };
    scenarios.push(row);
    const upnp = scenario.lab.nats?.some((nat) => nat.upnp) ?? false;
    if (upnp && noUpnp) {
      options.step(`${scenario.name}: skipped (${noUpnp})`);
      row.skipped = noUpnp;
      continue;
    }
    options.step(`NAT lab: ${scenario.name}`);
    try {
      await measure(scenario, file, row, { ...options, runs });
    } catch (error) {
      row.error = error instanceof Error ? error.message : String(error);
    }
  }
  return {
    bytes: NAT_FILE_BYTES,
    pieceSize: NAT_PIECE_SIZE,
    baseline,
    scenarios,
  };
}

/** Shares `file` in the scenario's lab and runs its gets into `row`. */
async function measure(
  scenario: NatScenario,
  file: string,
  row: NatResult,
  options: NatBenchOptions & { runs: number },
): Promise<void> {
  await using lab = await NatLab.create({
    ...scenario.lab,
    prefix: LAB_PREFIX,
  });
  const tracker = await startLabTracker(lab, "tracker");
  // Resolves once the tracker has judged the sharer's reach, so that the
  // first get does not find it unjudged.
  const { id } = await startLabSharer(lab, "sharer", file, tracker, [
    "--piece-size",
    NAT_PIECE_SIZE,
  ]);
  for (let run = 0; run < options.runs; run++) {
    const out = `${options.work}/nat-get-${run}`;
    try {
      const report = await get(lab, id, tracker, out);
      row.firstPieceMs.push(report.firstPieceMs);
      row.elapsedMs.push(report.elapsedMs);
      for (const route of report.routes) {
        if (!row.routes.includes(route)) row.routes.push(route);
      }
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  }
  row.medianFirstPieceMs = median(row.firstPieceMs);
  row.medianElapsedMs = median(row.elapsedMs);
}

/** One `peer get --json` on "getter" into `out`: its times and routes. */
async function get(
  lab: NatLab,
  id: string,
  tracker: string,
  out: string,
): Promise<{ firstPieceMs: number; elapsedMs: number; routes: string[] }> {
  const { result, report } = await labGet(lab, "getter", id, tracker, out, {
    timeoutMs: GET_TIMEOUT_MS,
  });
  if (typeof report.firstPieceMs !== "number") {
    throw new Error(`peer get reported no firstPieceMs: ${result.stdout}`);
  }
  return {
    firstPieceMs: report.firstPieceMs,
    elapsedMs: report.elapsedMs,
    routes: report.peers.map((peer) => peer.via ?? "none"),
  };
}

/**
 * A TCP connect and `first` sent from one public host to a sink on
 * another, `runs` times (`link_stream.ts`: timed from before the connect
 * to the sink's close once it has read it all).
 */
async function streamBaseline(
  first: string,
  runs: number,
): Promise<NatBaseline> {
  await using lab = await NatLab.create({
    prefix: LAB_PREFIX,
    publicHosts: ["sender", "receiver"],
  });
  const bench = new URL("./link_stream.ts", import.meta.url).pathname;
  const ms: number[] = [];
  let bytes = 0;
  for (let run = 0; run < runs; run++) {
    const sink = lab.spawn("receiver", [
      Deno.execPath(),
      "run",
      "--allow-net",
      bench,
      "sink",
    ]);
    const line = await sink.waitForLine(/listening on/, READY_TIMEOUT_MS);
    const port = line.slice(line.lastIndexOf(" ") + 1);
    const sent = await lab.spawn("sender", [
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-read",
      bench,
      "send",
      lab.host("receiver"),
      port,
      first,
    ]).waitForLine(/^\{/, GET_TIMEOUT_MS);
    await sink.finished();
    const result = JSON.parse(sent);
    ms.push(result.ms);
    bytes = result.bytes;
  }
  return { bytes, ms, medianMs: median(ms) };
}

function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The NAT part of a run's results, beside the report's own. */
export interface NatPart {
  /** Time to first byte by each NAT route, if measured. */
  nat?: NatResults;
  /** Why the NAT routes were not measured, if they were not. */
  natSkipped?: string;
}
