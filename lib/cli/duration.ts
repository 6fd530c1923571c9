/**
 * Durations typed on the command line: `--wait 5m`.
 *
 * @module
 */

import { UsageError } from "../app/usage_error.ts";

/** Longest duration accepted (a day): longer is surely a typo. */
export const MAX_DURATION_MS = 24 * 60 * 60 * 1000;

const UNITS: Readonly<Record<string, number>> = {
  "": 1000,
  "ms": 1,
  "s": 1000,
  "m": 60_000,
  "h": 3_600_000,
};

/**
 * Milliseconds in `text`: a number with an optional unit `ms`, `s` (the
 * default), `m` or `h`, e.g. `0`, `90`, `30s`, `5m`, `1.5h`. Throws a
 * {@linkcode UsageError} naming `flag` otherwise.
 */
export function parseDuration(text: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|)\s*$/i.exec(text);
  const ms = match ? Number(match[1]) * UNITS[match[2].toLowerCase()] : NaN;
  if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) {
    throw new UsageError(
      `${flag} takes a duration such as 30s, 5m or 1h (0 for none, at most 24h), not "${text}".`,
    );
  }
  return Math.round(ms);
}
