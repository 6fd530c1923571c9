/**
 * The NAT rows of the report: time to first byte (one 16 KiB piece) and
 * the whole get by each route, under the baseline of a plain TCP connect
 * and the first 16 KiB between two public hosts of a lab.
 *
 * @module
 */

import { ms, size } from "./_format.ts";
import type { NatResult, NatResults } from "./nat.ts";

/** Markdown lines of the NAT table (or the line saying why it was skipped). */
export function formatNat(
  nat: NatResults | undefined,
  skipped: string | undefined,
): string[] {
  if (skipped) return ["", `NAT routes: skipped (${skipped}).`];
  if (!nat) return [];
  const { baseline } = nat;
  const lines = [
    "",
    `| NAT route (network namespaces, Linux NAT routers), ${
      size(nat.bytes)
    } in ${nat.pieceSize} pieces | Expected route | Routes seen | First piece, median (runs) | Whole get, median (runs) |`,
    "|---|---|---|---:|---:|",
    `| Baseline: TCP connect + first ${
      baseline.bytes / 1024
    } KiB, public host → public host | — | plain TCP | ${
      baseline.medianMs.toFixed(2)
    } ms (${times(baseline.ms, 2)}) | — |`,
  ];
  for (const row of nat.scenarios) lines.push(natRow(row));
  lines.push(
    "",
    "Times are the get's own (`firstPieceMs`, `elapsedMs` of `peer get --json`: from the download's start, tracker lookup and meeting included, Deno start-up not), and the baseline's from before its connect; no idling before any of them.",
  );
  return lines;
}

/** The failures of the NAT rows, for the run's errors. */
export function natErrors(nat: NatResults | undefined): string[] {
  return (nat?.scenarios ?? []).filter((row) => row.error).map((row) =>
    `NAT route "${row.name}": ${row.error}`
  );
}

function natRow(row: NatResult): string {
  if (row.skipped) {
    return `| ${row.name} | ${row.expected} | skipped: ${row.skipped} | — | — |`;
  }
  if (
    row.medianFirstPieceMs === undefined || row.medianElapsedMs === undefined
  ) {
    return `| ${row.name} | ${row.expected} | failed: ${
      row.error ?? "no runs"
    } | — | — |`;
  }
  const seen = row.routes.join(", ");
  const unexpected = row.routes.some((route) => route !== row.expected);
  return `| ${row.name} | ${row.expected} | ${
    unexpected ? `**${seen}**` : seen
  } | ${ms(row.medianFirstPieceMs)} (${times(row.firstPieceMs, 0)}) | ${
    ms(row.medianElapsedMs)
  } (${times(row.elapsedMs, 0)}) |`;
}

/** Ms values as `12, 15, 13 ms`. */
function times(values: number[], digits: number): string {
  return `${values.map((value) => value.toFixed(digits)).join(", ")} ms`;
}
