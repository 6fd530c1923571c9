/**
 * A get of a file (or folder) that is already in the download folder under
 * the name it would be saved as: same size and same SHA-256 (a folder: the
 * same files, hashed to the same manifest ID) means there is nothing to
 * fetch, and nothing is saved again as `NAME (1)`.
 *
 * @module
 */

import { join } from "node:path";
import type { FileMeta } from "../protocol/messages.ts";
import { hashFile } from "../storage/file_hash.ts";
import { folderLayoutOf } from "../protocol/folder_layout.ts";
import { scanFolder } from "../storage/folder_scan.ts";

/**
 * The path of `dir/name` if it already holds exactly the file `meta`
 * describes; undefined otherwise (missing, another size, other bytes, or
 * unreadable).
 */
export async function alreadyHere(
  meta: FileMeta,
  dir: string,
  name: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const path = join(dir, name);
  if (folderLayoutOf(meta)) return await folderHere(meta, path, signal);
  try {
    const info = await Deno.stat(path);
    if (!info.isFile || info.size !== meta.size) return undefined;
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
 * tree scanned and hashed to the same manifest ID.
 */
async function folderHere(
  meta: FileMeta,
  path: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  try {
    if (!(await Deno.lstat(path)).isDirectory) return undefined;
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
