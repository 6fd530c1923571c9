/**
 * The file a download writes into: `NAME.part` inside the download folder,
 * written piece by piece at offsets, then flushed and given its final name
 * only once the whole file is verified. Beside it, `NAME.part.json` records
 * which file (ID and piece hashes) the `.part` belongs to, so an interrupted
 * download resumes into the same `.part` and a different file of the same
 * name never does. A download that would start a new `.part` first looks
 * for an earlier run's of the same file under another name (the sharer
 * calls it differently now): found by its record, it is resumed where it
 * is, and the file saved under the name asked for.
 *
 * Safety: a new `.part` is created with O_EXCL (which also refuses a
 * symbolic link planted at that name); an existing one is resumed only if
 * a resume record of this file is beside it, or a damaged one (not JSON:
 * what a crash can leave; its pieces are checked anyway). Without one it
 * may be the user's own `NAME.part`: it is left as it is, and
 * `NAME (1).part` used, unless it is provably an earlier run's left
 * empty without its record by a full disk (`_part_leftovers.ts`). A
 * resumed `.part` is opened and then checked to be the same regular file
 * `lstat` saw; a file at the record's name that is not a record (nor a
 * damaged one beside its `.part`) is never replaced; the `.part` is locked
 * while in use so two downloads never share it; an existing file is never
 * overwritten unless asked (`name (1).ext` otherwise).
 *
 * Nothing is left without its record: a `.part` this run made whose record
 * cannot be written is removed again, and so is the record's temporary
 * file; a run that holds a `.part` removes the temporary files of its
 * record an earlier run left.
 *
 * @module
 */

import { pathTaken } from "./_path_taken.ts";
import { join } from "node:path";
import { MAX_NAME_BYTES } from "../protocol/limits.ts";
import { readFull } from "../util/read_full.ts";
import { numberedName, truncateUtf8 } from "./safe_name.ts";
import { writeAll } from "../util/write_all.ts";
import { MAX_NAME_ATTEMPTS, moveToFreeFileName } from "./free_name.ts";
import { leftWithoutRecord, removeRecordTemps } from "./_part_leftovers.ts";
import { partsByRecord } from "./_part_by_id.ts";
import {
  isRecord,
  type PartIdentity,
  readRecord,
  sameIdentity,
  writeRecord,
} from "./_part_record.ts";

export type { PartIdentity } from "./_part_record.ts";

/** Suffix of a file being downloaded. */
export const PART_SUFFIX = ".part";
/** Suffix, after {@linkcode PART_SUFFIX}, of its resume record. */
export const RECORD_SUFFIX = ".json";
/**
 * Longest name (UTF-8 bytes) a `.part` may be based on: what stays of a
 * 255-byte file name once `.part.json.<uuid>.tmp` is added (the final file
 * keeps its full name).
 */
export const MAX_PART_BASE_BYTES = MAX_NAME_BYTES -
  (PART_SUFFIX + RECORD_SUFFIX + ".").length - 36 - ".tmp".length;
/**
 * Bytes written between two background flushes to disk. Flushing as the
 * download goes leaves little for the final flush (1 GiB flushed at the end
 * took ~630 ms here; flushed every 64 MiB on the way, ~50 ms at the end).
 */
export const FLUSH_EVERY_BYTES = 64 * 1024 * 1024;
/** Largest resume record read back; anything larger is damaged. */
export const MAX_RECORD_BYTES = 4096;

/** Options for {@linkcode PartFile.open}. */
export interface PartFileOptions {
  /** Download folder; created if missing. */
  dir: string;
  /** Safe file name (see `safeFileName`), without any folder. */
  name: string;
  /** The file this `.part` holds. */
  identity: PartIdentity;
  /** Replace an existing file of the final name. @default {false} */
  force?: boolean;
}

/** A `.part` that another download holds. */
export class PartBusyError extends Error {
  /** Creates the error for the `.part` at `path`. */
  constructor(path: string) {
    super(`Another download is already writing ${path}.`);
    this.name = "PartBusyError";
  }
}

