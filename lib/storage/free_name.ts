/**
 * Giving a finished file its name without ever replacing one that is there:
 * the first free one of `NAME`, `NAME (1).ext`, `NAME (2).ext`, …
 *
 * @module
 */

import { join } from "node:path";
import { numberedName } from "./safe_name.ts";

/** Most numbered alternatives tried for a name that is taken. */
export const MAX_NAME_ATTEMPTS = 1000;

/**
 * Moves the file at `source` into `dir` under the first free name among
 * `name`, `name (1)`, …; resolves with its new path. Never replaces a file:
 * a hard link claims the name atomically (or, on file systems without hard
 * links, an exclusive create claims it and the rename lands on that claim).
 */
export async function moveToFreeFileName(
  source: string,
  dir: string,
  name: string,
): Promise<string> {
  let links = true;
  for (let n = 0; n < MAX_NAME_ATTEMPTS; n++) {
    const target = join(dir, n === 0 ? name : numberedName(name, n));
    if (links) {
      try {
        // A hard link never replaces an existing file, unlike rename.
        await Deno.link(source, target);
        await Deno.remove(source);
        return target;
      } catch (error) {
        if (error instanceof Deno.errors.AlreadyExists) continue;
        if (!noHardLinks(error)) throw error;
        links = false;
      }
    }
    // No hard links on this file system (FAT, exFAT, some network and
    // FUSE ones): claim the name with an exclusive create, which fails if
    // anything is there, then move the file onto that claim.
    try {
      (await Deno.open(target, { write: true, createNew: true })).close();
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) continue;
      throw error;
    }
    await Deno.rename(source, target);
    return target;
  }
  throw new Error(`No free name for ${name} in ${dir}`);
}

/** True for the error `link(2)` gives on a file system without hard links. */
function noHardLinks(error: unknown): boolean {
  return error instanceof Deno.errors.PermissionDenied ||
    error instanceof Deno.errors.NotSupported;
}
