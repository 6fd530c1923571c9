/**
 * Scanning a folder tree, or several files, to share as one ID: every file
 * is hashed as it would be shared alone (`file_hash.ts`), and the folder is
 * described by its manifest (`protocol/manifest.ts`) and a
 * `FileMeta` whose pieces are the files' pieces in manifest order
 * (`protocol/folder_layout.ts`).
 *
 * Kept: hidden files, empty files and folders, the executable bit. Left
 * out, each listed with its reason: symbolic links (never followed below
 * the folder shared), devices, sockets, named pipes, what cannot be read,
 * names the manifest's rules refuse (`a:b`, a trailing dot, control
 * characters, a name equal to one kept but for letter case), entries
 * deeper than MAX_PATH_DEPTH, and unfinished downloads (`NAME.part` with
 * its record `NAME.part.json`) with their records.
 *
 * @example
 * ```ts
 * const scanned = await scanFolder("holiday", {
 *   onProgress: (done, total) => console.log(`${done} of ${total} bytes`),
 * });
 * for (const { path, reason } of scanned.skipped) {
 *   console.log(`Not shared: ${path} (${reason})`);
 * }
 * console.log(scanned.meta.id);
 * ```
 *
 * @module
 */

import { basename, resolve } from "node:path";
import {
  DEFAULT_PIECE_SIZE,
  MAX_PIECE_SIZE,
  MAX_PIECES,
  MIN_PIECE_SIZE,
} from "../protocol/limits.ts";
import { pieceCount } from "../protocol/messages.ts";
import {
  changedError,
  type FileHash,
  fileIdentity,
  hashFile,
  sameFile,
} from "./file_hash.ts";
import { SmallFileHasher } from "./small_file_hasher.ts";
import { quoteSafe } from "../util/terminal_safe.ts";
import { THREAD_MIN_PIECES } from "./hash_thread.ts";
import {
  type FoundFile,
  problemOf,
  type SkippedEntry,
  tooManyPieces,
  walkFolder,
} from "./_folder_walk.ts";
import { foldName, nameBytes, nameRefusal } from "./_folder_names.ts";
import {
  folderMeta,
  type ScannedFile,
  type ScannedFolder,
} from "./_folder_manifest.ts";

/**
 * What was asked cannot be shared as asked: two files of one name given
 * together, a name a folder's manifest refuses (its own, or `--as`'s). The
 * message is one sentence, without its final period; the user fixes the
 * command or renames a file.
 */
export class ShareRefusedError extends Error {
  /** Creates the error; `message` says what to change. */
  constructor(message: string) {
    super(message);
    this.name = "ShareRefusedError";
  }
}

export type { SkippedEntry } from "./_folder_walk.ts";
export type { ScannedFile, ScannedFolder } from "./_folder_manifest.ts";

/** Options for {@linkcode scanFolder}. */
export interface ScanOptions {
  /** Bytes per piece, the same for every file. @default {DEFAULT_PIECE_SIZE} */
  pieceSize?: number;
  /**
   * The shared folder's name, instead of the folder's own.
   *
   * @default {the folder's own name}
   */
  name?: string;
  /** Called with bytes hashed so far and bytes to hash in all, about 10 times a second. */
  onProgress?: (bytesHashed: number, bytesTotal: number) => void;
  /** Stops the scan; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options for {@linkcode scanFiles}: {@linkcode ScanOptions} with a name. */
export interface ScanFilesOptions extends ScanOptions {
  /** The name of the folder the files are shared as. */
  name: string;
}

/**
 * Scans the folder at `path` to share it as one ID: walks it (never
 * following a symbolic link inside it; `path` itself may be one), hashes
 * every file, and builds its manifest. Throws an `Error` saying what to
 * do if the folder cannot be read, its name cannot be shared (pass
 * `options.name`), it is too large for one share, or a file changes while
 * it is hashed; `RangeError` for a piece size out of bounds.
 */
export async function scanFolder(
  path: string,
  options: ScanOptions = {},
): Promise<ScannedFolder> {
  const pieceSize = checkPieceSize(options.pieceSize);
  const absolute = resolve(path);
  const info = await statGiven(absolute);
  if (!info.isDirectory) throw new Error(`"${absolute}" is not a folder`);
  const root = await Deno.realPath(absolute);
  const name = topName(options.name ?? basename(absolute), `"${absolute}"`);
  const found = await walkFolder(root, {
    topBytes: nameBytes(name).length,
    pieceSize,
    signal: options.signal,
  });
  const { files, skipped } = await hashAll(found.files, {
    ...options,
    pieceSize,
  });
  skipped.unshift(...found.skipped);
  return folderMeta({
    name,
    what: `"${absolute}"`,
    folders: found.folders,
    files,
    skipped,
  }, pieceSize);
}

/**
 * Scans several regular files to share as one folder named
 * `options.name`, each at its top. Throws an `Error` saying what to do if
 * a path is not a regular file, two have the same name (or names equal
 * but for letter case), a name cannot be shared, or a file changes while
 * it is hashed. A symbolic link given here is followed.
 */
export async function scanFiles(
  paths: string[],
  options: ScanFilesOptions,
): Promise<ScannedFolder> {
  const pieceSize = checkPieceSize(options.pieceSize);
  const name = topName(options.name, "the files");
  const found: FoundFile[] = [];
  const kept = new Map<string, string>();
  let pieces = 0;
  for (const given of paths) {
    const file = await givenFile(resolve(given), kept);
    found.push(file);
    pieces += pieceCount(file.identity.size, pieceSize);
    if (pieces > MAX_PIECES) {
      throw tooManyPieces(`Sharing ${paths.length} files`, pieceSize);
    }
  }
  const { files, skipped } = await hashAll(found, { ...options, pieceSize });
  return folderMeta(
    { name, what: "the files", folders: [], files, skipped },
    pieceSize,
  );
}

/** `absolute`, a path the user gave, as one regular file of a flat folder. */
async function givenFile(
  absolute: string,
  kept: Map<string, string>,
): Promise<FoundFile> {
  const info = await statGiven(absolute);
  if (info.isDirectory) {
    throw new Error(
      `"${absolute}" is a folder; share it on its own, or list only files`,
    );
  }
  if (!info.isFile) throw new Error(`"${absolute}" is not a regular file`);
  const name = basename(absolute).normalize("NFC");
  const refusal = nameRefusal(name);
  if (refusal) {
    throw new ShareRefusedError(
      `Cannot share "${absolute}" under its name: ${refusal}; rename it`,
    );
  }
  const key = foldName(name);
  const other = kept.get(key);
  if (other !== undefined) {
    const how = basename(other).normalize("NFC") === name
      ? "they have the same name"
      : "their names differ only in letter case or invisible characters";
    throw new ShareRefusedError(
      `Cannot share "${other}" and "${absolute}" together: ${how}; rename one`,
    );
  }
  kept.set(key, absolute);
  return {
    path: await Deno.realPath(absolute),
    entryPath: [name],
    identity: fileIdentity(info),
    executable: Deno.build.os !== "windows" && ((info.mode ?? 0) & 0o111) !== 0,
  };
}

/** `pieceSize` or the default, if within MIN_PIECE_SIZE..MAX_PIECE_SIZE. */
function checkPieceSize(pieceSize = DEFAULT_PIECE_SIZE): number {
  if (
    !Number.isSafeInteger(pieceSize) || pieceSize < MIN_PIECE_SIZE ||
    pieceSize > MAX_PIECE_SIZE
  ) {
    throw new RangeError(
      `Piece size ${pieceSize} is outside ${MIN_PIECE_SIZE}..${MAX_PIECE_SIZE} bytes`,
    );
  }
  return pieceSize;
}

/** What `stat` says of a path the user gave, or an `Error` saying why not. */
async function statGiven(absolute: string): Promise<Deno.FileInfo> {
  try {
    return await Deno.stat(absolute);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`"${absolute}" does not exist`);
    }
    throw new Error(`Cannot read "${absolute}": ${problemOf(error)}`);
  }
}

