/**
 * The crowd bench's honest probe (one client querying its own file, timed)
 * and the CPU a set of processes used.
 *
 * @module
 */

import { randomMeta } from "../scripts/_crowd.ts";
import { Latencies, type LatencySummary } from "../scripts/_latency.ts";
import { TrackerClient } from "../lib/discovery/tracker_client.ts";
import { cpuSecondsOf } from "./_process.ts";

/**
 * Ms between the honest probe's queries: about 800 in 10 s, so that a p99
 * is the 8th slowest, not (at 50 ms, 190 samples) the 2nd, one stall's.
 */
export const PROBE_EVERY_MS = 10;

/**
 * CPU seconds (user and system) each of `pids` has used, by pid: a process
 * gone is left out, so subtract with {@linkcode cpuSecondsSince}.
 */
export function pidsCpuSeconds(pids: number[]): Map<number, number> {
  const seconds = new Map<number, number>();
  for (const pid of pids) {
    const used = cpuSecondsOf(pid);
    if (used !== undefined) seconds.set(pid, used);
  }
  return seconds;
}

/**
 * CPU seconds the processes of `before` used since, counting one that has
 * exited since as having used nothing more (never a negative figure).
 */
export function cpuSecondsSince(before: Map<number, number>): number {
  let seconds = 0;
  for (const [pid, used] of pidsCpuSeconds([...before.keys()])) {
    seconds += Math.max(0, used - (before.get(pid) ?? used));
  }
  return seconds;
}

/** An honest client from 127.0.0.1 querying its own file every PROBE_EVERY_MS for `ms`. */
export async function runProbe(
  address: { host: string; port: number },
  ms: number,
): Promise<LatencySummary> {
  const latencies = new Latencies();
  const client = await TrackerClient.connect(address);
  try {
    const meta = randomMeta("probe.bin");
    await client.register(meta, 6000);
    const end = performance.now() + ms;
    while (performance.now() < end) {
      const started = performance.now();
      await client.query(meta.id);
      latencies.add(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
    }
    return latencies.summary();
  } finally {
    client.close();
  }
}
