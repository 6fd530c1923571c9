/**
 * Telling an unfinished download from something to share: `NAME.part` (a
 * file, or a folder for a folder download) with its resume record
 * `NAME.part.json` beside it is what `peer get` is writing, or will resume.
 * Shared, it would pass on a file with holes under a name nobody asked
 * for, so a share refuses it, and a folder share leaves it out with its
 * record.
 *
 * Only the record is read (a regular file of at most a record's size,
 * parsed as JSON: `_part_record.ts`); a `.part` without one is the user's
 * own file, shared like any other.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { isRecord, readRecord } from "./_part_record.ts";
import { MAX_RECORD_BYTES, PART_SUFFIX, RECORD_SUFFIX } from "./part_file.ts";

/** A `.part` that a download is writing or will resume. */
export interface UnfinishedDownload {
  /** The name it is saved under once finished (its own without `.part`). */
  name: string;
  /** Its resume record, beside it. */
  record: string;
  /**
   * About how much of it is there, from 0 to 1: the bytes a file `.part`
   * holds on disk (it is sparse until written) over the file's size.
   * Undefined for a folder, or where the file system does not tell.
   */
  done?: number;
}

/**
 * The unfinished download at `path` (a `NAME.part` with its record
 * beside it), or undefined for anything else.
 *
 * @example
 * ```ts
 * const download = await unfinishedDownload("downloads/c.bin.part");
 * // { name: "c.bin", record: "downloads/c.bin.part.json", done: 0.34 }
 * ```
 */
export async function unfinishedDownload(
  path: string,
): Promise<UnfinishedDownload | undefined> {
  const part = path.replace(/(?<=.)[\\/]+$/, "");
  const name = basename(part);
  if (!name.endsWith(PART_SUFFIX) || name === PART_SUFFIX) return undefined;
  const record = join(dirname(part), name + RECORD_SUFFIX);
  const said = await readRecord(record, MAX_RECORD_BYTES).catch(() => "");
  if (!isRecord(said)) return undefined;
  const info = await Deno.stat(part).catch(() => undefined);
  if (!info) return undefined;
  return {
    name: name.slice(0, -PART_SUFFIX.length),
    record,
    done: info.isFile ? doneOf(info, said.size) : undefined,
  };
}

/**
 * The names in a folder's listing (`names`, in folder `dir`) that are an
 * unfinished download or its record, each with why it is left out of a
 * folder share ("unfinished download (about 34% done)").
 */
export async function unfinishedIn(
  dir: string,
  names: readonly string[],
): Promise<Map<string, string>> {
  const left = new Map<string, string>();
  const listed = new Set(names);
  for (const name of names) {
    if (!name.endsWith(PART_SUFFIX) || !listed.has(name + RECORD_SUFFIX)) {
      continue;
    }
    const download = await unfinishedDownload(join(dir, name));
    if (!download) continue;
    left.set(name, `unfinished download${progressOf(download)}`);
    left.set(
      name + RECORD_SUFFIX,
      `record of the unfinished download ${name}`,
    );
  }
  return left;
}

/**
 * How far `download` got, in words for after its name: " (about 34%
 * done)", " (nothing received yet)", or nothing when it cannot be told.
 */
export function progressOf(download: UnfinishedDownload): string {
  const { done } = download;
  if (done === undefined) return "";
  if (done === 0) return " (nothing received yet)";
  return ` (about ${Math.max(1, Math.floor(done * 100))}% done)`;
}

/** Bytes on disk over `size`, below 1; undefined if that says nothing. */
function doneOf(info: Deno.FileInfo, size: number): number | undefined {
  if (info.blocks === null || size <= 0) return undefined;
  const fraction = info.blocks * 512 / size;
  // A file system that does not keep files sparse holds it all at once.
  return fraction < 1 ? fraction : undefined;
}
