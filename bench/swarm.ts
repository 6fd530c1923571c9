/**
 * Swarming under a capped sharer: one `peer share --upload-limit 16M` and
 * eight `peer get` processes started at once (each listening on
 * 127.0.0.1 port 0, so they serve each other the pieces they have
 * verified), against the same eight gets run one after the other from the
 * same sharer. Measures the wall time until every getter has its verified
 * file, how many file sizes the sharer uploaded (the bytes the getters
 * report from its address), how many peers each getter received bytes
 * from, and checks every saved file's SHA-256 against the file ID.
 *
 * @module
 */

import { parseRate } from "../lib/cli/args.ts";
import {
  type GetResult,
  runGet,
  type Sharer,
  startSharer,
  startTrackerProcess,
  type TrackerProcess,
} from "./transfer.ts";

/** Getters in each scenario. */
export const SWARM_GETTERS = 8;
/** The sharer's `--upload-limit`. */
export const SWARM_UPLOAD_LIMIT = "16M";
/** Fixed allowance in every get's timeout (start-up, tracker, connects). */
const GET_TIMEOUT_SLACK_MS = 30_000;
/**
 * How many times the capped sharer's own time for a get's bytes a getter
 * may take before it is killed: in the worst case the sharer sends every
 * getter the whole file.
 */
const GET_TIMEOUT_FACTOR = 2;

/** One scenario: eight gets, at once or one after the other. */
export interface SwarmRun {
  /** Ms from spawning the first get to the exit of the last (all verified). */
  wallMs: number;
  /** Getters × file bytes / wallMs, in MB/s. */
  deliveredMbps: number;
  /** Ms from spawn to exit of each get, in start order. */
  getMs: number[];
  /** Bytes the getters received from the sharer's address, all together. */
  sharerBytes: number;
  /** sharerBytes / file bytes. */
  sharerUploadFiles: number;
  /** Mean number of peers each getter received at least one byte from. */
  meanPeers: number;
  /** Piece bytes each getter received from everyone, over the file size (above 1: duplicates). */
  receivedPerGetterFiles: number;
  /** Getters whose saved file hashed to the file ID (all, or the run fails). */
  verified: number;
}

/** The swarm against the sequential gets, one file, one capped sharer. */
export interface SwarmResult {
  /** File bytes. */
  bytes: number;
  /** Getters in each scenario. */
  getters: number;
  /** The sharer's `--upload-limit`, as given. */
  uploadLimit: string;
  /** Eight gets started at once. */
  swarm: SwarmRun;
  /** The same eight gets, one after the other. */
  sequential: SwarmRun;
  /** sequential.wallMs / swarm.wallMs. */
  speedup: number;
}

/**
 * Starts a tracker and one sharer of `file` capped at
 * {@linkcode SWARM_UPLOAD_LIMIT}, then runs {@linkcode SWARM_GETTERS} gets
 * at once and the same number one after the other, each into its own
 * folder under `work`. Throws if any get fails or saves wrong bytes.
 */
export async function swarmBench(
  file: string,
  bytes: number,
  work: string,
): Promise<SwarmResult> {
  const getters = SWARM_GETTERS;
  let tracker: TrackerProcess | undefined;
  let sharer: Sharer | undefined;
  try {
    tracker = await startTrackerProcess();
    sharer = await startSharer(file, bytes, tracker.address, {
      args: ["--upload-limit", SWARM_UPLOAD_LIMIT],
    });
    const context = { sharer, tracker: tracker.address, bytes, getters, work };
    const swarm = await atOnce(context);
    const sequential = await oneByOne(context);
    return {
      bytes,
      getters,
      uploadLimit: SWARM_UPLOAD_LIMIT,
      swarm,
      sequential,
      speedup: sequential.wallMs / swarm.wallMs,
    };
  } finally {
    await sharer?.child.stop();
    await tracker?.child.stop();
    await Deno.remove(`${work}/swarm`, { recursive: true }).catch(() => {});
  }
}

