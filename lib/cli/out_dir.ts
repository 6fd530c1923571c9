/**
 * The folder `peer get --out` saves into, checked (and created) before the
 * tracker is asked or a byte downloaded: {@linkcode prepareOutDir} of
 * lib/app/out_dir.ts, with advice that names `--out`.
 *
 * @module
 */

import {
  type OutDirAdvice,
  prepareOutDir as prepareFolder,
} from "../app/out_dir.ts";

export { OutDirError, removeEmptyFolders } from "../app/out_dir.ts";

/** What to do about a bad `--out`, as the command line says it. */
const CLI_ADVICE: OutDirAdvice = {
  empty: "The value of --out is empty: give the folder to save into.",
  notAFolder: "give --out a folder (a missing one is created).",
  cannotCreate: "choose another --out.",
};

/**
 * The same, for the folder of `-o/--output FILE` given without `--out`:
 * the flag to change is the one typed.
 */
const OUTPUT_ADVICE: OutDirAdvice = {
  empty: "The value of --output is empty: give the file to save as.",
  notAFolder: "choose another --output.",
  cannotCreate: "choose another --output.",
};

/**
 * Makes sure `out` (the value of `--out`, or the folder of `--output` when
 * `byOutput`) is a folder to save downloads into, creating it when
 * missing; resolves to the folders it created, deepest first. Throws a
 * `UsageError` (exit 2) when `out` is empty or a file, and an
 * `OutDirError` (exit 1) when it cannot be created.
 *
 * @example
 * ```ts
 * const created = await prepareOutDir("downloads"); // ./downloads if missing
 * ```
 */
export function prepareOutDir(
  out: string,
  byOutput = false,
): Promise<string[]> {
  return prepareFolder(out, byOutput ? OUTPUT_ADVICE : CLI_ADVICE);
}
