/**
 * The emulated-link rows of the report and their targets (issue: fast and
 * sure over real links): from 1 sharer ≥ 0.9× one TCP stream at 20, 100 and
 * 200 ms; from 3 sharers ≥ 2.5× one stream at 100 ms; with 1% loss ≥ 0.8×;
 * a 1 Mbit/s line with 10 sharers used at ≥ 80% with no honest peer dropped.
 *
 * @module
 */

import type { LinkResult } from "./links.ts";

/** A target row, as `report.ts` prints them. */
export interface LinkTarget {
  name: string;
  goal: string;
  measured: string;
  met?: boolean;
}

/** Goal of each scenario, by name: the least ratio to its baseline. */
const GOALS: Readonly<Record<string, number>> = {
  "RTT 20 ms": 0.9,
  "RTT 100 ms": 0.9,
  "RTT 200 ms": 0.9,
  "RTT 100 ms, 1% loss": 0.8,
  "RTT 100 ms, 3 sharers": 2.5,
  "1 Mbit/s, RTT 40 ms, 10 sharers": 0.8,
};

/** Markdown lines of the emulated-link table. */
export function formatLinks(
  links: LinkResult[] | undefined,
  skipped: string | undefined,
): string[] {
  if (skipped) return ["", `Emulated links: skipped (${skipped}).`];
  if (!links || links.length === 0) return [];
  const lines = [
    "",
    "| Emulated link (network namespaces, linkemu) | File | Get MB/s (runs, s) | Baseline MB/s (runs, s) | Get ÷ baseline | Peers dropped | Lost / queue-dropped packets to the getter |",
    "|---|---:|---:|---:|---:|---|---:|",
  ];
  for (const r of links) {
    if (r.failed) {
      lines.push(
        `| ${r.name}${r.sharers > 1 ? "" : ", 1 sharer"} | ${
          mib(r.bytes)
        } | failed: ${r.failed.replaceAll("|", "/")} | | | | |`,
      );
      continue;
    }
    const baseline = r.streamMs.length === 0
      ? `${r.baselineMbps.toFixed(3)} (the line rate)`
      : `${r.baselineMbps.toFixed(1)} (${seconds(r.streamMs)})`;
    lines.push(
      `| ${r.name}${r.sharers > 1 ? "" : ", 1 sharer"} | ${mib(r.bytes)} | ${
        r.getMbps.toFixed(r.getMbps < 1 ? 3 : 1)
      } (${seconds(r.getMs)}) | ${baseline} | ${r.ratio.toFixed(2)}× | ${
        r.dropped.length === 0 ? "none" : r.dropped.join("; ")
      } | ${r.lost} / ${r.queueDrops} |`,
    );
  }
  return lines;
}

/** The targets the emulated-link rows check. */
export function linkTargets(links: LinkResult[] | undefined): LinkTarget[] {
  const targets: LinkTarget[] = [];
  for (const r of links ?? []) {
    const goal = GOALS[r.name];
    if (goal === undefined) continue;
    const lineRate = r.streamMs.length === 0;
    const honest = !lineRate || r.dropped.length === 0;
    targets.push({
      name: `Get over ${r.name} vs ${
        lineRate ? "the line rate" : "one TCP stream"
      }`,
      goal: `≥ ${goal}×${lineRate ? ", no peer dropped" : ""}`,
      measured: `${r.ratio.toFixed(2)}×${
        lineRate ? `, ${r.dropped.length} dropped` : ""
      }`,
      met: !r.failed && r.ratio >= goal && honest,
    });
  }
  return targets;
}

function seconds(ms: number[]): string {
  return ms.map((m) => (m / 1000).toFixed(2)).join(", ");
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 ** 2)} MiB`;
}
