/**
 * What an encrypted `peer get` costs besides its bytes on this machine:
 * process start, module loading, the tracker lookup, the handshake, the
 * final flush, the rename and the exit. The floor (`floor.ts`) times from
 * connecting to its sink's report and so leaves all of these out.
 *
 * Measured as gets of a one-piece file (256 KiB, one default piece) from 1
 * sharer, as shipped (encrypted), with a tracker and a sharer started as
 * the floor's 1 GiB gets start theirs (`floor_bench.ts`), each timed from
 * spawn to exit like every get the bench times. The one piece's own work
 * (under 1 ms at the encrypted floor's rate) is counted both here and in
 * the floor, so floor + fixed cost overstates the fastest get by that much.
 *
 * @module
 */

import { median } from "./baselines.ts";
import { modeEnv, trackerFlags } from "./crypto.ts";
import { settle } from "./settle.ts";
import {
  type GetResult,
  runGet,
  type Sharer,
  startSharer,
  startTrackerProcess,
  type TrackerProcess,
} from "./transfer.ts";

/** Bytes of the file the fixed-cost gets fetch: one default piece. */
export const FIXED_COST_BYTES = 256 * 1024;
/** Fixed-cost gets timed in a `--floor` run. */
export const FIXED_COST_RUNS = 5;

/** What {@linkcode getFixedCost} measured. */
export interface FixedCostResult {
  /** Bytes of the one-piece file. */
  bytes: number;
  /** Median ms from spawn to exit (the file verified and in place). */
  ms: number;
  /** Ms of each get, spawn to exit, in the order run. */
  runs: number[];
  /** Median ms the gets reported themselves (their start to the file). */
  reportedMs: number;
  /** Highest peak RSS (VmHWM) of the getter across the runs, bytes. */
  peakRssBytes: number;
  /** Median CPU-ms the whole machine was busy during a get. */
  busyMs: number;
}

/** Options for {@linkcode getFixedCost}. */
export interface FixedCostOptions {
  /** Folder for the one-piece file and the downloads. */
  work: string;
  /** Gets timed. @default {FIXED_COST_RUNS} */
  runs?: number;
  /** Ms the machine idles before each get (see `settle.ts`). */
  settleMs: number;
  /** Says what is being measured. */
  step: (text: string) => void;
}

/**
 * Shares a new one-piece file encrypted and gets it `options.runs` times
 * from that 1 sharer, each in its own `peer get` process; returns the
 * medians. Stops its processes and removes its files, also on failure.
 */
export async function getFixedCost(
  options: FixedCostOptions,
): Promise<FixedCostResult> {
  const runs = options.runs ?? FIXED_COST_RUNS;
  const file = `${options.work}/fixed-cost.bin`;
  const outDir = `${options.work}/fixed-cost-gets`;
  const env = modeEnv("encrypted");
  const what = `${FIXED_COST_BYTES / 1024} KiB (one piece)`;
  const got: GetResult[] = [];
  let tracker: TrackerProcess | undefined;
  let sharer: Sharer | undefined;
  try {
    writeRandomFile(file, FIXED_COST_BYTES);
    tracker = await startTrackerProcess(undefined, {
      denoFlags: trackerFlags("encrypted"),
      env,
    });
    options.step(`share ${what}, encrypted`);
    sharer = await startSharer(file, FIXED_COST_BYTES, tracker.address, {
      env,
    });
    for (let run = 0; run < runs; run++) {
      options.step(
        `get ${what} from 1, encrypted: its fixed cost (${run + 1} of ${runs})`,
      );
      await settle(options.settleMs);
      got.push(
        await runGet(sharer.id, FIXED_COST_BYTES, tracker.address, outDir, {
          env,
        }),
      );
    }
  } finally {
    await sharer?.child.stop();
    await tracker?.child.stop();
    await Deno.remove(outDir, { recursive: true }).catch(() => {});
    await Deno.remove(file).catch(() => {});
  }
  return {
    bytes: FIXED_COST_BYTES,
    ms: median(got.map((get) => get.wallMs)),
    runs: got.map((get) => get.wallMs),
    reportedMs: median(got.map((get) => get.reportedMs)),
    peakRssBytes: Math.max(...got.map((get) => get.peakRssBytes)),
    busyMs: median(got.map((get) => get.busyMs)),
  };
}

/** Writes `bytes` random bytes to `path`. */
function writeRandomFile(path: string, bytes: number): void {
  const data = new Uint8Array(bytes);
  // getRandomValues fills at most 64 KiB per call.
  for (let at = 0; at < bytes; at += 65_536) {
    crypto.getRandomValues(data.subarray(at, at + 65_536));
  }
  Deno.writeFileSync(path, data);
}
