/**
 * An existing copy of a shared folder, as a forced download meets it at
 * `OUT/NAME`: what it holds that the share does not (a file, folder or
 * link of the user's own, or a file where the share has a folder, or the
 * reverse), so that the replace is refused rather than delete it; and the
 * removal of that copy that deletes only the share's own files and
 * folders, never anything else, never through a link.
 *
 * Names are compared exactly as they are on disk: a name that differs from
 * the share's only in case or Unicode normalization is the user's.
 *
 * @module
 */

import { join } from "node:path";
import type { FolderLayout } from "../protocol/folder_layout.ts";

/** Entries of the user's own named in a {@linkcode ForeignEntriesError}, at most. */
export const SHOWN_FOREIGN_ENTRIES = 3;

/**
 * A folder that cannot be replaced by a download: it holds entries the
 * share does not have, which replacing it would delete.
 */
export class ForeignEntriesError extends Error {
  /** The folder. */
  readonly path: string;
  /** Entries the share does not have, in all. */
  readonly count: number;
  /**
   * The first few of them (SHOWN_FOREIGN_ENTRIES), by path below the folder
   * with `/`, a folder's ending in `/`; top level first, by name.
   */
  readonly shown: readonly string[];

  /** Creates the error for `path` and what {@linkcode foreignEntries} found. */
  constructor(path: string, found: ForeignEntries) {
    super(
      `${path} holds ${found.count} entries the share does not have (${
        found.shown.join(", ")
      })`,
    );
    this.name = "ForeignEntriesError";
    this.path = path;
    this.count = found.count;
    this.shown = found.shown;
  }
}

/**
 * A download's own `NAME.part/` that holds entries the share does not have
 * (put there by someone else while it ran): not verified, so the folder is
 * not saved with them.
 */
export class StrayEntriesError extends ForeignEntriesError {
  /** Creates the error for the `.part` folder `path`. */
  constructor(path: string, found: ForeignEntries) {
    super(path, found);
    this.name = "StrayEntriesError";
  }
}

/** What {@linkcode foreignEntries} found. */
export interface ForeignEntries {
  /** Entries the share does not have, in all (a foreign folder counts once). */
  count: number;
  /** The first SHOWN_FOREIGN_ENTRIES of them (see {@linkcode ForeignEntriesError.shown}). */
  shown: string[];
}

/** The share's own paths below its top folder, joined with `/`. */
interface SharePaths {
  files: Set<string>;
  /** Every folder, those only implied by a file's path included. */
  folders: Set<string>;
}

function sharePaths(layout: FolderLayout): SharePaths {
  const files = new Set<string>();
  const folders = new Set<string>();
  for (const path of layout.folders) folders.add(path.join("/"));
  for (const { path } of layout.files) {
    files.add(path.join("/"));
    for (let depth = 1; depth < path.length; depth++) {
      folders.add(path.slice(0, depth).join("/"));
    }
  }
  return { files, folders };
}

/** A folder's entries, by name, as listed (links not followed). */
async function listed(path: string): Promise<Deno.DirEntry[]> {
  const entries = await Array.fromAsync(Deno.readDir(path));
  return entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * Walks the folder `root` (which must be one) through the share's own
 * folders only, top level first: `own` gets each entry of the share's
 * (a regular file at a file's path, a folder at a folder's path), and
 * `foreign` everything else, whose insides are never entered.
 */
async function walkCopy(
  root: string,
  layout: FolderLayout,
  visit: {
    own?: (path: string, entry: Deno.DirEntry) => Promise<void> | void;
    foreign: (relative: string, entry: Deno.DirEntry) => void;
  },
): Promise<void> {
  const share = sharePaths(layout);
  const pending: string[][] = [[]];
  for (let next = 0; next < pending.length; next++) {
    const below = pending[next];
    for (const entry of await listed(join(root, ...below))) {
      const path = [...below, entry.name];
      const key = path.join("/");
      // A DirEntry describes the entry itself: a link is neither.
      if (entry.isFile && share.files.has(key)) {
        await visit.own?.(join(root, ...path), entry);
      } else if (entry.isDirectory && share.folders.has(key)) {
        pending.push(path);
        await visit.own?.(join(root, ...path), entry);
      } else {
        visit.foreign(key, entry);
      }
    }
  }
}

/**
 * What the folder `root` holds that the share laid out as `layout` does
 * not; `count` 0 if nothing, or if `root` is not a folder (nothing of the
 * user's is inside a file or a link).
 */
export async function foreignEntries(
  root: string,
  layout: FolderLayout,
): Promise<ForeignEntries> {
  const found: ForeignEntries = { count: 0, shown: [] };
  const info = await Deno.lstat(root).catch((error) => {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  });
  if (!info?.isDirectory) return found;
  await walkCopy(root, layout, {
    foreign(relative, entry) {
      found.count++;
      if (found.shown.length < SHOWN_FOREIGN_ENTRIES) {
        found.shown.push(entry.isDirectory ? `${relative}/` : relative);
      }
    },
  });
  return found;
}

/**
 * Throws {@linkcode StrayEntriesError} if the download's own `NAME.part`
 * folder at `part` holds anything the share does not.
 */
export async function refuseStray(
  part: string,
  layout: FolderLayout,
): Promise<void> {
  const found = await foreignEntries(part, layout);
  if (found.count > 0) throw new StrayEntriesError(part, found);
}

/** Throws {@linkcode ForeignEntriesError} if `root` holds anything the share does not. */
export async function refuseForeign(
  root: string,
  layout: FolderLayout,
): Promise<void> {
  const found = await foreignEntries(root, layout);
  if (found.count > 0) throw new ForeignEntriesError(root, found);
}

/**
 * Deletes the folder `root`, a copy of the share laid out as `layout`:
 * first checked to hold nothing else ({@linkcode refuseForeign}), then
 * each of the share's files and folders deleted by itself, deepest first,
 * a folder only once empty. Whatever appears meanwhile is left as it is
 * and the folder with it: that throws {@linkcode ForeignEntriesError}
 * (only the share's own files are gone by then).
 */
export async function removeShareCopy(
  root: string,
  layout: FolderLayout,
): Promise<void> {
  await refuseForeign(root, layout);
  const folders: string[] = [];
  await walkCopy(root, layout, {
    async own(path, entry) {
      if (entry.isDirectory) folders.push(path);
      else await Deno.remove(path);
    },
    foreign() {},
  });
  // Listed top level first: the deepest are at the end.
  for (const folder of [...folders.reverse(), root]) {
    try {
      await Deno.remove(folder);
    } catch (error) {
      await refuseForeign(root, layout);
      throw error;
    }
  }
}
