/**
 * What encryption costs: the same share and gets with every connection
 * encrypted (as shipped) and in plaintext (`P2P_BENCH_PLAINTEXT=1` in every
 * process of the run: tracker, sharers, getter; a bench-only switch, see
 * `lib/net/secure_transport.ts`), interleaved in one run so that drift in
 * the machine's state falls on both alike. Each row is the median of each
 * mode's runs and their ratio, encrypted ÷ plaintext.
 *
 * Each mode has its own trackers and sharers, all started before the first
 * get and idle while the other mode's gets run: a getter of one mode finds
 * only sharers of its own mode.
 *
 * @module
 */

import { BENCH_PLAINTEXT_ENV } from "../lib/net/secure_transport.ts";
import { median } from "./baselines.ts";
import { size } from "./_format.ts";
import { type ProfileEntry, summarizeProfile } from "./profile.ts";
import { settle } from "./settle.ts";
import {
  type GetResult,
  runGet,
  type Sharer,
  startSharer,
  startTrackerProcess,
  type TrackerProcess,
} from "./transfer.ts";

/** The two ways a run's connections go. */
export type CryptoMode = "plaintext" | "encrypted";

/** Both modes, in the order of a round that starts with plaintext. */
export const CRYPTO_MODES: readonly CryptoMode[] = ["plaintext", "encrypted"];

/** Sharers in the multi-sharer gets (as in the main get rows). */
export const CRYPTO_MANY_SHARERS = 4;

/**
 * The environment of every process of a run in `mode`. The encrypted one
 * sets the switch to "0" rather than leaving it out, so a switch set in the
 * bench's own environment cannot leak into it.
 */
export function modeEnv(mode: CryptoMode): Record<string, string> {
  return { [BENCH_PLAINTEXT_ENV]: mode === "plaintext" ? "1" : "0" };
}

/**
 * Extra `deno run` flags of a tracker in `mode`: the tracker runs with
 * `--allow-net` only, and without leave to read the switch it stays
 * encrypted.
 */
export function trackerFlags(mode: CryptoMode): string[] {
  return mode === "plaintext" ? [`--allow-env=${BENCH_PLAINTEXT_ENV}`] : [];
}

/** One mode's side of a row. */
export interface ModeTiming {
  /** Median ms (wall clock from spawn). */
  ms: number;
  /** MB/s of the median. */
  mbps: number;
  /** Ms of each run, in the order run. */
  runs: number[];
}

/** A share of the file in both modes. */
export interface CryptoShareRow {
  /** Bytes shared. */
  bytes: number;
  /** The share's own time: hash and register (its `elapsedMs`). */
  plaintext: ModeTiming;
  /** The same, encrypted. */
  encrypted: ModeTiming;
  /** Encrypted MB/s ÷ plaintext MB/s. */
  ratio: number;
  /** Ms from spawn to registered (Deno start-up too) of each run. */
  spawnMs: Record<CryptoMode, number[]>;
}

/** One mode's gets: timing, memory and CPU. */
export interface ModeGets extends ModeTiming {
  /** Highest peak RSS (VmHWM) of the getter across the runs, bytes. */
  peakRssBytes: number;
  /** Median CPU-ms the getter process used. */
  getterCpuMs: number;
  /** Median CPU-ms the sharer processes used during a get, together. */
  sharersCpuMs: number;
  /**
   * Median CPU-ms the whole machine was busy during a get: with other work
   * on the machine, more than the two above.
   */
  busyMs: number;
}

/** Gets of the file from some sharers in both modes. */
export interface CryptoGetRow {
  /** Bytes of the file. */
  bytes: number;
  /** Sharers the getter found. */
  sharers: number;
  /** Every connection in clear. */
  plaintext: ModeGets;
  /** Every connection encrypted (as shipped). */
  encrypted: ModeGets;
  /** Encrypted MB/s ÷ plaintext MB/s. */
  ratio: number;
}

