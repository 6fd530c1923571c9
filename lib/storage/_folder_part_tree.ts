/**
 * The tree of a `.part` folder on disk, made and opened without ever
 * following a symbolic link below it.
 *
 * Folders and empty files are made when the tree is built; every other
 * file only when its first piece is written, with `O_CREAT|O_EXCL`
 * (`createNew`), which makes a new file or fails and never follows a link
 * at the last component. In a fresh `.part` folder (made by this process
 * with `mkdir` a moment before) there is nothing to check first: a folder
 * or file is made where nothing can be yet, and anything found in the way
 * was planted by a racing process (a folder is then checked and repaired,
 * a file refused). A resumed `.part` folder is read folder by folder: what
 * is not a real folder where a folder belongs, or not a lone regular file
 * where a file belongs, is removed (a link itself, never its target) and
 * made afresh.
 *
 * Each folder is checked once, when made or resumed, and its device and
 * inode remembered; so is each file's. A file made later is checked
 * through its folder: right after the create, before a byte is written,
 * the folder's path must still lead to the folder remembered (an `lstat`
 * of it resolves every component above, so a folder swapped for a link
 * anywhere on the way shows). A file opened again is `lstat`ed at its
 * path, which must lead to the very file made, then opened, and the handle
 * must be that file. So nothing is written outside the `.part` folder even
 * if something is swapped in while the download runs.
 *
 * @module
 */

import { join, sep as SEP } from "node:path";
import type { FolderLayout } from "../protocol/folder_layout.ts";

/** Mode an executable file of a downloaded folder gets (not on Windows). */
export const EXECUTABLE_MODE = 0o755;
/**
 * Mode every other file of a downloaded folder gets (not on Windows); files
 * are made with it (an executable gets its mode only once verified).
 */
export const FILE_MODE = 0o644;

/** Which file or folder on disk an entry of the layout is. */
export interface FileIdentity {
  /** Device. */
  dev: number;
  /** Inode; `null` where the system has none (checks rely on paths then). */
  ino: number | null;
}

/** A folder of the tree: where it is and which folder it is. */
interface Folder {
  path: string;
  id: FileIdentity;
}

/** The folders and files of one `.part` folder. */
export class PartTree {
  /** The `.part` folder. */
  readonly root: string;
  #layout: FolderLayout;
  /** Each folder by its path below the root joined with `/` (`""`: the root). */
  #folders = new Map<string, Folder>();
  /** Each file's folder, once the folders are made. */
  #fileFolders: Folder[] = [];
  /** Each file's identity once it exists. */
  #files: (FileIdentity | undefined)[];
  /** 1 where a file already has its final mode. */
  #modeOk: Uint8Array;

  private constructor(root: string, layout: FolderLayout) {
    this.root = root;
    this.#layout = layout;
    this.#files = new Array(layout.files.length);
    this.#modeOk = new Uint8Array(layout.files.length);
  }

  /**
   * Makes every folder and empty file of `layout` below `root`, which must
   * be a real folder: made by this process a moment ago (`fresh`), or an
   * earlier run's, checked and repaired, its files kept where they are
   * lone regular files.
   */
  static build(root: string, layout: FolderLayout, fresh: boolean): PartTree {
    const tree = new PartTree(root, layout);
    const info = Deno.lstatSync(root);
    if (!info.isDirectory) throw replaced(root);
    tree.#folders.set("", { path: root, id: identity(info) });
    // Parents first: each folder is checked before anything is made in it.
    const folders = [...layout.folders].sort((a, b) => a.length - b.length);
    for (const path of folders) tree.#makeFolder(path, fresh);
    tree.#fileFolders = layout.files.map((file) =>
      tree.#folders.get(file.path.slice(0, -1).join("/"))!
    );
    if (!fresh) tree.#adoptFiles();
    layout.files.forEach((file, index) => {
      if (file.size === 0 && !tree.#files[index]) tree.open(index).close();
    });
    return tree;
  }

  /** True once file `index` exists (it has been written to, or is empty). */
  has(index: number): boolean {
    return this.#files[index] !== undefined;
  }

  /**
   * Opens file `index` for reading and writing: made now if it does not
   * exist yet, else opened again after checking its path leads to it.
   * Throws if anything else is found in its place.
   */
  open(index: number): Deno.FsFile {
    const expect = this.#files[index];
    if (!expect) return this.#create(index);
    const path = this.#checked(index, expect);
    const file = Deno.openSync(path, { read: true, write: true });
    if (!sameFile(file.statSync(), expect)) {
      file.close();
      throw replaced(path);
    }
    return file;
  }

