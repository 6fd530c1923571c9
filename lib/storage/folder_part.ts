/**
 * The folder a folder download writes into: `NAME.part/` inside the
 * download folder, holding every folder and file of the shared folder,
 * written piece by piece at the download's virtual offsets (folder piece
 * `i` at `i * pieceSize`), then renamed to `NAME` only once every file is
 * verified. Beside it, `NAME.part.json` records which folder it holds (so
 * an interrupted download resumes into it and another folder of the same
 * name never does), and is locked while the download runs.
 *
 * Folders and empty files are made when it opens, every other file when
 * its first piece is written. A file larger than DEFERRED_FLUSH_MAX_BYTES
 * is flushed to disk in the background once complete
 * ({@linkcode FolderPart.fileDone}), so the commit has only the last few of
 * those to wait for; smaller ones are only closed then, and the commit
 * flushes them all with one flush of the file system
 * (`file_system_sync.ts`) when there are FS_SYNC_MIN_FILES or more and it
 * can, else one by one: thousands of small files would otherwise wait for
 * one synchronous disk write each.
 *
 * Safety: nothing is written outside `NAME.part/`. Files are made with
 * `O_CREAT|O_EXCL` (never through a link), each folder is checked once and
 * remembered, anything out of place in a resumed one is removed (a link
 * itself) and made afresh, and each open checks that the path leads to the
 * very file made (`_folder_part_tree.ts`). An existing `NAME` is never
 * replaced unless asked (`NAME (1)` otherwise), and a folder `NAME` not
 * even then if it holds anything the share does not have: that is checked
 * when the download opens, before anything is fetched, and again at the
 * commit, which deletes only the share's own paths (`_folder_foreign.ts`).
 *
 * @module
 */

import { join } from "node:path";
import {
  type FolderLayout,
  folderLayoutOf,
} from "../protocol/folder_layout.ts";
import type { FileMeta } from "../protocol/message_types.ts";
import { readFull } from "../util/read_full.ts";
import { writeAll } from "../util/write_all.ts";
import { MAX_PART_BASE_BYTES, RECORD_SUFFIX } from "./part_file.ts";
import { safeFileName, truncateUtf8 } from "./safe_name.ts";
import { folderIdentity } from "./_folder_part_record.ts";
import { claimPartFolder } from "./_folder_part_claim.ts";
import { PartTree } from "./_folder_part_tree.ts";
import { FileSyncs, SYNC_FILES_AT_ONCE } from "./_folder_part_sync.ts";
import { syncFileSystem } from "./file_system_sync.ts";
import { moveToFreeName, replaceWith } from "./_folder_part_move.ts";
import { refuseForeign, refuseStray } from "./_folder_foreign.ts";

export { PartBusyError } from "./part_file.ts";
export {
  ForeignEntriesError,
  SHOWN_FOREIGN_ENTRIES,
  StrayEntriesError,
} from "./_folder_foreign.ts";
export { numberedFolderName } from "./_folder_part_move.ts";

/**
 * Files of a folder download held open at once, at most; the least
 * recently used is closed past it (a folder may hold far more files than a
 * process may open).
 */
export const MAX_OPEN_FOLDER_WRITE_FILES = 64;
/**
 * Complete files waiting for their flush, at most: past it the download
 * waits ({@linkcode FolderPart.caughtUp}). Each holds its file open.
 */
export const MAX_SYNC_BACKLOG = 256;
/**
 * Files of at most this many bytes are not flushed when complete but at
 * the commit, together (see the module's notes): their flushes cost more
 * than their bytes, and the kernel writes a large file's pages back on its
 * own while the download goes on, which a flush at the end would wait for.
 */
export const DEFERRED_FLUSH_MAX_BYTES = 1024 * 1024;
/**
 * Files left to flush at the commit from which one flush of the whole file
 * system is used instead of one per file: it also waits for whatever else
 * is being written to that file system, worth it only for many files.
 */
export const FS_SYNC_MIN_FILES = 32;
export { EXECUTABLE_MODE, FILE_MODE } from "./_folder_part_tree.ts";
export { SYNC_FILES_AT_ONCE } from "./_folder_part_sync.ts";