/** An emulated link's gets in both modes. */
export interface CryptoLinkRow {
  /** The link, e.g. "RTT 100 ms". */
  name: string;
  /** Bytes of the file. */
  bytes: number;
  /** Gets timed by their own `elapsedMs`. */
  plaintext: ModeTiming;
  /** The same, encrypted. */
  encrypted: ModeTiming;
  /** Encrypted MB/s ÷ plaintext MB/s. */
  ratio: number;
}

/** Everything the encryption rows measured. */
export interface CryptoResults {
  /** The share, both modes. */
  share?: CryptoShareRow;
  /** Gets from 1 sharer and from CRYPTO_MANY_SHARERS. */
  gets: CryptoGetRow[];
  /** One emulated link, both modes (root only). */
  link?: CryptoLinkRow;
  /** Why the link row was not measured, if it was not. */
  linkSkipped?: string;
  /** Top self time of one profiled get from 1 sharer in each mode. */
  profiles?: Record<CryptoMode, CryptoProfile>;
}

/** Where the time of one get went, on each side. */
export interface CryptoProfile {
  /** The getter's main thread. */
  getter: Profile;
  /** The sharer's main thread, its whole life: its share's hashing too. */
  sharer: Profile;
}

/** A profile's top functions by self time. */
export type Profile = { totalMs: number; entries: ProfileEntry[] };

/** Options for {@linkcode cryptoBench}. */
export interface CryptoBenchOptions {
  /** Folder for the downloads. */
  work: string;
  /** Shares timed in each mode. */
  shareRuns: number;
  /** Gets timed from each source in each mode. */
  getRuns: number;
  /** Ms the machine idles before each get (see `settle.ts`). */
  settleMs: number;
  /** Also profile one get from 1 sharer in each mode (`--cpu-prof`). */
  profile?: boolean;
  /** Says what is being measured. */
  step: (text: string) => void;
}

/** A tracker and the sharers registered with it. */
interface Source {
  /** The tracker. */
  tracker: TrackerProcess;
  /** Its sharers, serving. */
  sharers: Sharer[];
}

/** The trackers and sharers of one mode. */
interface ModeSwarm {
  /** One sharer. */
  single: Source;
  /** CRYPTO_MANY_SHARERS sharers. */
  group?: Source;
}

/**
 * Shares `file` (`bytes` long) in both modes, alternated, then gets it from
 * 1 sharer and from CRYPTO_MANY_SHARERS in both modes, alternated; fills
 * `into` as it goes, so a failure keeps what was measured.
 */
export async function cryptoBench(
  file: string,
  bytes: number,
  into: CryptoResults,
  options: CryptoBenchOptions,
): Promise<void> {
  const trackers: TrackerProcess[] = [];
  const sharers: Sharer[] = [];
  try {
    const swarms = {} as Record<CryptoMode, ModeSwarm>;
    for (const mode of CRYPTO_MODES) {
      const single = await tracker(mode, trackers);
      swarms[mode] = { single: { tracker: single, sharers: [] } };
    }
    options.step(`share ${size(bytes)}, untimed warm-up`);
    const warmUp = swarms.encrypted.single.tracker.address;
    await (await startSharer(file, bytes, warmUp, {
      env: modeEnv("encrypted"),
    })).child.stop();
    const { row, id } = await shares(file, bytes, swarms, sharers, options);
    into.share = row;
    options.step(`${CRYPTO_MANY_SHARERS} more sharers in each mode`);
    for (const mode of CRYPTO_MODES) {
      const group = await tracker(mode, trackers);
      const started = await Promise.all(
        Array.from(
          { length: CRYPTO_MANY_SHARERS },
          () => startSharer(file, bytes, group.address, { env: modeEnv(mode) }),
        ),
      );
      sharers.push(...started);
      swarms[mode].group = { tracker: group, sharers: started };
    }
    into.gets.push(...await gets(id, bytes, swarms, options));
    if (options.profile) {
      into.profiles = {
        plaintext: await profileGet(file, bytes, "plaintext", options),
        encrypted: await profileGet(file, bytes, "encrypted", options),
      };
    }
  } finally {
    await Promise.all(sharers.map((sharer) => sharer.child.stop()));
    await Promise.all(trackers.map((t) => t.child.stop()));
  }
}

