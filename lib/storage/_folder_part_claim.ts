/**
 * Claiming the `.part` folder of a folder download: `NAME.part`, or
 * `NAME (1).part`, … when the name is someone else's, its record locked
 * and the folder made (or an earlier run's, for the same folder, resumed).
 * Before a new one is made, an earlier run's `.part` folder of the same
 * folder under another name (`-o` named another) is found by its record
 * and resumed where it is (`_part_by_id.ts`).
 *
 * @module
 */

import { pathTaken } from "./_path_taken.ts";
import { join } from "node:path";
import {
  MAX_PART_BASE_BYTES,
  MAX_RECORD_BYTES,
  PART_SUFFIX,
  PartBusyError,
  RECORD_SUFFIX,
} from "./part_file.ts";
import { MAX_NAME_ATTEMPTS } from "./free_name.ts";
import {
  claimRecord,
  type FolderIdentity,
  isFolderRecordOf,
  writeRecord,
} from "./_folder_part_record.ts";
import { numberedFolderName } from "./_folder_part_move.ts";
import { partsByRecord } from "./_part_by_id.ts";

/** A claimed `.part` folder. */
export interface ClaimedPart {
  /** Its record, open and locked. */
  record: Deno.FsFile;
  /** True if an earlier run's was found (its pieces need checking). */
  resumed: boolean;
  /** The `.part` folder. */
  partPath: string;
}

/**
 * Claims the `.part` folder in `dir` of the folder `identity` names, to
 * be saved as `base`: the first of `base.part`, `base (1).part`, … that
 * is new or this folder's, unless an earlier run's of this folder under
 * another name is found first. `undefined` if every name is taken. Throws
 * `PartBusyError` if another download holds the one of `base`.
 */
export async function claimPartFolder(
  dir: string,
  base: string,
  identity: FolderIdentity,
): Promise<ClaimedPart | undefined> {
  let lookedElsewhere = false;
  for (let n = 0; n < MAX_NAME_ATTEMPTS; n++) {
    const partName = n === 0
      ? base
      : numberedFolderName(base, n, MAX_PART_BASE_BYTES);
    const partPath = join(dir, partName + PART_SUFFIX);
    if (!lookedElsewhere && !await pathTaken(partPath)) {
      // A new `.part` folder would be made here: rather resume an earlier
      // run's of the same folder under another name, if there is one.
      lookedElsewhere = true;
      const earlier = await resumeElsewhere(dir, identity);
      if (earlier) return earlier;
    }
    const opened = await tryPart(partPath, identity);
    if (opened) return { ...opened, partPath };
  }
  return undefined;
}

/**
 * The `.part` folder of this very folder an earlier run left in `dir`
 * under another name, claimed; `undefined` if there is none that is a
 * folder and no other download holds.
 */
async function resumeElsewhere(
  dir: string,
  identity: FolderIdentity,
): Promise<ClaimedPart | undefined> {
  const names = await partsByRecord(dir, {
    partSuffix: PART_SUFFIX,
    recordSuffix: RECORD_SUFFIX,
    maxBytes: MAX_RECORD_BYTES,
    matches: (record) => isFolderRecordOf(record, identity),
  });
  for (const partName of names) {
    const partPath = join(dir, partName + PART_SUFFIX);
    const info = await Deno.lstat(partPath).catch(() => undefined);
    if (!info?.isDirectory) continue;
    try {
      const opened = await tryPart(partPath, identity);
      if (opened) return { ...opened, partPath };
    } catch (error) {
      if (!(error instanceof PartBusyError)) throw error;
    }
  }
  return undefined;
}

/**
 * Claims the `.part` folder at `partPath` for the folder `identity` names:
 * locks its record and makes sure the folder itself is a real folder (resumed if it
 * was one, for the same folder). `undefined` if it is something else's.
 */
async function tryPart(
  partPath: string,
  identity: FolderIdentity,
): Promise<{ record: Deno.FsFile; resumed: boolean } | undefined> {
  const recordPath = partPath + RECORD_SUFFIX;
  const claimed = await claimRecord(recordPath, partPath, identity);
  if (!claimed) return undefined;
  const { file } = claimed;
  try {
    const info = await Deno.lstat(partPath).catch((error) => {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    });
    if (info && claimed.state === "blank") {
      // Not known to be ours: someone's own `NAME.part`; leave it be.
      file.close();
      if (claimed.created) await Deno.remove(recordPath).catch(() => {});
      return undefined;
    }
    if (claimed.state === "blank") await writeRecord(file, identity);
    const resumed = info?.isDirectory ?? false;
    if (info && !resumed) await Deno.remove(partPath);
    if (!resumed) await Deno.mkdir(partPath);
    return { record: file, resumed };
  } catch (error) {
    // A record this claim was writing (a full disk leaves it empty, or
    // without its folder) is removed, still locked: the next get starts
    // clean rather than from a record that names nothing.
    if (claimed.state === "blank") {
      await Deno.remove(recordPath).catch(() => {});
    }
    file.close();
    throw error;
  }
}
