/**
 * Reads a V8 `.cpuprofile` (from `deno run --cpu-prof`) and sums self time
 * per function, so `deno task bench --profile` can say where a `peer get`
 * spends its time.
 *
 * @module
 */

/** How many functions the summary lists. */
export const PROFILE_TOP = 15;

/** Self time of one function across the profile. */
export interface ProfileEntry {
  /** `name (file:line)`. */
  name: string;
  /** Ms of samples whose top frame was this function. */
  selfMs: number;
  /** Share of all sampled time, 0..1. */
  share: number;
}

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The `top` functions by self time in the profile at `path`. */
export function summarizeProfile(
  path: string,
  top = PROFILE_TOP,
): { totalMs: number; entries: ProfileEntry[] } {
  const profile = JSON.parse(Deno.readTextFileSync(path)) as CpuProfile;
  const names = new Map<number, string>();
  for (const node of profile.nodes) names.set(node.id, frameName(node));
  const selfUs = new Map<string, number>();
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    // A sample's time is the delta to the next sample.
    const us = profile.timeDeltas[i + 1] ?? 0;
    const name = names.get(profile.samples[i]) ?? "?";
    selfUs.set(name, (selfUs.get(name) ?? 0) + us);
    totalUs += us;
  }
  const entries = [...selfUs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({
      name,
      selfMs: us / 1000,
      share: totalUs > 0 ? us / totalUs : 0,
    }));
  return { totalMs: totalUs / 1000, entries };
}

function frameName(node: CpuProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || "(anonymous)";
  if (!url) return name;
  const file = url.replace(/^.*\/(lib|bench|ext|node)\//, "$1/");
  return `${name} (${file}:${lineNumber + 1})`;
}
