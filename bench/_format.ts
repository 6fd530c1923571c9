/**
 * Numbers as the report prints them, shared by the report's modules.
 *
 * @module
 */

/** Bytes in one MiB. */
const MIB = 1024 ** 2;
/** Bytes in one GiB. */
const GIB = 1024 * MIB;

/** A byte count as GiB or MiB, e.g. `1 GiB`, `256 MiB`. */
export function size(bytes: number): string {
  return bytes >= GIB && bytes % GIB === 0
    ? `${bytes / GIB} GiB`
    : `${(bytes / MIB).toFixed(0)} MiB`;
}

/** Milliseconds as `850 ms` or, from a second, `1.25 s`. */
export function ms(value: number): string {
  return value >= 1000
    ? `${(value / 1000).toFixed(2)} s`
    : `${value.toFixed(0)} ms`;
}
