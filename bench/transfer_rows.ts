/**
 * The share and get rows of one test file: shares timed one after the
 * other, then gets from 1 sharer and from MANY_SHARERS alternated, and
 * optionally one get profiled with `--cpu-prof`.
 *
 * @module
 */

import { median } from "./baselines.ts";
import { summarizeProfile } from "./profile.ts";
import type { BenchResults, GetRow } from "./report.ts";
import { size } from "./_format.ts";
import { flushToDisk, settle } from "./settle.ts";
import {
  type GetResult,
  runGet,
  type Sharer,
  startSharer,
  startTrackerProcess,
  type TrackerProcess,
} from "./transfer.ts";

/** Sharers in the multi-sharer gets. */
const MANY_SHARERS = 4;
/**
 * Shares timed one after the other for the share rows (the median is
 * shown): one share of 1 GiB swings by ±10% between runs on a small VM
 * (613-918 ms of its own time across three full runs of one day), so one
 * unlucky run in three moved the median. The first share of a row ran slower
 * still (742-1,137 ms), hence the untimed one before them.
 */
const SHARE_RUNS = 5;
/**
 * Gets timed from 1 sharer and from MANY_SHARERS each, alternated (1, 4, 4,
 * 1, 1, 4, ...): on a VM whose memory the host backs lazily one get swings by
 * ±30% with the state of memory, so one run of each cannot be compared
 * (session 9: the same 4 GiB get from 4 sharers took 5.74, 7.07 and 7.87 s
 * in one run; encrypted since #20, 16-19 s).
 */
const GET_RUNS = 5;

/** Options for {@linkcode transfers}. */
export interface TransfersOptions {
  /** Working folder (downloads, profiles). */
  work: string;
  /** Also profile one get from 1 sharer. @default {false} */
  profile?: boolean;
  /** Ms the machine idles before each get (see `settle.ts`). */
  settleMs: number;
  /** Says what is being measured. */
  step: (text: string) => void;
}

/**
 * Share; gets from 1 sharer and from MANY_SHARERS, alternated; (profile);
 * for one file.
 */
export async function transfers(
  file: string,
  bytes: number,
  results: BenchResults,
  options: TransfersOptions,
): Promise<void> {
  const { profile, settleMs, step, work } = options;
  const outDir = `${work}/out`;
  let tracker: TrackerProcess | undefined;
  // The multi-sharer gets ask this one, so 1-sharer gets can alternate with them.
  let group: TrackerProcess | undefined;
  const sharers: Sharer[] = [];
  try {
    tracker = await startTrackerProcess();
    // Not in any share's time: the test file still going to disk (4 GiB
    // written just before: the first share took 3.5 s, the next 2.4 s), and
    // the first run after an edit compiling and caching the peer's modules
    // (~200 ms; a `deno compile`d peer has them built in).
    step(`peer share ${size(bytes)}, untimed warm-up`);
    await flushToDisk();
    await (await startSharer(file, bytes, tracker.address)).child.stop();
    step(`peer share ${size(bytes)} (${SHARE_RUNS} times)`);
    const runs: { ms: number; reportedMs: number }[] = [];
    let sharer: Sharer | undefined;
    for (let run = 0; run < SHARE_RUNS; run++) {
      // Each stopped before the next starts; the last one stays to serve.
      if (sharer) await sharer.child.stop();
      sharer = await startSharer(file, bytes, tracker.address);
      runs.push({ ms: sharer.ms, reportedMs: sharer.reportedMs });
    }
    const first = sharer!;
    sharers.push(first);
    const ms = median(runs.map((run) => run.ms));
    results.shares.push({
      bytes,
      ms,
      mbps: bytes / 1e6 / (ms / 1000),
      reportedMs: median(runs.map((run) => run.reportedMs)),
      runs,
    });
    if (results.sha256?.bytes === bytes && results.sha256.hex !== first.id) {
      throw new Error(
        `peer share printed ID ${first.id}, but the file's SHA-256 is ${results.sha256.hex}`,
      );
    }
    step(`${MANY_SHARERS} more sharers, registered with a second tracker`);
    group = await startTrackerProcess();
    const many = await Promise.all(
      Array.from(
        { length: MANY_SHARERS },
        () => startSharer(file, bytes, group!.address),
      ),
    );
    sharers.push(...many);
    results.gets.push(
      ...await alternatedGets(first.id, bytes, outDir, { settleMs, step }, [
        { sharers: 1, tracker: tracker.address },
        { sharers: MANY_SHARERS, tracker: group.address },
      ]),
    );
    if (profile) {
      step("profiling peer get");
      results.profile = await profileGet(
        first.id,
        bytes,
        tracker.address,
        work,
      );
    }
  } finally {
    await Promise.all(sharers.map((sharer) => sharer.child.stop()));
    await tracker?.child.stop();
    await group?.child.stop();
    await Deno.remove(outDir, { recursive: true }).catch(() => {});
  }
}

/** Where a get finds its sharers. */
interface GetSource {
  /** Sharers registered with the tracker. */
  sharers: number;
  /** The tracker's address. */
  tracker: string;
}

/**
 * Runs GET_RUNS gets from each source, the two sources alternated (A B B A
 * A B ...) so that drift in the machine's state falls on both alike, each
 * after the machine idled `settleMs` (see `settle.ts`); each row is the
 * median run, with every run's time and the highest peak RSS.
 */
async function alternatedGets(
  id: string,
  bytes: number,
  outDir: string,
  options: { settleMs: number; step: (text: string) => void },
  sources: [GetSource, GetSource],
): Promise<GetRow[]> {
  const { settleMs, step } = options;
  const runs: GetResult[][] = sources.map(() => []);
  for (let round = 0; round < GET_RUNS; round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) {
      const { sharers, tracker } = sources[i];
      step(
        `peer get ${size(bytes)} from ${sharers} sharer${
          sharers > 1 ? "s" : ""
        } (${round + 1} of ${GET_RUNS})`,
      );
      await settle(settleMs);
      runs[i].push(await runGet(id, bytes, tracker, outDir));
    }
  }
  return sources.map((source, i) => {
    const sorted = [...runs[i]].sort((a, b) => a.wallMs - b.wallMs);
    return {
      ...sorted[Math.floor(sorted.length / 2)],
      sharers: source.sharers,
      peakRssBytes: Math.max(...runs[i].map((run) => run.peakRssBytes)),
      runs: runs[i].map((run) => run.wallMs),
    };
  });
}

async function profileGet(
  id: string,
  bytes: number,
  tracker: string,
  work: string,
): Promise<BenchResults["profile"]> {
  const dir = `${work}/profile`;
  await Deno.mkdir(dir, { recursive: true });
  await runGet(id, bytes, tracker, `${work}/out`, {
    denoFlags: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
  });
  const files = [...Deno.readDirSync(dir)].filter((e) =>
    e.name.endsWith(".cpuprofile")
  );
  if (files.length === 0) throw new Error("--cpu-prof wrote no profile");
  return summarizeProfile(`${dir}/${files[0].name}`);
}
