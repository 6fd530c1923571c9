/**
 * `deno task bench --floor`: whether anything that encrypts can reach issue
 * #19's "get ≥ 4× aria2c" on this machine, measured in one run: streaming
 * SHA-256 (for the file's hash), the floor in clear and encrypted
 * (`floor.ts`), the aria2c anchor (`aria2.ts`), and gets from 1 sharer
 * encrypted (as shipped) and in plaintext (`P2P_BENCH_PLAINTEXT`, see
 * `crypto.ts`), alternated; then an encrypted get's fixed cost, from gets
 * of a one-piece file (`floor_fixed.ts`), which the floor leaves out. Each
 * timed part idles `settleMs` first.
 *
 * @module
 */

import { aria2Anchor } from "./aria2.ts";
import { sha256Baseline } from "./baselines.ts";
import {
  CRYPTO_MODES,
  type CryptoGetRow,
  type CryptoMode,
  type Measured,
  modeEnv,
  modeGets,
  roundOrder,
  trackerFlags,
} from "./crypto.ts";
import { floorBaseline } from "./floor.ts";
import { FIXED_COST_RUNS, getFixedCost } from "./floor_fixed.ts";
import { size } from "./_format.ts";
import type { BenchResults } from "./report.ts";
import { settle } from "./settle.ts";
import {
  runGet,
  type Sharer,
  startSharer,
  startTrackerProcess,
  type TrackerProcess,
} from "./transfer.ts";

/** Options for {@linkcode floorBench}. */
export interface FloorBenchOptions {
  /** Folder for outputs and downloads. */
  work: string;
  /** Runs of the SHA-256 baseline and of each floor. */
  floorRuns: number;
  /** Gets in each mode. */
  getRuns: number;
  /** Ms the machine idles before each timed run (see `settle.ts`). */
  settleMs: number;
  /** Says what is being measured. */
  step: (text: string) => void;
}

/**
 * Measures `file` (`bytes` long) as above, filling `into` as it goes (so a
 * failure keeps what was measured): `sha256`, `floor`, `floorEncrypted`,
 * `aria2`, `crypto.gets` (one row, from 1 sharer), and `getFixedCost`
 * (FIXED_COST_RUNS gets of a one-piece file, last, so the parts before it
 * run as in earlier runs).
 */
export async function floorBench(
  file: string,
  bytes: number,
  into: BenchResults,
  options: FloorBenchOptions,
): Promise<void> {
  const { work, floorRuns, settleMs, step } = options;
  step(`SHA-256 of ${size(bytes)}, for its hash`);
  into.sha256 = sha256Baseline(file, floorRuns);
  const hex = into.sha256.hex;
  step("floor, in clear");
  into.floor = await floorBaseline(file, floorRuns, { work, hex, settleMs });
  step("floor, encrypted");
  into.floorEncrypted = await floorBaseline(file, floorRuns, {
    work,
    hex,
    settleMs,
    encrypted: true,
  });
  step("aria2c anchor");
  into.aria2 = await aria2Anchor(file, bytes, work, { settleMs });
  into.crypto = { gets: [] };
  into.crypto.gets.push(await gets(file, bytes, options));
  into.getFixedCost = await getFixedCost({
    work,
    runs: FIXED_COST_RUNS,
    settleMs,
    step,
  });
}

/** `getRuns` gets from 1 sharer in each mode, alternated (P E E P …). */
async function gets(
  file: string,
  bytes: number,
  options: FloorBenchOptions,
): Promise<CryptoGetRow> {
  const trackers: TrackerProcess[] = [];
  const sharers: Partial<Record<CryptoMode, Sharer>> = {};
  const measured: Record<CryptoMode, Measured[]> = {
    plaintext: [],
    encrypted: [],
  };
  const outDir = `${options.work}/floor-gets`;
  try {
    for (const mode of CRYPTO_MODES) {
      const tracker = await startTrackerProcess(undefined, {
        denoFlags: trackerFlags(mode),
        env: modeEnv(mode),
      });
      trackers.push(tracker);
      options.step(`share ${size(bytes)}, ${mode}`);
      sharers[mode] = await startSharer(file, bytes, tracker.address, {
        env: modeEnv(mode),
      });
    }
    for (let round = 0; round < options.getRuns; round++) {
      for (const mode of roundOrder(round)) {
        options.step(
          `get ${size(bytes)} from 1, ${mode} (${
            round + 1
          } of ${options.getRuns})`,
        );
        await settle(options.settleMs);
        const sharer = sharers[mode]!;
        const before = sharer.child.cpuSeconds();
        const got = await runGet(
          sharer.id,
          bytes,
          trackers[CRYPTO_MODES.indexOf(mode)].address,
          outDir,
          { env: modeEnv(mode) },
        );
        const sharersCpuMs = (sharer.child.cpuSeconds() - before) * 1000;
        measured[mode].push({ ...got, sharersCpuMs });
      }
    }
  } finally {
    for (const sharer of Object.values(sharers)) await sharer.child.stop();
    for (const tracker of trackers) await tracker.child.stop();
    await Deno.remove(outDir, { recursive: true }).catch(() => {});
  }
  const plaintext = modeGets(bytes, measured.plaintext);
  const encrypted = modeGets(bytes, measured.encrypted);
  return {
    bytes,
    sharers: 1,
    plaintext,
    encrypted,
    ratio: encrypted.mbps / plaintext.mbps,
  };
}