/** Options for {@linkcode FolderPart.open}. */
export interface FolderPartOptions {
  /** Download folder; created if missing. */
  dir: string;
  /** The folder's metadata, with its manifest. */
  meta: FileMeta;
  /**
   * Name to save under; made safe (`safeFileName`).
   * @default {meta.name}
   */
  name?: string;
  /**
   * Replace an existing file, link or folder of the final name; a folder
   * only if it holds nothing the share does not have (else the open, and
   * the commit, throw `ForeignEntriesError`). @default {false}
   */
  force?: boolean;
  /**
   * Flushes the whole file system holding a path; false if it could not.
   * @default {syncFileSystem}
   */
  flushFileSystem?: (path: string) => Promise<boolean>;
}

/** A folder download in progress on disk. */
export class FolderPart {
  #record: Deno.FsFile;
  #tree: PartTree;
  /** Open files, least recently used first. */
  #open = new Map<number, Deno.FsFile>();
  /** Files written to and not handed to {@linkcode FileSyncs} yet. */
  #written = new Set<number>();
  #syncs = new FileSyncs();
  /** Small files complete and closed, flushed only at the commit. */
  #deferred = new Set<number>();
  #flushFileSystem: (path: string) => Promise<boolean>;
  #force: boolean;
  #closed = false;
  /** True once anything was written into a file of the `.part` folder. */
  #wrote = false;
  /** Download folder. */
  readonly dir: string;
  /** Name the folder will get when complete, if free by then. */
  readonly name: string;
  /** Full path of the `.part` folder. */
  readonly partPath: string;
  /** True if an earlier run's `.part` folder was reopened (check its pieces). */
  readonly resumed: boolean;
  /** The folder's ID. */
  readonly id: string;
  /** Where each piece lies. */
  readonly layout: FolderLayout;

  private constructor(
    init:
      & Pick<
        FolderPart,
        "dir" | "name" | "partPath" | "resumed" | "id" | "layout"
      >
      & {
        record: Deno.FsFile;
        tree: PartTree;
        force: boolean;
        flushFileSystem: (path: string) => Promise<boolean>;
      },
  ) {
    this.#record = init.record;
    this.#tree = init.tree;
    this.#force = init.force;
    this.#flushFileSystem = init.flushFileSystem;
    this.dir = init.dir;
    this.name = init.name;
    this.partPath = init.partPath;
    this.resumed = init.resumed;
    this.id = init.id;
    this.layout = init.layout;
  }

  /**
   * Opens the `.part` folder `meta` is downloaded into: the earlier run's
   * if one is there for the same folder, else a new one (`NAME (1).part`,
   * … when the name is taken by something else). Before making a new one,
   * an earlier run's of the same folder under another name (its record
   * says so) is resumed instead, where it is; the folder is saved as
   * `name` all the same. Throws
   * {@linkcode PartBusyError} if another download holds it, and
   * `ForeignEntriesError`, before making anything, if forced to replace a
   * folder holding what the share does not have.
   */
  static async open(options: FolderPartOptions): Promise<FolderPart> {
    const layout = folderLayoutOf(options.meta);
    if (!layout) {
      throw new TypeError(`${options.meta.name} is a file, not a folder`);
    }
    const name = safeFileName(options.name ?? options.meta.name);
    await Deno.mkdir(options.dir, { recursive: true });
    const base = truncateUtf8(name, MAX_PART_BASE_BYTES);
    const identity = folderIdentity(options.meta);
    if (options.force) await refuseForeign(join(options.dir, name), layout);
    const opened = await claimPartFolder(options.dir, base, identity);
    if (!opened) throw new Error(`No free name for ${name} in ${options.dir}`);
    try {
      const tree = PartTree.build(opened.partPath, layout, !opened.resumed);
      return new FolderPart({
        ...opened,
        tree,
        force: options.force ?? false,
        flushFileSystem: options.flushFileSystem ?? syncFileSystem,
        dir: options.dir,
        name,
        id: options.meta.id,
        layout,
      });
    } catch (error) {
      opened.record.close();
      throw error;
    }
  }

  /**
   * Writes `data` at the virtual `offset`; it must stay within one piece.
   * The file is made by its first write.
   */
  write(offset: number, data: Uint8Array): void {
    const { file, at, room } = this.#locate(offset);
    if (data.length > room) {
      throw new RangeError(
        `Write of ${data.length} bytes at ${offset} crosses the end of its piece`,
      );
    }
    // A file opened now is at 0: a one-piece file needs no seek.
    const fresh = !this.#open.has(file);
    const handle = this.#handle(file);
    if (!fresh || at !== 0) handle.seekSync(at, Deno.SeekMode.Start);
    this.#wrote = true;
    writeAll(handle, data);
    this.#written.add(file);
  }