/** A download in progress on disk. */
export class PartFile {
  #file: Deno.FsFile;
  #closed = false;
  /** True once anything was written into the `.part`. */
  #wrote = false;
  #force: boolean;
  #unflushed = 0;
  #flushing?: Promise<void>;
  #flushError?: unknown;
  /** Download folder. */
  readonly dir: string;
  /** Name the file will get when complete, if free by then. */
  readonly name: string;
  /** Full path of the `.part` file. */
  readonly partPath: string;
  /** True if an earlier run's `.part` was reopened (its pieces need checking). */
  readonly resumed: boolean;

  private constructor(
    file: Deno.FsFile,
    options: PartFileOptions,
    partName: string,
    resumed: boolean,
  ) {
    this.#file = file;
    this.#force = options.force ?? false;
    this.dir = options.dir;
    this.name = options.name;
    this.partPath = join(options.dir, partName + PART_SUFFIX);
    this.resumed = resumed;
  }

  /**
   * Opens this file's `.part` in the folder: the earlier run's if one is
   * there for the same file, else a new one (`NAME (1).part`, … when the
   * name is held by another file's `.part`). Before making a new one, an
   * earlier run's `.part` of the same file under another name (its record
   * says so) is resumed instead; it keeps its name, and the file is saved
   * as `name` all the same. Throws {@linkcode PartBusyError} if another
   * download holds the `.part` of `name`.
   */
  static async open(options: PartFileOptions): Promise<PartFile> {
    await Deno.mkdir(options.dir, { recursive: true });
    const base = truncateUtf8(options.name, MAX_PART_BASE_BYTES);
    let lookedElsewhere = false;
    for (let n = 0; n < MAX_NAME_ATTEMPTS; n++) {
      const partName = n === 0
        ? base
        : numberedName(base, n, MAX_PART_BASE_BYTES);
      const path = join(options.dir, partName + PART_SUFFIX);
      if (!lookedElsewhere && !await pathTaken(path)) {
        // A new `.part` would be made here: rather resume an earlier run's
        // of the same file under another name, if there is one.
        lookedElsewhere = true;
        const earlier = await resumeElsewhere(options);
        if (earlier) return earlier;
      }
      const part = await tryPart(options, partName);
      if (part) return part;
    }
    throw new Error(`No free name for ${options.name} in ${options.dir}`);
  }

  /** Wraps an opened, locked file. */
  static adopt(
    file: Deno.FsFile,
    options: PartFileOptions,
    partName: string,
    resumed: boolean,
  ): PartFile {
    return new PartFile(file, options, partName, resumed);
  }

