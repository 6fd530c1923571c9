/**
 * Walking a folder tree to share (`folder_scan.ts`): every regular file and
 * folder a manifest can list, never following a symbolic link, and
 * everything else left out with the reason why (unfinished downloads with
 * their records among them: `unfinished_download.ts`).
 *
 * @module
 */

import { sep } from "node:path";
import {
  MAX_MANIFEST_ENTRIES,
  MAX_PATH_BYTES,
  MAX_PATH_DEPTH,
} from "../protocol/manifest.ts";
import { MAX_PIECES } from "../protocol/limits.ts";
import { fileIdentity, yieldClock } from "./file_hash.ts";
import type { FileIdentity } from "./hash_worker.ts";
import {
  collisionReason,
  compareBytes,
  foldName,
  nameBytes,
  nameRefusal,
} from "./_folder_names.ts";
import { unfinishedIn } from "./unfinished_download.ts";

/** A file or folder on disk left out of a share, and why. */
export interface SkippedEntry {
  /** Its path on disk. */
  path: string;
  /** Why, in plain words ("symbolic link"). */
  reason: string;
}

/** A regular file found to share. */
export interface FoundFile {
  /** Its absolute path on disk. */
  path: string;
  /** Its path in the manifest, below the top folder (names in NFC). */
  entryPath: string[];
  /** What it looked like when found: size, modification time, inode. */
  identity: FileIdentity;
  /** Whether anyone may execute it (never on Windows). */
  executable: boolean;
}

/** A folder found to share. */
export interface FoundFolder {
  /** Its absolute path on disk. */
  path: string;
  /** Its path in the manifest, below the top folder (names in NFC). */
  entryPath: string[];
}

/** What {@linkcode walkFolder} found. */
export interface FoundTree {
  /** Every folder kept, empty ones included. */
  folders: FoundFolder[];
  /** Every regular file kept. */
  files: FoundFile[];
  /** What was left out. */
  skipped: SkippedEntry[];
}

