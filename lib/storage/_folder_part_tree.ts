/**
 * The tree of a `.part` folder on disk, made and opened without ever
 * following a symbolic link below it. Every folder and file of the layout
 * is `lstat`ed before use: a symbolic link (or anything else that is not a
 * folder where a folder belongs, not a lone regular file where a file
 * belongs) is removed (a link, not its target) and made afresh. Each file's
 * device and inode are remembered, and every later open checks both its
 * path (each component `lstat`ed again) and that the handle it got is that
 * very file, so nothing is written outside the `.part` folder even if
 * something is swapped in while the download runs.
 *
 * @module
 */

import { join } from "node:path";
import type { FolderLayout } from "../protocol/folder_layout.ts";

/** Which file on disk a file of the layout is. */
export interface FileIdentity {
  /** Device. */
  dev: number;
  /** Inode; `null` where the system has none (checks rely on paths then). */
  ino: number | null;
}

/**
 * Makes (or, resuming, checks and repairs) every folder and file of
 * `layout` below `root`, which must be a real folder: files are created
 * empty and sized (sparse). Resolves to each file's identity, in layout
 * order.
 */
export async function buildTree(
  root: string,
  layout: FolderLayout,
): Promise<FileIdentity[]> {
  // Parents first: each folder is checked before anything is made in it.
  const folders = [...layout.folders].sort((a, b) => a.length - b.length);
  for (const path of folders) await ensureFolder(join(root, ...path));
  const identities: FileIdentity[] = [];
  for (const file of layout.files) {
    identities.push(await ensureFile(join(root, ...file.path), file.size));
  }
  return identities;
}

/**
 * Opens the file at `path` below `root` for reading and writing, after
 * checking that no component of the path is a link and that the file is
 * the one `expect` names. Throws otherwise.
 */
export function openChecked(
  root: string,
  path: string[],
  expect: FileIdentity,
): Deno.FsFile {
  const full = checkPath(root, path, expect);
  const file = Deno.openSync(full, { read: true, write: true });
  if (!sameFile(file.statSync(), expect)) {
    file.close();
    throw replaced(full);
  }
  return file;
}

/**
 * The full path of the file at `path` below `root` once checked as
 * {@linkcode openChecked} does (for `chmod`, which takes a path).
 */
export function checkPath(
  root: string,
  path: string[],
  expect: FileIdentity,
): string {
  let at = root;
  if (!Deno.lstatSync(at).isDirectory) throw replaced(at);
  for (let i = 0; i < path.length; i++) {
    at = join(at, path[i]);
    const info = Deno.lstatSync(at);
    const ok = i < path.length - 1
      ? info.isDirectory
      : sameFile(info, expect) && !linked(info);
    if (!ok) throw replaced(at);
  }
  return at;
}

async function ensureFolder(path: string): Promise<void> {
  const info = await lstatOrNothing(path);
  if (info?.isDirectory) return;
  // A link (to a file or a folder) is removed itself, never its target.
  if (info) await Deno.remove(path);
  await Deno.mkdir(path);
}

async function ensureFile(path: string, size: number): Promise<FileIdentity> {
  const info = await lstatOrNothing(path);
  if (info?.isFile && !linked(info)) {
    const existing = await resize(path, info, size);
    if (existing) return existing;
  }
  if (info) await Deno.remove(path, { recursive: info.isDirectory });
  using file = await Deno.open(path, {
    read: true,
    write: true,
    createNew: true,
  });
  await file.truncate(size);
  const { dev, ino } = await file.stat();
  return { dev, ino };
}

/**
 * Opens the regular file `lstat` saw at `path` and gives it `size` bytes;
 * `undefined` if another file took its place in between.
 */
async function resize(
  path: string,
  before: Deno.FileInfo,
  size: number,
): Promise<FileIdentity | undefined> {
  using file = await Deno.open(path, { read: true, write: true });
  const after = await file.stat();
  if (!sameFile(after, before)) return undefined;
  if (after.size !== size) await file.truncate(size);
  return { dev: after.dev, ino: after.ino };
}

async function lstatOrNothing(
  path: string,
): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function sameFile(info: Deno.FileInfo, expect: FileIdentity): boolean {
  return info.isFile && info.dev === expect.dev && info.ino === expect.ino;
}

/** A hard link to the file elsewhere would let writes land outside. */
function linked(info: Deno.FileInfo): boolean {
  return info.nlink !== null && info.nlink > 1;
}

function replaced(path: string): Error {
  return new Error(
    `${path} was replaced by something else during the download; start it again.`,
  );
}