  /** Writes `data` at `offset` (synchronous: measured much faster here). */
  write(offset: number, data: Uint8Array): void {
    this.#wrote = true;
    this.#file.seekSync(offset, Deno.SeekMode.Start);
    writeAll(this.#file, data);
    this.noteWritten(data.length);
  }

  /**
   * Counts bytes written to the file, here or by another thread through its
   * own handle: every FLUSH_EVERY_BYTES the file is flushed to disk in the
   * background.
   */
  noteWritten(bytes: number): void {
    if (this.#closed) return;
    if (bytes > 0) this.#wrote = true;
    this.#unflushed += bytes;
    if (this.#unflushed >= FLUSH_EVERY_BYTES && !this.#flushing) {
      this.#unflushed = 0;
      this.#flushing = this.#file.syncData().catch((error) => {
        this.#flushError ??= error;
      }).finally(() => this.#flushing = undefined);
    }
  }

  /**
   * The device and inode of the open `.part`, for another thread that opens
   * it by path to check it has the same file (not one put in its place).
   */
  where(): { dev: number; ino: number | null } {
    const { dev, ino } = this.info();
    return { dev, ino };
  }

  /** The open `.part`'s file info, from its handle (not its path). */
  info(): Deno.FileInfo {
    return this.#file.statSync();
  }

  /**
   * Reads `length` bytes at `offset` (into `into` when given); fewer only
   * at end of file.
   */
  read(offset: number, length: number, into?: Uint8Array): Uint8Array {
    const out = into && into.length >= length
      ? into.subarray(0, length)
      : new Uint8Array(length);
    this.#file.seekSync(offset, Deno.SeekMode.Start);
    return out.subarray(0, readFull(this.#file, out));
  }

  /**
   * Makes the download durable and visible: flush the data, give it the
   * first free name among `NAME`, `NAME (1)`, … (or replace `NAME` when
   * forced), remove the `.part` and its record, and flush the folder.
   * Resolves to the final path.
   */
  async commit(): Promise<string> {
    await this.#flushing;
    if (this.#flushError) throw this.#flushError;
    await this.#file.sync();
    const target = this.#force
      ? await this.#replace()
      : await moveToFreeFileName(this.partPath, this.dir, this.name);
    await Deno.remove(this.partPath + RECORD_SUFFIX).catch(() => {});
    this.close();
    await syncFolder(this.dir);
    return target;
  }

  /** Closes and deletes the `.part` and its record: its data is useless. */
  async discard(): Promise<void> {
    this.close();
    await Deno.remove(this.partPath).catch(() => {});
    await Deno.remove(this.partPath + RECORD_SUFFIX).catch(() => {});
  }

  /**
   * Ends a download that saved nothing: a `.part` this run made (not
   * resumed) and wrote nothing into is removed with its record, while it
   * is still locked, so no other download takes it over meanwhile; any
   * other is kept, as {@linkcode close} keeps it. True if it was removed.
   * Another thread's writes count once reported ({@linkcode noteWritten}):
   * the caller must know that no piece was handed over to be written.
   */
  abandon(): boolean {
    let removed = false;
    if (!this.#closed && !this.resumed && !this.#wrote) {
      try {
        // Only the very file this run made, nothing put in its place.
        const { dev, ino } = this.where();
        const now = Deno.lstatSync(this.partPath);
        if (now.isFile && now.dev === dev && now.ino === ino) {
          Deno.removeSync(this.partPath);
          removed = true;
          Deno.removeSync(this.partPath + RECORD_SUFFIX);
        }
      } catch {
        // Kept (where an open file cannot be removed, as on Windows).
      }
    }
    this.close();
    return removed;
  }

  /** Closes the file, keeping the `.part` on disk for a later resume. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // A background flush still holds the file; it closes when that ends.
    if (this.#flushing) this.#flushing.finally(() => this.#file.close());
    else this.#file.close();
  }

  async #replace(): Promise<string> {
    const target = join(this.dir, this.name);
    await Deno.rename(this.partPath, target);
    return target;
  }
}

/** Opens `partName.part` if it is new or ours; `undefined` if it is another file's. */
async function tryPart(
  options: PartFileOptions,
  partName: string,
): Promise<PartFile | undefined> {
  const path = join(options.dir, partName + PART_SUFFIX);
  const recordPath = path + RECORD_SUFFIX;
  let created: Deno.FsFile | undefined;
  try {
    created = await Deno.open(path, {
      read: true,
      write: true,
      createNew: true,
    });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  const record = await readRecord(recordPath, MAX_RECORD_BYTES);
  if (created) {
    if (record === "foreign" || record === "damaged") {
      // Someone's own file at the record's name: this name is not ours.
      created.close();
      await Deno.remove(path).catch(() => {});
      return undefined;
    }
    // No record, or a stale one of ours whose `.part` was deleted.
    return await prepareOwn(created, options, partName);
  }
  if (
    record === undefined &&
    await leftWithoutRecord(path, recordPath, MAX_RECORD_BYTES)
  ) {
    const file = await openExisting(path);
    return file && await prepareOwn(file, options, partName);
  }
  // Resumed only with this file's own record beside it (or a damaged one):
  // a `.part` without one may be the user's own file.
  if (
    record === "foreign" ||
    (record !== "damaged" && !sameIdentity(record, options.identity))
  ) return undefined;
  const file = await openExisting(path);
  if (!file) return undefined;
  return await prepare(file, options, partName, true);
}

/**
 * Resumes the `.part` of this very file that an earlier run left in the
 * folder under another name (found by its record, which must say the same
 * ID, size, piece size and piece hashes, `_part_by_id.ts`); `undefined` if
 * there is none that is a regular file and no other download holds.
 */
async function resumeElsewhere(
  options: PartFileOptions,
): Promise<PartFile | undefined> {
  const names = await partsByRecord(options.dir, {
    partSuffix: PART_SUFFIX,
    recordSuffix: RECORD_SUFFIX,
    maxBytes: MAX_RECORD_BYTES,
    // A folder download's record says `kind: "folder"`; a file's says none.
    matches: (record) =>
      isRecord(record) && !("kind" in record) &&
      sameIdentity(record, options.identity),
  });
  for (const partName of names) {
    const path = join(options.dir, partName + PART_SUFFIX);
    const file = await openExisting(path).catch(() => undefined);
    if (!file) continue;
    try {
      return await prepare(file, options, partName, true);
    } catch (error) {
      if (!(error instanceof PartBusyError)) throw error;
    }
  }
  return undefined;
}

/**
 * Prepares a `.part` that holds nothing of anyone's (this run made it, or
 * took it over empty); if that fails, the `.part` is removed again (unless
 * another download holds it), so that none is left without its record.
 */
async function prepareOwn(
  file: Deno.FsFile,
  options: PartFileOptions,
  partName: string,
): Promise<PartFile> {
  const path = join(options.dir, partName + PART_SUFFIX);
  let made: Deno.FileInfo | undefined;
  try {
    made = await file.stat();
  } catch {
    // Not removed on failure, then: it cannot be told from another file.
  }
  try {
    return await prepare(file, options, partName, false);
  } catch (error) {
    if (made && !(error instanceof PartBusyError)) {
      const now = await Deno.lstat(path).catch(() => undefined);
      if (now?.isFile && now.ino === made.ino && now.dev === made.dev) {
        await Deno.remove(path).catch(() => {});
      }
    }
    throw error;
  }
}

/** Locks, sizes and records a `.part`; closes it on failure. */
async function prepare(
  file: Deno.FsFile,
  options: PartFileOptions,
  partName: string,
  resumed: boolean,
): Promise<PartFile> {
  try {
    const path = join(options.dir, partName + PART_SUFFIX);
    if (!await file.tryLock(true)) throw new PartBusyError(path);
    await removeRecordTemps(path + RECORD_SUFFIX, MAX_RECORD_BYTES);
    const info = await file.stat();
    if (info.size !== options.identity.size) {
      await file.truncate(options.identity.size);
    }
    await writeRecord(path + RECORD_SUFFIX, options.identity);
    return PartFile.adopt(file, options, partName, resumed);
  } catch (error) {
    file.close();
    throw error;
  }
}

/**
 * Opens an existing file (a `.part`, a folder download's record) for
 * reading and writing only if it is a regular file, and the very file
 * `lstat` saw (no symbolic link swapped in between). `undefined` otherwise.
 */
export async function openExisting(
  path: string,
): Promise<Deno.FsFile | undefined> {
  const before = await Deno.lstat(path);
  if (!before.isFile) return undefined;
  const file = await Deno.open(path, { read: true, write: true });
  const after = await file.stat();
  if (after.ino !== before.ino || after.dev !== before.dev || !after.isFile) {
    file.close();
    return undefined;
  }
  return file;
}

async function syncFolder(dir: string): Promise<void> {
  try {
    using folder = await Deno.open(dir, { read: true });
    await folder.sync();
  } catch {
    // Some systems cannot open or flush a folder; the data is flushed.
  }
}