/**
 * `name` in NFC, or an `Error` if the manifest's rules refuse it; `what`
 * names what is shared in the message.
 */
function topName(name: string, what: string): string {
  const nfc = name.normalize("NFC");
  const refusal = nameRefusal(nfc);
  if (refusal) {
    throw new ShareRefusedError(
      `Cannot share ${what} under the name ${
        quoteSafe(name)
      }: ${refusal}; rename it or give the share another name`,
    );
  }
  return nfc;
}

/**
 * Hashes every file found: small ones (under THREAD_MIN_PIECES pieces) one
 * after another with synchronous file-system calls (`SmallFileHasher`),
 * large ones one at a time on the hashing thread, alongside. Results keep
 * `found`'s order. A file that vanished or cannot be read is skipped with
 * the reason.
 */
async function hashAll(
  found: FoundFile[],
  options: ScanOptions & { pieceSize: number },
): Promise<{ files: ScannedFile[]; skipped: SkippedEntry[] }> {
  const { pieceSize, signal } = options;
  const total = found.reduce((sum, file) => sum + file.identity.size, 0);
  const results: (ScannedFile | SkippedEntry)[] = new Array(found.length);
  let hashed = 0;
  let current = 0;
  const report = () => options.onProgress?.(hashed + current, total);
  const small = new SmallFileHasher({ pieceSize, signal });
  const onProgress = options.onProgress && ((done: number) => {
    current = done;
    report();
  });
  const hashLarge = async (file: FoundFile): Promise<FileHash> => {
    const hash = await hashFile(file.path, { pieceSize, signal, onProgress });
    await checkUnchanged(file);
    return hash;
  };
  const hashOne = async (index: number, large: boolean) => {
    signal?.throwIfAborted();
    const file = found[index];
    try {
      const meta = large
        ? await hashLarge(file)
        : await small.hash(file.path, file.identity);
      const name = file.entryPath[file.entryPath.length - 1];
      results[index] = { ...file, meta: { ...meta, name } };
    } catch (error) {
      if (
        signal?.aborted ||
        !(error instanceof Deno.errors.NotFound ||
          error instanceof Deno.errors.PermissionDenied)
      ) throw error;
      results[index] = {
        path: file.path,
        reason: `cannot be read (${problemOf(error)})`,
      };
    }
    if (large) current = 0;
    hashed += file.identity.size;
    report();
  };
  const isLarge = (file: FoundFile) =>
    pieceCount(file.identity.size, pieceSize) >= THREAD_MIN_PIECES;
  const hashEach = async (large: boolean) => {
    for (let i = 0; i < found.length; i++) {
      if (isLarge(found[i]) === large) await hashOne(i, large);
    }
  };
  await Promise.all([hashEach(true), hashEach(false)]);
  options.onProgress?.(total, total);
  const files: ScannedFile[] = [];
  const skipped: SkippedEntry[] = [];
  for (const result of results) {
    if ("meta" in result) files.push(result);
    else skipped.push(result);
  }
  return { files, skipped };
}

/** Throws unless `file` on disk is still as it was when found. */
async function checkUnchanged(file: FoundFile): Promise<void> {
  if (!sameFile(await Deno.lstat(file.path), file.identity)) {
    throw changedError(file.path);
  }
}
