/**
 * A run's results object: a new one with the machine described, and where
 * it is written (`bench/results/<date>[-crypto][-links][-quick].json`).
 *
 * @module
 */

import type { BenchResults, MachineInfo } from "./report.ts";
import { REPO_ROOT } from "./transfer.ts";

/** Folder the JSON results go to. */
export const RESULTS_DIR = `${REPO_ROOT}bench/results`;

/** Options for {@linkcode newResults}. */
export interface NewResultsOptions {
  /** A `--quick` run. */
  quick: boolean;
  /** Ms the machine idles before each get (see `settle.ts`). */
  settleMs: number;
  /** Bytes of the small test file. */
  smallBytes: number;
}

/** Empty results of a run starting now, with the machine described. */
export function newResults(options: NewResultsOptions): BenchResults {
  return {
    date: new Date().toISOString(),
    quick: options.quick,
    settleMs: options.settleMs,
    machine: machineInfo(),
    sizes: { small: options.smallBytes, large: 0 },
    shares: [],
    gets: [],
    targets: [],
    errors: [],
  };
}

function machineInfo(): MachineInfo {
  let cpuModel = "unknown";
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(info)?.[1].trim() ?? cpuModel;
  } catch {
    // Not Linux: leave it unknown.
  }
  return {
    cpus: navigator.hardwareConcurrency,
    cpuModel,
    memoryBytes: Deno.systemMemoryInfo().total,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    loadBefore: Deno.loadavg(),
    loadAfter: [],
  };
}

/**
 * Writes `results` under RESULTS_DIR, named by the run's day and what it
 * ran (`parts`, e.g. `["crypto"]`, then `quick`); resolves to the path.
 */
export async function writeResults(
  results: BenchResults,
  parts: string[] = [],
): Promise<string> {
  await Deno.mkdir(RESULTS_DIR, { recursive: true });
  const name = [
    results.date.slice(0, 10),
    ...parts,
    ...(results.quick ? ["quick"] : []),
  ].join("-");
  const file = `${RESULTS_DIR}/${name}.json`;
  await Deno.writeTextFile(file, JSON.stringify(results, null, 2) + "\n");
  return file;
}