async function tracker(
  mode: CryptoMode,
  trackers: TrackerProcess[],
): Promise<TrackerProcess> {
  const started = await startTrackerProcess(undefined, {
    denoFlags: trackerFlags(mode),
    env: modeEnv(mode),
  });
  trackers.push(started);
  return started;
}

/**
 * `shareRuns` shares in each mode, alternated (P E E P ...), each stopped
 * before the next of its mode starts; the last of each stays to serve.
 */
async function shares(
  file: string,
  bytes: number,
  swarms: Record<CryptoMode, ModeSwarm>,
  sharers: Sharer[],
  options: CryptoBenchOptions,
): Promise<{ row: CryptoShareRow; id: string }> {
  const runs: Record<CryptoMode, number[]> = { plaintext: [], encrypted: [] };
  const spawnMs: Record<CryptoMode, number[]> = {
    plaintext: [],
    encrypted: [],
  };
  const last: Partial<Record<CryptoMode, Sharer>> = {};
  for (let round = 0; round < options.shareRuns; round++) {
    for (const mode of roundOrder(round)) {
      options.step(
        `share ${size(bytes)}, ${mode} (${round + 1} of ${options.shareRuns})`,
      );
      await last[mode]?.child.stop();
      const sharer = await startSharer(
        file,
        bytes,
        swarms[mode].single.tracker.address,
        { env: modeEnv(mode) },
      );
      // Stopped ones too, so a failure stops none twice and misses none.
      sharers.push(sharer);
      last[mode] = sharer;
      runs[mode].push(sharer.reportedMs);
      spawnMs[mode].push(sharer.ms);
    }
  }
  for (const mode of CRYPTO_MODES) swarms[mode].single.sharers = [last[mode]!];
  if (last.plaintext!.id !== last.encrypted!.id) {
    throw new Error(
      `The plaintext share printed ID ${
        last.plaintext!.id
      }, the encrypted one ${last.encrypted!.id}`,
    );
  }
  const plaintext = timing(bytes, runs.plaintext);
  const encrypted = timing(bytes, runs.encrypted);
  return {
    row: {
      bytes,
      plaintext,
      encrypted,
      ratio: encrypted.mbps / plaintext.mbps,
      spawnMs,
    },
    id: last.encrypted!.id,
  };
}

/**
 * `getRuns` rounds; each gets from 1 sharer then from many, plaintext then
 * encrypted, and every other round in the reverse order.
 */
async function gets(
  id: string,
  bytes: number,
  swarms: Record<CryptoMode, ModeSwarm>,
  options: CryptoBenchOptions,
): Promise<CryptoGetRow[]> {
  const counts = [1, CRYPTO_MANY_SHARERS];
  const sources = counts.flatMap((sharers) =>
    CRYPTO_MODES.map((mode) => ({ sharers, mode }))
  );
  const results = new Map<string, Measured[]>(
    sources.map((s) => [key(s.sharers, s.mode), []]),
  );
  const outDir = `${options.work}/crypto-out`;
  try {
    for (let round = 0; round < options.getRuns; round++) {
      const order = round % 2 === 0 ? sources : sources.toReversed();
      for (const { sharers, mode } of order) {
        const source = sharers === 1
          ? swarms[mode].single
          : swarms[mode].group!;
        options.step(
          `get ${size(bytes)} from ${sharers}, ${mode} (${
            round + 1
          } of ${options.getRuns})`,
        );
        await settle(options.settleMs);
        const before = cpuOf(source.sharers);
        const got = await runGet(id, bytes, source.tracker.address, outDir, {
          env: modeEnv(mode),
        });
        const sharersCpuMs = (cpuOf(source.sharers) - before) * 1000;
        results.get(key(sharers, mode))!.push({ ...got, sharersCpuMs });
      }
    }
  } finally {
    await Deno.remove(outDir, { recursive: true }).catch(() => {});
  }
  return counts.map((sharers) => {
    const plaintext = modeGets(bytes, results.get(key(sharers, "plaintext"))!);
    const encrypted = modeGets(bytes, results.get(key(sharers, "encrypted"))!);
    return {
      bytes,
      sharers,
      plaintext,
      encrypted,
      ratio: encrypted.mbps / plaintext.mbps,
    };
  });
}

