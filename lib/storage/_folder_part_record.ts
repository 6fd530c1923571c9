/**
 * The resume record of a folder download: `NAME.part.json` beside the
 * `NAME.part/` folder (never inside it, so it never lands in the result),
 * saying which folder (ID, size, piece size, digest of the piece hashes)
 * that `.part` folder holds. The record file is also the download's lock:
 * it is held open and locked while the folder is written, and rewritten in
 * place (never replaced), so the lock always guards the one record.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { FileMeta } from "../protocol/message_types.ts";
import { readFullAsync } from "../util/read_full.ts";
import { writeAllAsync } from "../util/write_all.ts";
import { MAX_RECORD_BYTES, openExisting, PartBusyError } from "./part_file.ts";

/** What a `.part` folder belongs to; written beside it as JSON. */
export interface FolderIdentity {
  /** The folder's ID (SHA-256 of its manifest). */
  id: string;
  /** Bytes of all its files. */
  size: number;
  /** Piece size in bytes. */
  pieceSize: number;
  /** SHA-256 (hex) of the piece hash list: tells metadata variants apart. */
  hashesDigest: string;
}

/** A record file held locked, and what it said when opened. */
export interface ClaimedRecord {
  /** The open, locked record file. */
  file: Deno.FsFile;
  /** True if this call created the record file. */
  created: boolean;
  /**
   * `"ours"`: it names this folder; `"blank"`: it is new or empty (a run
   * that died before writing it).
   */
  state: "ours" | "blank";
}

/** The identity of the folder `meta` describes. */
export function folderIdentity(meta: FileMeta): FolderIdentity {
  return {
    id: meta.id,
    size: meta.size,
    pieceSize: meta.pieceSize,
    hashesDigest: createHash("sha256").update(meta.pieceHashes).digest("hex"),
  };
}

/**
 * Opens and locks the record at `path` (for the `.part` folder
 * `partPath`). `undefined` if it belongs to something else (another
 * folder's download, or a file that is no record); throws
 * {@linkcode PartBusyError} if another download holds it.
 */
export async function claimRecord(
  path: string,
  partPath: string,
  identity: FolderIdentity,
): Promise<ClaimedRecord | undefined> {
  let file: Deno.FsFile | undefined;
  let created = false;
  try {
    file = await Deno.open(path, { read: true, write: true, createNew: true });
    created = true;
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    file = await openExisting(path);
    if (!file) return undefined;
  }
  try {
    // Another folder's record is left alone even while its download runs
    // (where a lock also bars reading, as on Windows, it is then busy).
    if (
      !created && await readState(file, identity).catch(() => "") === "other"
    ) {
      file.close();
      return undefined;
    }
    if (!await file.tryLock(true)) throw new PartBusyError(partPath);
    const state = created ? "blank" : await readState(file, identity);
    if (state === "other") {
      file.close();
      return undefined;
    }
    return { file, created, state };
  } catch (error) {
    file.close();
    if (created) await Deno.remove(path).catch(() => {});
    throw error;
  }
}

/** Writes `identity` into the locked record, in place. */
export async function writeRecord(
  file: Deno.FsFile,
  identity: FolderIdentity,
): Promise<void> {
  const { id, size, pieceSize, hashesDigest } = identity;
  const text = JSON.stringify({
    version: 1,
    kind: "folder",
    id,
    size,
    pieceSize,
    hashesDigest,
  });
  await file.truncate(0);
  await file.seek(0, Deno.SeekMode.Start);
  await writeAllAsync(file, new TextEncoder().encode(text));
}

/** What an existing record says about `identity`. */
async function readState(
  file: Deno.FsFile,
  identity: FolderIdentity,
): Promise<"ours" | "blank" | "other"> {
  const { size } = await file.stat();
  if (size === 0) return "blank";
  if (size > MAX_RECORD_BYTES) return "other";
  const bytes = new Uint8Array(size);
  await file.seek(0, Deno.SeekMode.Start);
  const n = await readFullAsync(file, bytes);
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes.subarray(0, n)));
    return isFolderRecordOf(value, identity) ? "ours" : "other";
  } catch {
    return "other";
  }
}

/** True if `value` (a record's JSON) is the record of the folder `identity`. */
export function isFolderRecordOf(
  value: unknown,
  identity: FolderIdentity,
): boolean {
  const record = value as Record<string, unknown> | null;
  return typeof record === "object" && record !== null &&
    record.kind === "folder" && record.id === identity.id &&
    record.size === identity.size &&
    record.pieceSize === identity.pieceSize &&
    record.hashesDigest === identity.hashesDigest;
}
