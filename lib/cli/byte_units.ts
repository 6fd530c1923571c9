/**
 * Sizes and rates typed on the command line (`--download-limit 300K`,
 * `--piece-size 1M`, `--relay-quota 4G`): a number and an optional unit,
 * read the way rsync and GNU coreutils read them. K, M, G and T (or KiB,
 * MiB, GiB, TiB) are powers of 1024, as curl and aria2 also take them;
 * KB, MB, GB and TB are powers of 1000; B is bytes. Case does not matter,
 * and there are no bits: `10Mb` is 10 000 000 bytes.
 *
 * @module
 */

/** Options for {@linkcode parseByteCount}. */
export interface ByteCountOptions {
  /** The unit letters taken, smallest first. @default {"KMG"} */
  units?: string;
  /** Whether a fraction (`1.5M`) is taken. @default {true} */
  fractions?: boolean;
  /** Whether `/s` may end it (a rate). @default {false} */
  perSecond?: boolean;
}

const COUNT =
  /^([0-9]+(?:\.[0-9]+)?)\s*(?:([kmgt])(i?)(b?)|(b))?\s*(\/\s*s)?$/i;

/**
 * The bytes `text` stands for, rounded to a whole number (surrounding
 * spaces ignored); NaN if it is not a number with one of the units.
 *
 * @example
 * ```ts
 * parseByteCount("300K"); // 307200
 * parseByteCount("10MiB"); // 10485760
 * parseByteCount("10MB"); // 10000000
 * parseByteCount("1 0M"); // NaN
 * ```
 */
export function parseByteCount(
  text: string,
  options: ByteCountOptions = {},
): number {
  const match = COUNT.exec(text.trim());
  if (!match) return NaN;
  const [, digits, letter, binary, bytesMark, , perSecond] = match;
  if (perSecond && !options.perSecond) return NaN;
  if (digits.includes(".") && options.fractions === false) return NaN;
  const units = (options.units ?? "KMG").toLowerCase();
  let multiplier = 1;
  if (letter) {
    const power = units.indexOf(letter.toLowerCase()) + 1;
    if (power === 0) return NaN;
    const decimal = bytesMark !== "" && binary === "";
    multiplier = (decimal ? 1000 : 1024) ** power;
  }
  return Math.round(Number(digits) * multiplier);
}

/**
 * How the units are told in an error: `K, M or G (powers of 1024; KB, MB
 * and GB are powers of 1000)`, for the `units` letters.
 */
export function unitsHelp(units = "KMG"): string {
  const letters = [...units.toUpperCase()];
  const list = (suffix: string) =>
    `${letters.slice(0, -1).map((l) => l + suffix).join(", ")}${
      suffix ? " and " : " or "
    }${letters.at(-1)}${suffix}`;
  return `${list("")} (powers of 1024; ${list("B")} are powers of 1000)`;
}
