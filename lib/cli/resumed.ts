/**
 * What a get says when it resumes a `.part` an earlier get left: before
 * that `.part` is checked against the piece hashes, when it is large enough
 * for the check to take a while, and once, how much was already there (or,
 * after a check that was said, that nothing in it matched).
 * `peer get` and the prompt say it alike; `lib/app/resume.ts` tells a
 * resume from a get that starts afresh.
 *
 * @module
 */

import { basename } from "node:path";
import { formatSize } from "./format.ts";
import { terminalSafe } from "../util/terminal_safe.ts";

/**
 * A resumed `.part` of at least this many bytes is said to be checked
 * before its check starts (every piece in it is read and hashed again:
 * a second or more from a slow disk); a smaller one's check is over before
 * anyone would wonder, and only the resuming line is said.
 */
export const CHECK_SAID_BYTES = 64 * 1024 * 1024;

/** The note on a progress line while a resumed `.part` is checked. */
export const CHECKING_NOTE = "checking what an earlier get left";

/** Whether the check of a resumed `.part` of `bytes` is said before it starts. */
export function saysChecking(bytes: number): boolean {
  return bytes >= CHECK_SAID_BYTES;
}

/**
 * The line said before a large resumed `.part` is checked, e.g. `Checking
 * big.bin.part from an earlier get…`; escaped for the terminal.
 */
export function checkingLine(partPath: string): string {
  return `Checking ${terminalSafe(basename(partPath))} from an earlier get…`;
}

/** Options for {@linkcode checkedLine}. */
export interface CheckedLineOptions {
  /** Bytes of the `.part` kept by its check: 0 when nothing matched. */
  bytes: number;
  /** Bytes of the whole file. */
  size: number;
  /**
   * The `.part` named by the {@linkcode checkingLine} said before its
   * check, when one was said. @default {undefined}
   */
  saidChecking?: string;
}

/**
 * The line said once a get's resumed `.part` is checked, e.g. `Resuming
 * big.bin: 312 MiB of 1.0 GiB already here, checked.`; when nothing in it
 * matched, `Nothing in big.bin.part matched; starting afresh.` if its check
 * was said before (the check's line needs an end), else none. Escaped for
 * the terminal.
 */
export function checkedLine(
  name: string,
  options: CheckedLineOptions,
): string | undefined {
  const { bytes, saidChecking } = options;
  if (bytes > 0) return resumingLine(name, options);
  if (saidChecking === undefined) return undefined;
  const part = terminalSafe(basename(saidChecking));
  return `Nothing in ${part} matched; starting afresh.`;
}

/** How much a resumed `.part` held, as {@linkcode checkedLine} says it. */
function resumingLine(
  name: string,
  options: { bytes: number; size: number },
): string {
  const { bytes, size } = options;
  const held = bytes >= size
    ? `all ${formatSize(size)}`
    : `${formatSize(bytes)} of ${formatSize(size)}`;
  return `Resuming ${terminalSafe(name)}: ${held} already here, checked.`;
}
