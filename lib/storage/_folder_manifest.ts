/**
 * The last step of a folder scan (`folder_scan.ts`): the manifest of the
 * files and folders kept, and the folder's {@linkcode FileMeta}, with the
 * files in manifest order and their piece hashes one after another.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { HASH_BYTES } from "../protocol/limits.ts";
import {
  decodeManifest,
  encodeManifest,
  type ManifestEntry,
  ManifestError,
} from "../protocol/manifest.ts";
import { type FolderLayout, layFolder } from "../protocol/folder_layout.ts";
import type { FileMeta } from "../protocol/messages.ts";
import type { FileIdentity } from "./hash_worker.ts";
import { refusalReason } from "./_folder_names.ts";
import {
  type FoundFolder,
  type SkippedEntry,
  tooManyPieces,
} from "./_folder_walk.ts";

/** One file of a scanned folder. */
export interface ScannedFile {
  /** Its absolute path on disk. */
  path: string;
  /** Its path in the manifest, below the top folder. */
  entryPath: string[];
  /** The file alone: its ID, size, piece hashes; `name` its last component. */
  meta: FileMeta;
  /** Whether it is listed as executable. */
  executable: boolean;
  /** What it looked like when hashed; serving it checks it still does. */
  identity: FileIdentity;
}

/** A folder, or several files, ready to share as one ID. */
export interface ScannedFolder {
  /** The folder: ID = manifest ID, pieces of every file, `manifest` set. */
  meta: FileMeta;
  /** Every file, in manifest (and so piece) order. */
  files: ScannedFile[];
  /** What was left out, and why. */
  skipped: SkippedEntry[];
}

/** What a scan kept, to describe as one folder. */
export interface FolderParts {
  /** The top folder's name, in NFC, already checked. */
  name: string;
  /** What is shared, for messages: `"/home/me/holiday"`, `the files`. */
  what: string;
  /** Every folder kept. */
  folders: FoundFolder[];
  /** Every file kept and hashed, in any order. */
  files: ScannedFile[];
  /** What was left out so far; entries the manifest refuses are added. */
  skipped: SkippedEntry[];
}

/**
 * The folder `parts` describes, its pieces `pieceSize` bytes. Should the
 * manifest's rules refuse an entry the scan kept, that entry (and what is
 * below it) is left out too, with the rules' reason. Throws an `Error` if
 * the manifest cannot be made at all (too large, too many pieces).
 */
export function folderMeta(
  parts: FolderParts,
  pieceSize: number,
): ScannedFolder {
  const { bytes, files } = encodeLeavingOut(parts);
  let layout: FolderLayout;
  try {
    layout = layFolder(decodeManifest(bytes), pieceSize);
  } catch (error) {
    if (error instanceof RangeError) {
      throw tooManyPieces(`Sharing ${parts.what}`, pieceSize);
    }
    throw error;
  }
  const byPath = new Map(files.map((file) => [keyOf(file.entryPath), file]));
  const ordered = layout.files.map((laid) =>
    byPath.get(keyOf(laid.path)) as ScannedFile
  );
  const pieceHashes = new Uint8Array(layout.pieces * HASH_BYTES);
  layout.files.forEach((laid, i) => {
    pieceHashes.set(ordered[i].meta.pieceHashes, laid.firstPiece * HASH_BYTES);
  });
  const meta: FileMeta = {
    id: createHash("sha256").update(bytes).digest("hex"),
    name: parts.name,
    size: layout.size,
    pieceSize,
    pieceHashes,
    manifest: bytes,
  };
  return { meta, files: ordered, skipped: parts.skipped };
}

/** A manifest path as one string (names never hold a `/`). */
function keyOf(path: string[]): string {
  return path.join("/");
}

/**
 * The manifest bytes of `parts`, leaving out each entry the manifest's
 * rules refuse (adding it to `parts.skipped`), and the files kept.
 */
function encodeLeavingOut(
  parts: FolderParts,
): { bytes: Uint8Array; files: ScannedFile[] } {
  let { folders, files } = parts;
  for (;;) {
    try {
      return {
        bytes: encodeManifest(manifestOf(parts.name, folders, files)),
        files,
      };
    } catch (error) {
      const refused = refusedPath(parts.name, error);
      if (refused === undefined) {
        throw new Error(
          `Cannot share ${parts.what}: ${
            error instanceof Error ? error.message : error
          }`,
        );
      }
      const out = (path: string[]) => {
        const key = keyOf(path);
        return key === refused || key.startsWith(`${refused}/`);
      };
      const top = [...folders, ...files].find((e) =>
        keyOf(e.entryPath) === refused
      );
      const left = folders.length + files.length;
      folders = folders.filter((folder) => !out(folder.entryPath));
      files = files.filter((file) => !out(file.entryPath));
      if (!top || folders.length + files.length === left) throw error;
      parts.skipped.push({
        path: top.path,
        reason: `name cannot be shared: ${
          refusalReason(error as ManifestError)
        }`,
      });
    }
  }
}

/** The entry path a {@linkcode ManifestError} refuses, or undefined. */
function refusedPath(name: string, error: unknown): string | undefined {
  if (!(error instanceof ManifestError) || error.path === undefined) {
    return undefined;
  }
  return error.path.startsWith(`${name}/`)
    ? error.path.slice(name.length + 1)
    : undefined;
}

function manifestOf(
  name: string,
  folders: FoundFolder[],
  files: ScannedFile[],
): { name: string; entries: ManifestEntry[] } {
  const entries: ManifestEntry[] = folders.map((folder) => ({
    path: folder.entryPath,
    type: "folder",
    size: 0,
    executable: false,
  }));
  for (const file of files) {
    entries.push({
      path: file.entryPath,
      type: "file",
      size: file.meta.size,
      executable: file.executable,
      id: file.meta.id,
    });
  }
  return { name, entries };
}