/**
 * One get from one sharer in `mode`, both under `--cpu-prof` (a tracker
 * and sharer of their own, stopped after).
 */
async function profileGet(
  file: string,
  bytes: number,
  mode: CryptoMode,
  options: CryptoBenchOptions,
): Promise<CryptoProfile> {
  options.step(`profiling a get from 1 sharer and the sharer, ${mode}`);
  const dir = `${options.work}/crypto-profile-${mode}`;
  const profiles = { getter: `${dir}/getter`, sharer: `${dir}/sharer` };
  const trackers: TrackerProcess[] = [];
  let sharer: Sharer | undefined;
  try {
    await Deno.mkdir(profiles.getter, { recursive: true });
    await Deno.mkdir(profiles.sharer, { recursive: true });
    const address = (await tracker(mode, trackers)).address;
    sharer = await startSharer(file, bytes, address, {
      env: modeEnv(mode),
      denoFlags: cpuProf(profiles.sharer),
    });
    await runGet(sharer.id, bytes, address, `${dir}/out`, {
      env: modeEnv(mode),
      denoFlags: cpuProf(profiles.getter),
    });
    // The profile is written as the process exits.
    await sharer.child.stop();
    return {
      getter: mainThreadProfile(profiles.getter),
      sharer: mainThreadProfile(profiles.sharer),
    };
  } finally {
    await sharer?.child.stop();
    await Promise.all(trackers.map((t) => t.child.stop()));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function cpuProf(dir: string): string[] {
  return ["--cpu-prof", `--cpu-prof-dir=${dir}`];
}

/** The summary of the main thread's profile in `dir` (workers have their own). */
function mainThreadProfile(dir: string): Profile {
  const main = [...Deno.readDirSync(dir)].find((entry) =>
    entry.name.endsWith(".cpuprofile") && !entry.name.includes("worker")
  );
  if (!main) throw new Error(`--cpu-prof wrote no profile in ${dir}`);
  return summarizeProfile(`${dir}/${main.name}`);
}

/** The modes of round `round`: plaintext first on even rounds. */
export function roundOrder(round: number): readonly CryptoMode[] {
  return round % 2 === 0 ? CRYPTO_MODES : CRYPTO_MODES.toReversed();
}

/** The median of `runs` (ms) of `bytes` as a {@linkcode ModeTiming}. */
export function timing(bytes: number, runs: number[]): ModeTiming {
  const ms = median(runs);
  return { ms, mbps: bytes / 1e6 / (ms / 1000), runs };
}

/** A get and what its sharers spent on it. */
export type Measured = GetResult & { sharersCpuMs: number };

/** The gets `runs` of `bytes` in one mode, as medians (peak RSS: the most). */
export function modeGets(bytes: number, runs: Measured[]): ModeGets {
  return {
    ...timing(bytes, runs.map((run) => run.wallMs)),
    peakRssBytes: Math.max(...runs.map((run) => run.peakRssBytes)),
    getterCpuMs: median(runs.map((run) => run.cpuMs)),
    sharersCpuMs: median(runs.map((run) => run.sharersCpuMs)),
    busyMs: median(runs.map((run) => run.busyMs)),
  };
}

/** CPU seconds `sharers` have used so far, together. */
function cpuOf(sharers: Sharer[]): number {
  return sharers.reduce((sum, sharer) => sum + sharer.child.cpuSeconds(), 0);
}

function key(sharers: number, mode: CryptoMode): string {
  return `${sharers}/${mode}`;
}
