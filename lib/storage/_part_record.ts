/**
 * The resume record of a file download: `NAME.part.json` beside
 * `NAME.part`, saying which file (ID, size, piece size, digest of the
 * piece hashes) the `.part` holds. Read (bounded, never trusted when it is
 * not one of ours) and written (through a temporary file renamed into
 * place) here; `part_file.ts` decides what a record means for its `.part`.
 *
 * @module
 */

import { writeAllAsync } from "../util/write_all.ts";
import { recordTempPath } from "./_part_leftovers.ts";

/** What a `.part` belongs to; written beside it as JSON. */
export interface PartIdentity {
  /** Full file ID. */
  id: string;
  /** File size in bytes. */
  size: number;
  /** Piece size in bytes. */
  pieceSize: number;
  /** SHA-256 (hex) of the piece hash list: tells metadata variants apart. */
  hashesDigest: string;
}

/**
 * The resume record at `path` (of at most `maxBytes`): what it says; `undefined` if there is none;
 * `"damaged"` for a small file that is not JSON (empty, or garbage: what a
 * crash can leave of a record); `"foreign"` if something else is there (a
 * folder, a link, JSON that is not a record of ours: never replaced, never
 * trusted).
 */
export async function readRecord(
  path: string,
  maxBytes: number,
): Promise<PartIdentity | "damaged" | "foreign" | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    return "foreign";
  }
  if (!info.isFile || info.size > maxBytes) return "foreign";
  let value: unknown;
  try {
    value = JSON.parse(await Deno.readTextFile(path));
  } catch {
    return "damaged";
  }
  return isRecord(value) ? value : "foreign";
}

/** True for what {@linkcode writeRecord} writes. */
export function isRecord(value: unknown): value is PartIdentity {
  const record = value as Record<string, unknown> | null;
  return typeof record === "object" && record !== null &&
    record.version === 1 && typeof record.id === "string" &&
    Number.isSafeInteger(record.size) &&
    Number.isSafeInteger(record.pieceSize) &&
    typeof record.hashesDigest === "string";
}

/**
 * Writes the record of `identity` at `path`: into a temporary file first,
 * renamed into place, so a record is never seen half written.
 */
export async function writeRecord(
  path: string,
  identity: PartIdentity,
): Promise<void> {
  const temp = recordTempPath(path);
  const { id, size, pieceSize, hashesDigest } = identity;
  const text = JSON.stringify({
    version: 1,
    id,
    size,
    pieceSize,
    hashesDigest,
  });
  let made = false;
  try {
    {
      using file = await Deno.open(temp, { write: true, createNew: true });
      made = true;
      await writeAllAsync(file, new TextEncoder().encode(text));
    }
    await Deno.rename(temp, path);
  } catch (error) {
    // A full disk: no empty temporary file is left behind.
    if (made) await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** True if the record `a` is of the very file `b` names. */
export function sameIdentity(
  a: PartIdentity | undefined,
  b: PartIdentity,
): boolean {
  return a !== undefined && a.id === b.id && a.size === b.size &&
    a.pieceSize === b.pieceSize &&
    a.hashesDigest === b.hashesDigest;
}
