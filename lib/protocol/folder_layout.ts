/**
 * Where each piece of a shared folder lies. A folder's pieces are its
 * files' own pieces, one file after another in manifest order: file `f`
 * (with `pieces` = ceil(size / pieceSize), none for an empty file) holds
 * folder pieces `firstPiece .. firstPiece + pieces - 1`, so piece `i` of
 * the folder is piece `i - firstPiece` of that file, and its hash is that
 * file's piece hash. No piece spans two files: a file inside a folder has
 * exactly the pieces (and piece hashes) it has when shared alone.
 *
 * A download addresses a folder's piece `i` at the virtual offset
 * `i * pieceSize` (as it does a file's); {@linkcode FolderLayout.locate}
 * turns that back into a file and an offset in it.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { decodeManifest, type Manifest } from "./manifest.ts";
import { MAX_PIECES } from "./limits.ts";
import type { FileMeta } from "./message_types.ts";

/** One file of a folder, where its pieces lie. */
export interface LaidFile {
  /** Its path below the folder, one name per component. */
  path: string[];
  /** Its bytes. */
  size: number;
  /** Its own ID: the SHA-256 of its bytes, 64 lowercase hex. */
  id: string;
  /** Whether it is executable. */
  executable: boolean;
  /** The folder piece its first piece is. */
  firstPiece: number;
  /** Its pieces (0 for an empty file). */
  pieces: number;
}

/** A folder's files and pieces, laid out for one piece size. */
export interface FolderLayout {
  /** The manifest it was laid out from. */
  manifest: Manifest;
  /** Bytes per piece (a file's last piece may be shorter). */
  pieceSize: number;
  /** Every file, in manifest order. */
  files: LaidFile[];
  /** Every folder's path (empty ones included), in manifest order. */
  folders: string[][];
  /** Pieces of all files together. */
  pieces: number;
  /** Bytes of all files together. */
  size: number;
  /** Index in `files` of the file that holds folder piece `piece`. */
  fileOf(piece: number): number;
  /** Bytes of folder piece `piece`. */
  pieceLength(piece: number): number;
}

/**
 * Lays out `manifest`'s files for `pieceSize`. Throws `RangeError` past
 * MAX_PIECES pieces in all.
 */
export function layFolder(manifest: Manifest, pieceSize: number): FolderLayout {
  const files: LaidFile[] = [];
  const folders: string[][] = [];
  let pieces = 0;
  let size = 0;
  for (const entry of manifest.entries) {
    if (entry.type === "folder") {
      folders.push(entry.path);
      continue;
    }
    const own = Math.ceil(entry.size / pieceSize);
    files.push({
      path: entry.path,
      size: entry.size,
      id: entry.id as string,
      executable: entry.executable,
      firstPiece: pieces,
      pieces: own,
    });
    pieces += own;
    size += entry.size;
  }
  if (pieces > MAX_PIECES) {
    throw new RangeError(
      `Folder has ${pieces} pieces, over ${MAX_PIECES}`,
    );
  }
  // owner[i]: the file holding piece i (files of no pieces hold none).
  const owner = new Uint32Array(pieces);
  files.forEach((file, f) => {
    owner.fill(f, file.firstPiece, file.firstPiece + file.pieces);
  });
  const fileOf = (piece: number): number => {
    if (!(piece >= 0 && piece < pieces)) {
      throw new RangeError(`Folder has no piece ${piece}`);
    }
    return owner[piece];
  };
  return {
    manifest,
    pieceSize,
    files,
    folders,
    pieces,
    size,
    fileOf,
    pieceLength(piece: number): number {
      const file = files[fileOf(piece)];
      const local = piece - file.firstPiece;
      return Math.min(pieceSize, file.size - local * pieceSize);
    },
  };
}

const layouts = new WeakMap<Uint8Array, FolderLayout>();
/**
 * Layouts by the SHA-256 of their manifest and their piece size, most
 * recent last: the same manifest arriving again in another buffer (each
 * tracker answer a download asks for more peers brings one) is not decoded
 * again.
 */
const recent = new Map<string, FolderLayout>();
/** Layouts kept by their manifest's hash. */
export const RECENT_LAYOUTS = 8;

/**
 * The layout of `meta`'s folder, or undefined for a single file. Decoded
 * once per manifest (by buffer, then by its SHA-256 among the
 * RECENT_LAYOUTS last ones). Throws as `decodeManifest` and
 * {@linkcode layFolder} do on a bad manifest.
 */
export function folderLayoutOf(
  meta: Pick<FileMeta, "manifest" | "pieceSize">,
): FolderLayout | undefined {
  const bytes = meta.manifest;
  if (!bytes) return undefined;
  let layout = layouts.get(bytes);
  if (layout && layout.pieceSize === meta.pieceSize) return layout;
  const key = `${
    createHash("sha256").update(bytes).digest("hex")
  }:${meta.pieceSize}`;
  layout = recent.get(key);
  if (layout) {
    recent.delete(key);
  } else {
    layout = layFolder(decodeManifest(bytes), meta.pieceSize);
  }
  recent.set(key, layout);
  if (recent.size > RECENT_LAYOUTS) {
    recent.delete(recent.keys().next().value as string);
  }
  layouts.set(bytes, layout);
  return layout;
}
