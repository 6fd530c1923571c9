/**
 * A byte count in words for people, with binary units: what every size the
 * user sees is written as, from a file table to an error sentence.
 *
 * @module
 */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/**
 * Formats a byte count with binary units: `512 B`, `1.5 KiB`, `20.0 MiB`.
 *
 * @example
 * ```ts
 * formatSize(20 * 1024 * 1024); // "20.0 MiB"
 * ```
 */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "?";
  let value = bytes;
  let unit = 0;
  // 1,048,575 B is "1.0 MiB", not the "1024 KiB" its rounding would give.
  while (
    unit < UNITS.length - 1 &&
    (value >= 1024 || (unit > 0 && Number(shown(value)) >= 1024))
  ) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  return `${shown(value)} ${UNITS[unit]}`;
}

/** A size in its unit as shown: no decimal from 100 on, else one. */
function shown(value: number): string {
  return value.toFixed(value >= 100 ? 0 : 1);
}
