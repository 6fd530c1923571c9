/**
 * A get of a file (or folder) that is already in the download folder under
 * the name it would be saved as, or under one of the numbered names an
 * earlier get saved it as when that name was taken (`NAME (1).ext`,
 * `NAME (2).ext`, …; a folder's `NAME (1)`): same size and same SHA-256 (a
 * folder: the same files, hashed to the same manifest ID) means there is
 * nothing to fetch, and nothing is saved again as `NAME (n)`.
 *
 * @module
 */

import { join } from "node:path";
import type { FileMeta } from "../protocol/messages.ts";
import { hashFile } from "../storage/file_hash.ts";
import { folderLayoutOf } from "../protocol/folder_layout.ts";
import { scanFolder } from "../storage/folder_scan.ts";
import { MAX_NAME_ATTEMPTS } from "../storage/free_name.ts";
import { numberedFolderName } from "../storage/folder_part.ts";
import { numberedName } from "../storage/safe_name.ts";

/** What a check finds where nothing is. */
const MISSING = Symbol("missing");

/** Options for {@linkcode alreadyHere}. */
export interface AlreadyHereOptions {
  /** Stops the hashing. */
  signal?: AbortSignal;
  /**
   * The get replaces `name` (`--force`): only `name` itself counts, not a
   * numbered copy beside it. @default {false}
   */
  force?: boolean;
}

/**
 * The path of the copy in `dir` of exactly the file (or folder) `meta`
 * describes: `name` itself, else the first of `name (1)`, `name (2)`, … (as
 * many as a save tries, MAX_NAME_ATTEMPTS) that does. The numbered names
 * are looked at until the first one missing: a save takes the first free
 * one, so none past it is an earlier get's. Each candidate is checked by
 * size first, then hashed. Undefined when none is (missing, another size,
 * other bytes, or unreadable).
 */
export async function alreadyHere(
  meta: FileMeta,
  dir: string,
  name: string,
  options: AlreadyHereOptions = {},
): Promise<string | undefined> {
  const { signal } = options;
  const folder = folderLayoutOf(meta) !== undefined;
  const check = folder ? folderHere : fileHere;
  const plain = await check(meta, join(dir, name), signal);
  if (typeof plain === "string") return plain;
  if (options.force) return undefined;
  for (let n = 1; n < MAX_NAME_ATTEMPTS; n++) {
    const numbered = folder
      ? numberedFolderName(name, n)
      : numberedName(name, n);
    const found = await check(meta, join(dir, numbered), signal);
    if (found !== undefined) return found === MISSING ? undefined : found;
  }
  return undefined;
}

/**
 * `path` if it holds exactly the file `meta` describes; MISSING if nothing
 * is there; undefined for anything else.
 */
async function fileHere(
  meta: FileMeta,
  path: string,
  signal?: AbortSignal,
): Promise<string | typeof MISSING | undefined> {
  const info = await infoOf(path, Deno.stat);
  if (info === MISSING) return MISSING;
  if (!info?.isFile || info.size !== meta.size) return undefined;
  try {
    const { id } = await hashFile(path, { pieceSize: meta.pieceSize, signal });
    return id === meta.id ? path : undefined;
  } catch {
    signal?.throwIfAborted();
    return undefined;
  }
}

/**
 * `path` if it is a folder holding exactly the folder `meta` describes:
 * every file of the right size (checked first, cheaply), then the whole
 * tree scanned and hashed to the same manifest ID. MISSING if nothing is
 * there; undefined for anything else.
 */
async function folderHere(
  meta: FileMeta,
  path: string,
  signal?: AbortSignal,
): Promise<string | typeof MISSING | undefined> {
  const info = await infoOf(path, Deno.lstat);
  if (info === MISSING) return MISSING;
  if (!info?.isDirectory) return undefined;
  try {
    for (const file of folderLayoutOf(meta)!.files) {
      const info = await Deno.lstat(join(path, ...file.path));
      if (!info.isFile || info.size !== file.size) return undefined;
    }
    const scanned = await scanFolder(path, {
      pieceSize: meta.pieceSize,
      name: meta.name,
      signal,
    });
    return scanned.meta.id === meta.id ? path : undefined;
  } catch {
    signal?.throwIfAborted();
    return undefined;
  }
}

/**
 * What `look` (`Deno.stat` or `Deno.lstat`) says of `path`: MISSING if
 * nothing is there, undefined if it cannot be looked at.
 */
async function infoOf(
  path: string,
  look: (path: string) => Promise<Deno.FileInfo>,
): Promise<Deno.FileInfo | typeof MISSING | undefined> {
  try {
    return await look(path);
  } catch (error) {
    return error instanceof Deno.errors.NotFound ? MISSING : undefined;
  }
}
