/**
 * The local time `--verbose` lines start with, to the millisecond
 * (`12:34:56.789 Connected to 10.0.0.7:6000: …`): one format for the peer
 * and the tracker. Its own module so that the tracker, which has none of
 * the peer's flags, can stamp its lines without importing them.
 *
 * @module
 */

/**
 * The local time of a log line, to the millisecond.
 *
 * @example
 * ```ts
 * logTime(new Date(2025, 0, 1, 9, 5, 7, 42)); // "09:05:07.042"
 * ```
 */
export function logTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(date.getHours())}:${two(date.getMinutes())}:${
    two(date.getSeconds())
  }.${String(date.getMilliseconds()).padStart(3, "0")}`;
}
