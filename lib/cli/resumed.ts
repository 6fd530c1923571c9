/**
 * What a get says, once, when it resumes a `.part` an earlier get left:
 * how much was already there, checked against the piece hashes. `peer get`
 * and the prompt say it alike; `lib/app/resume.ts` tells a resume from a
 * get that starts afresh.
 *
 * @module
 */

import { formatSize } from "./format.ts";
import { terminalSafe } from "../util/terminal_safe.ts";

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
