/**
 * A shared file whose modification time changed but not its size (a
 * `touch`, a backup tool, an editor saving the same bytes) is hashed again
 * before it is given up: if its bytes are the ones shared, it goes on being
 * shared under a fresh fingerprint. Until then its pieces are refused, as
 * for any change, so no byte is served unverified.
 *
 * @module
 */

import { hashFile } from "../storage/file_hash.ts";
import { SharedFile } from "../storage/shared_file.ts";

/**
 * The file at `touched.path` opened afresh if hashing it again gives the
 * same ID (its bytes are unchanged), else undefined (it really changed, or
 * could not be read).
 */
export async function reopenIfUnchanged(
  touched: SharedFile,
): Promise<SharedFile | undefined> {
  const { meta, path } = touched;
  try {
    const before = await Deno.stat(path);
    const hash = await hashFile(path, { pieceSize: meta.pieceSize });
    if (hash.id !== meta.id) return undefined;
    const fresh = await SharedFile.open(path, meta);
    const after = await Deno.stat(path);
    // Changed again while it was hashed: not proven the same.
    if (after.mtime?.getTime() !== before.mtime?.getTime()) {
      fresh.close();
      return undefined;
    }
    return fresh;
  } catch {
    return undefined;
  }
}
