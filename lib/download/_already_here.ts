/**
 * A get of a file that is already in the download folder under the name it
 * would be saved as: same size and same SHA-256 means there is nothing to
 * fetch, and nothing is saved again as `NAME (1)`.
 *
 * @module
 */

import { join } from "node:path";
import type { FileMeta } from "../protocol/messages.ts";
import { hashFile } from "../storage/file_hash.ts";

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