/** What both scenarios need to start a get. */
interface Context {
  sharer: Sharer;
  tracker: string;
  bytes: number;
  getters: number;
  work: string;
}

/** Every get spawned at once; waits for all (each bounded) before judging. */
async function atOnce(context: Context): Promise<SwarmRun> {
  const { getters, bytes } = context;
  const timeoutMs = getTimeoutMs(bytes * getters);
  const started = performance.now();
  const runs = await Promise.allSettled(
    Array.from({ length: getters }, async (_, index) => {
      const spawnedAt = performance.now() - started;
      const result = await getInto(context, `swarm-${index}`, timeoutMs);
      return { result, endMs: spawnedAt + result.wallMs };
    }),
  );
  const failures = runs.flatMap((run, index) =>
    run.status === "rejected"
      ? [`get ${index + 1}: ${(run.reason as Error).message ?? run.reason}`]
      : []
  );
  if (failures.length > 0) {
    throw new Error(
      `${failures.length} of ${getters} gets started at once failed: ${
        failures.join("; ")
      }`,
    );
  }
  const done = runs.flatMap((run) =>
    run.status === "fulfilled" ? [run.value] : []
  );
  const wallMs = Math.max(...done.map((run) => run.endMs));
  return summarize(context, done.map((run) => run.result), wallMs);
}

/** The same gets one after the other; the first failure ends the run. */
async function oneByOne(context: Context): Promise<SwarmRun> {
  const timeoutMs = getTimeoutMs(context.bytes);
  const results: GetResult[] = [];
  const started = performance.now();
  for (let index = 0; index < context.getters; index++) {
    try {
      results.push(await getInto(context, `sequential-${index}`, timeoutMs));
    } catch (error) {
      throw new Error(
        `Get ${index + 1} of ${context.getters} one after the other failed: ${
          (error as Error).message ?? error
        }`,
      );
    }
  }
  return summarize(context, results, performance.now() - started);
}

/** One `peer get` that also serves, into its own folder, hash checked. */
function getInto(
  context: Context,
  folder: string,
  timeoutMs: number,
): Promise<GetResult> {
  return runGet(
    context.sharer.id,
    context.bytes,
    context.tracker,
    `${context.work}/swarm/${folder}`,
    {
      args: ["--host", "127.0.0.1", "--port", "0"],
      timeoutMs,
      checkHash: true,
    },
  );
}

/** Longest one get may take when the sharer alone sends `bytes` in all. */
function getTimeoutMs(bytes: number): number {
  const limitBytesPerMs = parseRate(SWARM_UPLOAD_LIMIT) / 1000;
  return GET_TIMEOUT_SLACK_MS + GET_TIMEOUT_FACTOR * bytes / limitBytesPerMs;
}

function summarize(
  context: Context,
  results: GetResult[],
  wallMs: number,
): SwarmRun {
  const { bytes, sharer } = context;
  const sharerBytes = sum(
    results.flatMap((r) => r.peers.filter((p) => p.address === sharer.address))
      .map((peer) => peer.bytes),
  );
  if (sharerBytes === 0) {
    throw new Error(
      `No get reported bytes from the sharer at ${sharer.address}; they named ${
        [...new Set(results.flatMap((r) => r.peers.map((p) => p.address)))]
          .join(", ")
      }`,
    );
  }
  const received = sum(results.flatMap((r) => r.peers.map((p) => p.bytes)));
  const peers = results.map((r) => r.peers.filter((p) => p.bytes > 0).length);
  return {
    wallMs,
    deliveredMbps: results.length * bytes / 1e6 / (wallMs / 1000),
    getMs: results.map((r) => Math.round(r.wallMs)),
    sharerBytes,
    sharerUploadFiles: sharerBytes / bytes,
    meanPeers: sum(peers) / results.length,
    receivedPerGetterFiles: received / results.length / bytes,
    verified: results.length,
  };
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
