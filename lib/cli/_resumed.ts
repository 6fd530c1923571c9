/**
 * What `peer get` says when it resumes a `.part` an earlier get left: how
 * much was already there, checked against the piece hashes. The download
 * tells it in its first report that is not a wait, made once that `.part`
 * is checked and before any peer is linked. That alone does not tell a
 * resume from a get that starts afresh: the first report of a small file
 * can come with its one piece in and its peer gone. So a resume is also a
 * `.part` of the name the report gives that was there before the get.
 *
 * @module
 */

import type { DownloadProgress } from "../download/types.ts";
import { PART_SUFFIX } from "../storage/part_file.ts";
import { formatSize } from "./format.ts";
import { terminalSafe } from "../util/terminal_safe.ts";

/**
 * Bytes an earlier get had saved, read off `progress`: `undefined` while
 * the reports are waits (the file or the check not done yet), else the
 * bytes the first other report holds when a `.part` of its name was among
 * `partsBefore` (the folder's when the get started: `partsIn`), 0 for a
 * get that starts afresh. Call it with each report until it answers.
 */
export function resumedBytes(
  progress: DownloadProgress,
  partsBefore: ReadonlySet<string>,
): number | undefined {
  if (progress.waiting) return undefined;
  const resumed = partsBefore.has(progress.name + PART_SUFFIX) &&
    progress.peers === 0;
  return resumed ? progress.received : 0;
}

/**
 * The line said once when a get resumes, e.g. `Resuming big.bin: 312 MiB
 * of 1.0 GiB already here, checked.`; escaped for the terminal.
 */
export function resumingLine(
  name: string,
  options: { bytes: number; size: number },
): string {
  const { bytes, size } = options;
  const held = bytes >= size
    ? `all ${formatSize(size)}`
    : `${formatSize(bytes)} of ${formatSize(size)}`;
  return `Resuming ${terminalSafe(name)}: ${held} already here, checked.`;
}