  /**
   * Reads `length` bytes at the virtual `offset` (into `into` when given);
   * fewer at the end of its piece, none from a file not written yet.
   */
  read(offset: number, length: number, into?: Uint8Array): Uint8Array {
    const { file, at, room } = this.#locate(offset);
    length = Math.min(length, room);
    const out = into && into.length >= length
      ? into.subarray(0, length)
      : new Uint8Array(length);
    if (!this.#tree.has(file)) return out.subarray(0, 0);
    const handle = this.#handle(file);
    handle.seekSync(at, Deno.SeekMode.Start);
    return out.subarray(0, readFull(handle, out));
  }

  /**
   * File `index` (in `layout.files`) is complete: if written to, it is
   * closed, and flushed to disk in the background unless it is small
   * enough to wait for the commit's flush (DEFERRED_FLUSH_MAX_BYTES).
   */
  fileDone(index: number): void {
    if (this.#closed || !this.#written.has(index)) return;
    try {
      this.#flush(index);
    } catch {
      // Met again at the commit, which flushes it too.
    }
  }

  /**
   * Where file `index` is on disk (made now if it does not exist yet),
   * checked as an open is: for another thread to open and write it.
   */
  whereIs(index: number): { path: string; dev: number; ino: number | null } {
    this.#handle(index);
    return this.#tree.whereIs(index);
  }

  /**
   * File `index` is written through another handle (another thread's): it
   * is flushed like the files written here ({@linkcode fileDone}).
   */
  writtenElsewhere(index: number): void {
    this.#wrote = true;
    this.#written.add(index);
  }

  /** True while more complete files wait for their flush than should. */
  get behind(): boolean {
    return this.#syncs.backlog >= MAX_SYNC_BACKLOG;
  }

  /** Resolves once the download is no longer {@linkcode behind}. */
  caughtUp(): Promise<void> {
    return this.#syncs.whenBelow(MAX_SYNC_BACKLOG);
  }

  /**
   * Makes the download durable and visible: flush every file written
   * (those complete are already on their way), give each file its mode,
   * rename `NAME.part` to the first free name among `NAME`, `NAME (1)`, …
   * (or replace `NAME` when forced: throws `ForeignEntriesError`, keeping
   * the `.part` to resume, if `NAME` is a folder that now holds what the
   * share does not have), remove the record. Resolves to the final path.
   */
  async commit(): Promise<string> {
    for (const index of [...this.#written]) this.#flush(index);
    await this.#syncs.drain();
    this.#closeFiles();
    this.#tree.setModes();
    if (this.resumed) {
      // An earlier run may have closed small files unflushed, or stopped
      // before a large one's flush: every file there is flushed now.
      this.layout.files.forEach((file, index) => {
        if (file.size > 0 && this.#tree.has(index)) this.#deferred.add(index);
      });
    }
    await this.#flushDeferred();
    // Only what was downloaded and verified is saved under the name.
    await refuseStray(this.partPath, this.layout);
    const target = this.#force
      ? await replaceWith(this.partPath, join(this.dir, this.name), this.layout)
      : await moveToFreeName(this.partPath, this.dir, this.name);
    await Deno.remove(this.partPath + RECORD_SUFFIX).catch(() => {});
    this.close();
    await syncFolder(this.dir);
    return target;
  }

  /** Closes and deletes the `.part` folder and its record. */
  async discard(): Promise<void> {
    this.#closeFiles();
    await Deno.remove(this.partPath, { recursive: true }).catch(() => {});
    await Deno.remove(this.partPath + RECORD_SUFFIX).catch(() => {});
    this.close();
  }

  /**
   * Ends a download that saved nothing: a `.part` folder this run made
   * (not resumed) and wrote nothing into is removed with its record, while
   * the record is still locked ({@linkcode removeUnwritten}); any other is
   * kept, as {@linkcode close} keeps it. True if it was removed.
   */
  abandon(): boolean {
    let removed = false;
    if (!this.#closed && !this.resumed && !this.#wrote) {
      this.#closeFiles();
      removed = removeUnwritten(this.partPath, this.layout);
      if (removed) {
        try {
          Deno.removeSync(this.partPath + RECORD_SUFFIX);
        } catch {
          // A record without its folder is stale: the next run rewrites it.
        }
      }
    }
    this.close();
    return removed;
  }

  /** Closes every file and the lock, keeping the `.part` for a resume. */
  close(): void {
    if (this.#closed) return;
    this.#closeFiles();
    this.#syncs.close();
    this.#closed = true;
    this.#record.close();
  }

  /** The file, offset in it, and bytes left in the piece at `offset`. */
  #locate(offset: number): { file: number; at: number; room: number } {
    const { pieceSize } = this.layout;
    const piece = Math.floor(offset / pieceSize);
    const within = offset - piece * pieceSize;
    const file = this.layout.fileOf(piece);
    const first = this.layout.files[file].firstPiece;
    return {
      file,
      at: (piece - first) * pieceSize + within,
      room: Math.max(0, this.layout.pieceLength(piece) - within),
    };
  }

  /** File `index`'s handle, opened (made, or checked) if it is not open. */
  #handle(index: number): Deno.FsFile {
    if (this.#closed) throw new Error(`${this.partPath} is closed`);
    let file = this.#open.get(index);
    if (file) {
      // Most recently used last: the first entry is the one to close.
      this.#open.delete(index);
    } else {
      file = this.#tree.open(index);
    }
    this.#open.set(index, file);
    if (this.#open.size > MAX_OPEN_FOLDER_WRITE_FILES) {
      const [oldest, handle] = this.#open.entries().next().value!;
      this.#open.delete(oldest);
      handle.close();
    }
    return file;
  }

  /**
   * Hands written file `index` over to be flushed (and closed), or closes
   * it to be flushed at the commit if it is small.
   */
  #flush(index: number): void {
    if (this.layout.files[index].size <= DEFERRED_FLUSH_MAX_BYTES) {
      this.#written.delete(index);
      this.#open.get(index)?.close();
      this.#open.delete(index);
      this.#deferred.add(index);
      return;
    }
    // Still written, to be met again at the commit, if this open fails.
    const handle = this.#open.get(index) ?? this.#tree.open(index);
    this.#written.delete(index);
    this.#open.delete(index);
    this.#syncs.add(handle);
  }

  /**
   * Flushes the small files closed unflushed: with one flush of the file
   * system when there are many and it can, else each one opened again
   * (checked as any open is) and flushed, a few at once.
   */
  async #flushDeferred(): Promise<void> {
    const files = [...this.#deferred];
    this.#deferred.clear();
    if (
      files.length >= FS_SYNC_MIN_FILES &&
      await this.#flushFileSystem(this.partPath)
    ) return;
    for (const index of files) {
      await this.#syncs.whenBelow(SYNC_FILES_AT_ONCE);
      this.#syncs.add(this.#tree.open(index));
    }
    await this.#syncs.drain();
  }

  #closeFiles(): void {
    for (const file of this.#open.values()) file.close();
    this.#open.clear();
  }
}

/**
 * Removes the `.part` folder `root` of a download that wrote nothing into
 * it: the share's empty files and its folders, made when it opened, a
 * folder only once empty (never recursively), then `root`. Anything else
 * found (a file with bytes, an entry someone put there) stays, and the
 * folders holding it. True if `root` is gone.
 */
function removeUnwritten(root: string, layout: FolderLayout): boolean {
  try {
    for (const file of layout.files) {
      const path = join(root, ...file.path);
      const info = lstatIfThere(path);
      if (!info) continue;
      if (!info.isFile || info.size !== 0) return false;
      Deno.removeSync(path);
    }
    const deepestFirst = [...layout.folders].sort((a, b) =>
      b.length - a.length
    );
    for (const folder of deepestFirst) {
      if (lstatIfThere(join(root, ...folder))) {
        Deno.removeSync(join(root, ...folder));
      }
    }
    Deno.removeSync(root);
    return true;
  } catch {
    return false;
  }
}

function lstatIfThere(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function syncFolder(dir: string): Promise<void> {
  try {
    using folder = await Deno.open(dir, { read: true });
    await folder.sync();
  } catch {
    // Some systems cannot open or flush a folder; the data is flushed.
  }
}
