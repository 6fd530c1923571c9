/**
 * The lines that list what a folder share left out and why, as `peer
 * share` and the prompt print them.
 *
 * @module
 */

import type { SkippedEntry } from "../app/peer_node.ts";
import { terminalSafe } from "../util/terminal_safe.ts";

/** Entries of a folder's left-out list printed; the rest are counted. */
export const MAX_LEFT_OUT_SHOWN = 20;

/**
 * `Left out 2 entries that cannot be shared:`, then one line for each
 * (`  PATH: why`, at most {@linkcode MAX_LEFT_OUT_SHOWN}, the rest counted);
 * none when nothing was left out.
 *
 * @example
 * ```ts
 * leftOutLines([{ path: "/home/ann/tree/run", reason: "symbolic link" }]);
 * // ["Left out 1 entry that cannot be shared:",
 * //  "  /home/ann/tree/run: symbolic link"]
 * ```
 */
export function leftOutLines(skipped: readonly SkippedEntry[]): string[] {
  if (skipped.length === 0) return [];
  const shown = skipped.slice(0, MAX_LEFT_OUT_SHOWN);
  return [
    `Left out ${skipped.length} ${
      skipped.length === 1 ? "entry" : "entries"
    } that cannot be shared:`,
    ...shown.map((entry) =>
      `  ${terminalSafe(entry.path)}: ${terminalSafe(entry.reason)}`
    ),
    ...(skipped.length > shown.length
      ? [`  … and ${skipped.length - shown.length} more.`]
      : []),
  ];
}
