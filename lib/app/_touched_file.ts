/**
 * A shared file whose modification time changed but not its size (a
 * `touch`, a backup tool, an editor saving the same bytes) is hashed again
 * before it is given up: if its bytes are the ones shared, it goes on being
 * shared under a fresh fingerprint. Until then its pieces are refused, as
 * for any change, so no byte is served unverified. The same for the files
 * of a shared folder: only those touched are hashed again, and the folder
 * is shared on if every one of them still has its bytes.
 *
 * @module
 */

import { fileIdentity, hashFile, sameFile } from "../storage/file_hash.ts";
import { FolderSource } from "../storage/folder_source.ts";
import type { ScannedFile } from "../storage/folder_scan.ts";
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

/**
 * The folder `touched` serves opened afresh if every file of it that
 * changed was only touched (the same file at its path, of the same size)
 * and hashing those again gives their IDs; else undefined (a file really
 * changed, was deleted or replaced, could not be read, or none changed).
 */
export async function reopenFolderIfUnchanged(
  touched: FolderSource,
): Promise<FolderSource | undefined> {
  try {
    const files: ScannedFile[] = [];
    let rehashed = 0;
    for (const file of touched.files) {
      const fresh = await rehashIfTouched(file, touched.meta.pieceSize);
      if (!fresh) return undefined;
      if (fresh !== file) rehashed++;
      files.push(fresh);
    }
    if (rehashed === 0 || touched.closed) return undefined;
    return FolderSource.open({ meta: touched.meta, files, skipped: [] });
  } catch {
    return undefined;
  }
}

/**
 * `file` itself if unchanged since scanned; with its new identity if only
 * touched and its bytes still hash to its ID; else undefined.
 */
async function rehashIfTouched(
  file: ScannedFile,
  pieceSize: number,
): Promise<ScannedFile | undefined> {
  const { path, identity, meta } = file;
  const before = await Deno.lstat(path);
  if (sameFile(before, identity)) return file;
  const touchedOnly = before.isFile && before.dev === identity.dev &&
    before.ino === identity.ino && before.size === identity.size;
  if (!touchedOnly) return undefined;
  const hash = await hashFile(path, { pieceSize });
  // Changed again while it was hashed: not proven the same.
  const now = fileIdentity(before);
  if (hash.id !== meta.id || !sameFile(await Deno.lstat(path), now)) {
    return undefined;
  }
  return { ...file, identity: now };
}
