/**
 * What an earlier download may leave of a `.part`'s resume record when it
 * stops between writing the record's temporary file and renaming it into
 * place (a crash; a full disk, in versions that did not clean up after
 * one): temporary files named exactly `NAME.part.json.<uuid>.tmp`, and,
 * when the disk was full from the start, a `.part` with no record at all.
 *
 * Only those exact names are ever removed, and only by the run that holds
 * the `.part` locked. A `.part` without its record is taken over only when
 * it is provably such a leftover: a temporary file of its record is beside
 * it, and it holds no data (not one block of the disk), so taking it over
 * loses nothing even were it someone else's.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";

/** Suffix of a record being written, after its name and a random UUID. */
const TEMP_SUFFIX = ".tmp";
/** What `crypto.randomUUID()` gives. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A new temporary file name to write the record at `recordPath` into. */
export function recordTempPath(recordPath: string): string {
  return `${recordPath}.${crypto.randomUUID()}${TEMP_SUFFIX}`;
}

/**
 * The temporary files of the record at `recordPath` that runs left:
 * regular files named exactly `RECORD.<uuid>.tmp`, of at most `maxBytes`
 * (a record's most); nothing else.
 */
export async function recordTemps(
  recordPath: string,
  maxBytes: number,
): Promise<string[]> {
  const dir = dirname(recordPath);
  const prefix = basename(recordPath) + ".";
  const temps: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const { name } = entry;
    if (
      !entry.isFile || !name.startsWith(prefix) || !name.endsWith(TEMP_SUFFIX)
    ) continue;
    if (!UUID.test(name.slice(prefix.length, -TEMP_SUFFIX.length))) continue;
    const path = join(dir, name);
    const info = await Deno.lstat(path).catch(() => undefined);
    if (info?.isFile && info.size <= maxBytes) temps.push(path);
  }
  return temps;
}

/**
 * Removes the temporary files runs left of the record at `recordPath`
 * ({@linkcode recordTemps}). Only while its `.part` is locked: no other run
 * of ours writes that record then. Best effort: a folder that cannot be
 * listed keeps them.
 */
export async function removeRecordTemps(
  recordPath: string,
  maxBytes: number,
): Promise<void> {
  try {
    for (const temp of await recordTemps(recordPath, maxBytes)) {
      await Deno.remove(temp).catch(() => {});
    }
  } catch {
    // Left for a later run.
  }
}

/**
 * True if the `.part` at `partPath`, whose record `recordPath` is missing,
 * is an earlier run's left so because the record could not be written: a
 * temporary file of that record is beside it, and it is a regular file
 * holding no data at all. A system that does not count blocks (Windows)
 * never takes one over.
 */
export async function leftWithoutRecord(
  partPath: string,
  recordPath: string,
  maxBytes: number,
): Promise<boolean> {
  const info = await Deno.lstat(partPath).catch(() => undefined);
  if (!info?.isFile || info.blocks !== 0) return false;
  const temps = await recordTemps(recordPath, maxBytes).catch(() => []);
  return temps.length > 0;
}