  /**
   * The path and identity of file `index`, which must exist, once `lstat`
   * shows the path leads to it.
   */
  whereIs(index: number): { path: string } & FileIdentity {
    const expect = this.#files[index];
    if (!expect) throw new Error(`File ${index} of ${this.root} is not made`);
    return { path: this.#checked(index, expect), ...expect };
  }

  /** Gives every file its final mode, each path checked as an open is. */
  setModes(): void {
    if (Deno.build.os === "windows") return;
    this.#layout.files.forEach((file, index) => {
      if (this.#modeOk[index]) return;
      const expect = this.#files[index];
      if (!expect) throw new Error(`${file.path.join("/")} was never written`);
      // chmod takes a path (and follows links): checked first.
      Deno.chmodSync(this.#checked(index, expect), modeOf(file));
      this.#modeOk[index] = 1;
    });
  }

  /** The path of file `index`, once `lstat` shows it is `expect`, alone. */
  #checked(index: number, expect: FileIdentity): string {
    const path = this.#pathOf(index);
    const info = Deno.lstatSync(path);
    if (!sameFile(info, expect) || linked(info)) throw replaced(path);
    return path;
  }

  /** Makes file `index`, which must not exist, and checks where it went. */
  #create(index: number): Deno.FsFile {
    const path = this.#pathOf(index);
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, {
        read: true,
        write: true,
        createNew: true,
        mode: FILE_MODE,
      });
    } catch (error) {
      // Nothing was there when the tree was built: planted since.
      if (error instanceof Deno.errors.AlreadyExists) throw replaced(path);
      throw error;
    }
    try {
      const info = file.statSync();
      const folder = this.#folderOf(index);
      if (!sameFile(Deno.lstatSync(folder.path), folder.id, true)) {
        throw replaced(folder.path);
      }
      this.#noteFile(index, info);
      // Sized at once (sparse) unless one write makes it whole: pieces
      // written out of order, or past the page cache, then land inside it.
      const { size } = this.#layout.files[index];
      if (size > this.#layout.pieceSize) file.truncateSync(size);
      return file;
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** Makes (or checks and repairs) the folder at `path` below the root. */
  #makeFolder(path: string[], fresh: boolean): void {
    const parent = this.#folders.get(path.slice(0, -1).join("/"))!;
    const full = join(parent.path, path[path.length - 1]);
    let made = false;
    if (fresh) {
      try {
        Deno.mkdirSync(full);
        made = true;
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      }
    }
    if (!made) repairFolder(full);
    // The folder went where its parent is: no link on the way.
    if (!sameFile(Deno.lstatSync(parent.path), parent.id, true)) {
      throw replaced(parent.path);
    }
    const info = Deno.lstatSync(full);
    if (!info.isDirectory) throw replaced(full);
    this.#folders.set(path.join("/"), { path: full, id: identity(info) });
  }

  /**
   * Resuming: keeps each file found as a lone regular file (cut to its
   * size if longer), removes anything else in a file's place. Reads each
   * folder once rather than looking up every file that may not be there.
   */
  #adoptFiles(): void {
    const listings = new Map<string, Map<string, Deno.DirEntry>>();
    this.#layout.files.forEach((file, index) => {
      const key = file.path.slice(0, -1).join("/");
      let listing = listings.get(key);
      if (!listing) {
        listing = new Map();
        for (const entry of Deno.readDirSync(this.#folders.get(key)!.path)) {
          listing.set(entry.name, entry);
        }
        listings.set(key, listing);
      }
      const entry = listing.get(file.path[file.path.length - 1]);
      if (entry) this.#adoptFile(index, entry);
    });
  }

  #adoptFile(index: number, entry: Deno.DirEntry): void {
    const path = this.#pathOf(index);
    const info = Deno.lstatSync(path);
    if (entry.isFile && info.isFile && !linked(info)) {
      const size = this.#layout.files[index].size;
      this.#noteFile(index, info);
      if (info.size <= size) return;
      using file = this.open(index);
      file.truncateSync(size);
      return;
    }
    // A link (to a file or a folder) is removed itself, never its target.
    Deno.removeSync(path, { recursive: info.isDirectory });
  }

  #noteFile(index: number, info: Deno.FileInfo): void {
    this.#files[index] = identity(info);
    const wanted = modeOf(this.#layout.files[index]);
    this.#modeOk[index] = info.mode === null || (info.mode & 0o777) === wanted
      ? 1
      : 0;
  }

  #folderOf(index: number): Folder {
    return this.#fileFolders[index];
  }

  #pathOf(index: number): string {
    const path = this.#layout.files[index].path;
    // Names are checked (no separator, no "." or ".."): no join needed.
    return this.#folderOf(index).path + SEP + path[path.length - 1];
  }
}

/** Makes sure a real folder is at `path`: whatever else is there goes. */
function repairFolder(path: string): void {
  let info: Deno.FileInfo | undefined;
  try {
    info = Deno.lstatSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (info?.isDirectory) return;
  // A link (to a file or a folder) is removed itself, never its target.
  if (info) Deno.removeSync(path);
  Deno.mkdirSync(path);
}

function modeOf(file: { executable: boolean }): number {
  return file.executable ? EXECUTABLE_MODE : FILE_MODE;
}

function identity(info: Deno.FileInfo): FileIdentity {
  return { dev: info.dev, ino: info.ino };
}

function sameFile(
  info: Deno.FileInfo,
  expect: FileIdentity,
  folder = false,
): boolean {
  return (folder ? info.isDirectory : info.isFile) &&
    info.dev === expect.dev && info.ino === expect.ino;
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