/** Options for {@linkcode walkFolder}. */
export interface WalkOptions {
  /** UTF-8 bytes of the top folder's name (paths count it). */
  topBytes: number;
  /** Bytes per piece, to count pieces against MAX_PIECES. */
  pieceSize: number;
  /** Stops the walk; it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** A folder still to list. */
interface Pending {
  disk: string;
  path: string[];
  /** UTF-8 bytes of its path with the top name, `/` between. */
  bytes: number;
  /** Index of its entry in `folders`; -1 for the top folder. */
  index: number;
}

/** One name in a folder's listing. */
interface Listed {
  name: string;
  nfc: string;
  utf8: Uint8Array;
}

/**
 * Walks the folder `root` (absolute, a folder) depth first. Throws an
 * `Error` if `root` cannot be listed, or the tree has more entries or
 * pieces than one share may.
 *
 * Its listings and `lstat`s are synchronous calls, but one every
 * HASH_YIELD_INTERVAL_MS (`yieldClock`), which waits for an asynchronous
 * one to let timers and sockets run: each asynchronous call is a round
 * trip to the blocking thread pool, and one after another they took most
 * of the walk's time (measured, `lstat` of 10,000 files in page cache with
 * the peer's permissions and V8 flags: 900 ms one after another, 200 ms 16
 * at a time, 60 ms synchronously).
 */
export async function walkFolder(
  root: string,
  options: WalkOptions,
): Promise<FoundTree> {
  const tree: FoundTree = { folders: [], files: [], skipped: [] };
  const unreadable = new Set<number>();
  const count = { entries: 0, pieces: 0 };
  const yieldDue = yieldClock();
  const stack: Pending[] = [{
    disk: root,
    path: [],
    bytes: options.topBytes,
    index: -1,
  }];
  for (let folder = stack.pop(); folder; folder = stack.pop()) {
    options.signal?.throwIfAborted();
    let names: Listed[];
    try {
      names = await listing(folder.disk, yieldDue());
    } catch (error) {
      if (folder.index < 0) {
        throw new Error(
          `Cannot read the folder "${root}": ${problemOf(error)}`,
        );
      }
      unreadable.add(folder.index);
      tree.skipped.push({
        path: folder.disk,
        reason: `folder cannot be read (${problemOf(error)})`,
      });
      continue;
    }
    const below: Pending[] = [];
    const kept = new Map<string, string>();
    const unfinished = await unfinishedIn(
      folder.disk,
      names.map((listed) => listed.name),
    );
    for (const listed of names) {
      const { name, nfc, utf8 } = listed;
      const disk = childPath(folder.disk, name);
      const download = unfinished.get(name);
      if (download !== undefined) {
        tree.skipped.push({ path: disk, reason: download });
        continue;
      }
      const reason = keep(
        yieldDue() ? await lstat(disk) : lstatSync(disk),
        listed,
        folder,
        kept,
      );
      if (typeof reason === "string") {
        tree.skipped.push({ path: disk, reason });
        continue;
      }
      kept.set(foldName(nfc), name);
      if (++count.entries > MAX_MANIFEST_ENTRIES) throw tooMany(root);
      const path = [...folder.path, nfc];
      if (reason.isDirectory) {
        below.push({
          disk,
          path,
          bytes: folder.bytes + 1 + utf8.length,
          index: tree.folders.length,
        });
        tree.folders.push({ path: disk, entryPath: path });
        continue;
      }
      count.pieces += Math.ceil(reason.size / options.pieceSize);
      if (count.pieces > MAX_PIECES) {
        throw tooManyPieces(`"${root}"`, options.pieceSize);
      }
      tree.files.push({
        path: disk,
        entryPath: path,
        identity: fileIdentity(reason),
        executable: isExecutable(reason),
      });
    }
    // Reversed, so the stack lists them in manifest order.
    stack.push(...below.reverse());
  }
  if (unreadable.size > 0) {
    tree.folders = tree.folders.filter((_, i) => !unreadable.has(i));
  }
  return tree;
}

/**
 * The names in folder `disk`, in manifest order (UTF-8 of their NFC),
 * listed asynchronously if `wait`.
 */
async function listing(disk: string, wait: boolean): Promise<Listed[]> {
  const entries = wait
    ? await Array.fromAsync(Deno.readDir(disk))
    : Array.from(Deno.readDirSync(disk));
  return entries.map(({ name }) => {
    const nfc = name.normalize("NFC");
    return { name, nfc, utf8: nameBytes(nfc) };
  }).sort((a, b) => compareBytes(a.utf8, b.utf8));
}

/**
 * The path of `name`, listed in folder `disk` (absolute, normalized), as
 * `join` would give it: a listed name holds no separator, and `join`'s
 * normalizing cost more than the `lstat` (~5 µs an entry, measured).
 */
function childPath(disk: string, name: string): string {
  return disk.endsWith(sep) ? disk + name : disk + sep + name;
}

/** What `lstat` says of `disk`, or why it cannot be read. */
async function lstat(disk: string): Promise<Deno.FileInfo | string> {
  try {
    return await Deno.lstat(disk);
  } catch (error) {
    return `cannot be read (${problemOf(error)})`;
  }
}

/** {@linkcode lstat}, synchronously. */
function lstatSync(disk: string): Deno.FileInfo | string {
  try {
    return Deno.lstatSync(disk);
  } catch (error) {
    return `cannot be read (${problemOf(error)})`;
  }
}

/**
 * `info`, what `lstat` said of the file or folder listed as `listed` (or
 * why it could not), if it can be shared in `folder`, whose names kept so
 * far are `kept` (by fold key); otherwise why not.
 */
function keep(
  info: Deno.FileInfo | string,
  listed: Listed,
  folder: Pending,
  kept: Map<string, string>,
): Deno.FileInfo | string {
  const { name, nfc } = listed;
  if (typeof info === "string") return info;
  const kind = kindProblem(info);
  if (kind) return kind;
  const refusal = nameRefusal(nfc);
  if (refusal) return `name cannot be shared: ${refusal}`;
  if (folder.path.length + 1 > MAX_PATH_DEPTH) {
    return `more than ${MAX_PATH_DEPTH} folders deep`;
  }
  if (folder.bytes + 1 + listed.utf8.length > MAX_PATH_BYTES) {
    return `path longer than ${MAX_PATH_BYTES} bytes`;
  }
  const other = kept.get(foldName(nfc));
  if (other !== undefined) {
    return collisionReason(name, other);
  }
  return info;
}

/** Why a file of `info`'s kind is not shared, or null for a file or folder. */
function kindProblem(info: Deno.FileInfo): string | null {
  if (info.isSymlink) return "symbolic link";
  if (info.isFile || info.isDirectory) return null;
  if (info.isFifo) return "named pipe (FIFO)";
  if (info.isSocket) return "socket";
  if (info.isBlockDevice || info.isCharDevice) return "device";
  return "neither a regular file nor a folder";
}

function isExecutable(info: Deno.FileInfo): boolean {
  return Deno.build.os !== "windows" && ((info.mode ?? 0) & 0o111) !== 0;
}

/** What went wrong reading a path, in plain words. */
export function problemOf(error: unknown): string {
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotFound) return "it disappeared";
  return error instanceof Error ? error.message : String(error);
}

function tooMany(root: string): Error {
  return new Error(
    `"${root}" holds more than ${
      MAX_MANIFEST_ENTRIES.toLocaleString("en")
    } files and folders, the most one share can list; share a smaller folder`,
  );
}

/** The error for a share of more than MAX_PIECES pieces; `what` names it. */
export function tooManyPieces(what: string, pieceSize: number): Error {
  return new Error(
    `${what} would have more than ${
      MAX_PIECES.toLocaleString("en")
    } pieces of ${pieceSize} bytes, over the limit; choose a larger piece size or share less`,
  );
}
