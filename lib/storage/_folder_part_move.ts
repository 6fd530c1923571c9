/**
 * Giving a finished `.part` folder its final name: the first free one among
 * `NAME`, `NAME (1)`, …, or `NAME` itself in place of what is there when
 * the user asked to replace it (a copy of the share holding nothing else,
 * `_folder_foreign.ts`; a file; a link).
 *
 * @module
 */

import { join } from "node:path";
import type { FolderLayout } from "../protocol/folder_layout.ts";
import { MAX_NAME_BYTES } from "../protocol/limits.ts";
import { removeShareCopy } from "./_folder_foreign.ts";
import { MAX_NAME_ATTEMPTS } from "./free_name.ts";
import { truncateUtf8 } from "./safe_name.ts";

/**
 * The `n`th alternative for a folder name that is taken: `name (n)` (a
 * folder has no extension to keep), shortened to stay within `maxBytes`.
 */
export function numberedFolderName(
  name: string,
  n: number,
  maxBytes = MAX_NAME_BYTES,
): string {
  const suffix = ` (${n})`;
  const room = maxBytes - new TextEncoder().encode(suffix).length;
  return truncateUtf8(name, room).replace(/[. ]+$/, "") + suffix;
}

/**
 * Renames the folder `from` to the first free name among `name`,
 * `name (1)`, … in `dir`, never replacing anything. Resolves to its path.
 */
export async function moveToFreeName(
  from: string,
  dir: string,
  name: string,
): Promise<string> {
  for (let n = 0; n < MAX_NAME_ATTEMPTS; n++) {
    const target = join(dir, n === 0 ? name : numberedFolderName(name, n));
    // Renaming a folder replaces an empty folder at the target, so the
    // name is claimed first with a mkdir, which fails if anything is there.
    try {
      await Deno.mkdir(target);
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) continue;
      throw error;
    }
    try {
      await Deno.rename(from, target);
    } catch {
      // Windows renames nothing onto a folder: free the claim, then move.
      await Deno.remove(target);
      await Deno.rename(from, target);
    }
    return target;
  }
  throw new Error(`No free name for ${name} in ${dir}`);
}

/**
 * Renames the folder `from` to `target`, first removing what is there: a
 * file or link (the link itself, never what it points to), or a folder
 * that holds only the share's own files and folders (`layout`'s). A folder
 * holding anything else is left as it is: that throws
 * `ForeignEntriesError`. Resolves to `target`.
 */
export async function replaceWith(
  from: string,
  target: string,
  layout: FolderLayout,
): Promise<string> {
  try {
    const info = await Deno.lstat(target);
    if (info.isDirectory) await removeShareCopy(target, layout);
    else await Deno.remove(target);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.rename(from, target);
  return target;
}
