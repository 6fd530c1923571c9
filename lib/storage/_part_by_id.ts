/**
 * Finding an earlier download's `.part` (file or folder) by what its
 * resume record says rather than by its name. The same file may be asked
 * for under another name than the run that began it used (its only sharer
 * now calls it differently, or `-o` names another), and the pieces in its
 * `.part` are worth as much whatever it is called.
 *
 * Only records are read here: regular files named `NAME.part.json`, of at
 * most a record's size, at most MAX_RECORDS_LOOKED_AT of them, parsed as
 * JSON. The caller decides which record is its file's, and opens the
 * `.part` beside it with the checks it always makes.
 *
 * @module
 */

import { join } from "node:path";
import { readFullAsync } from "../util/read_full.ts";

/**
 * Most resume records (`*.part.json`) read while looking for a `.part` by
 * its record: a download folder full of partial downloads costs a get at
 * most this many small reads.
 */
export const MAX_RECORDS_LOOKED_AT = 256;

/** Options for {@linkcode partsByRecord}. */
export interface PartsByRecordOptions {
  /** What a `.part`'s name ends with (`.part`). */
  partSuffix: string;
  /** What its record's name adds to that (`.json`). */
  recordSuffix: string;
  /** A record's most bytes: a larger file is no record. */
  maxBytes: number;
  /** True for a record (parsed JSON) of the file or folder wanted. */
  matches: (record: unknown) => boolean;
}

/**
 * The names (without the `.part`) of the `.part`s in `dir` whose record
 * `matches`, among the first MAX_RECORDS_LOOKED_AT records listed. None
 * if `dir` cannot be listed; none whose `.part` is not there.
 */
export async function partsByRecord(
  dir: string,
  options: PartsByRecordOptions,
): Promise<string[]> {
  const suffix = options.partSuffix + options.recordSuffix;
  const found: string[] = [];
  let looked = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      const { name } = entry;
      if (!entry.isFile || !name.endsWith(suffix) || name === suffix) continue;
      if (++looked > MAX_RECORDS_LOOKED_AT) break;
      const record = await readJson(join(dir, name), options.maxBytes);
      if (record === undefined || !options.matches(record)) continue;
      const partName = name.slice(0, -suffix.length);
      const part = join(dir, partName + options.partSuffix);
      if (await Deno.lstat(part).then(() => true, () => false)) {
        found.push(partName);
      }
    }
  } catch {
    // An unreadable folder has no `.part` to offer.
  }
  return found;
}

/**
 * The JSON in the regular file at `path`, read only if it is one (`lstat`
 * first: no link followed, no FIFO opened) and of at most `maxBytes`
 * (counted again as it is read); undefined otherwise.
 */
async function readJson(path: string, maxBytes: number): Promise<unknown> {
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile || info.size > maxBytes) return undefined;
    using file = await Deno.open(path, { read: true });
    const bytes = new Uint8Array(maxBytes + 1);
    const length = await readFullAsync(file, bytes);
    if (length > maxBytes) return undefined;
    return JSON.parse(new TextDecoder().decode(bytes.subarray(0, length)));
  } catch {
    return undefined;
  }
}
