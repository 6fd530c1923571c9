/**
 * The file a download writes into: `NAME.part` inside the download folder,
 * written piece by piece at offsets, then flushed and given its final name
 * only once the whole file is verified. An existing file is never
 * overwritten: the final name becomes `NAME (1).ext` and so on.
 *
 * @module
 */

import { join } from "node:path";
import { numberedName } from "./safe_name.ts";

/** Suffix of a file being downloaded. */
export const PART_SUFFIX = ".part";
/** Most numbered alternatives tried for a name that is taken. */
export const MAX_NAME_ATTEMPTS = 1000;

/** Options for {@linkcode PartFile.open}. */
export interface PartFileOptions {
  /** Download folder; created if missing. */
  dir: string;
  /** Safe file name (see `safeFileName`), without any folder. */
  name: string;
  /** Final size in bytes. */
  size: number;
}

/** A download in progress on disk. */
export class PartFile {
  #file: Deno.FsFile;
  #closed = false;
  /** Download folder. */
  readonly dir: string;
  /** Name the file will get when complete, if free by then. */
  readonly name: string;
  /** Full path of the `.part` file. */
  readonly partPath: string;

  private constructor(file: Deno.FsFile, options: PartFileOptions) {
    this.#file = file;
    this.dir = options.dir;
    this.name = options.name;
    this.partPath = join(options.dir, options.name + PART_SUFFIX);
  }

  /**
   * Opens (or creates) `NAME.part` in the folder, sized to the final size.
   * Refuses a `.part` that is a symbolic link or not a regular file.
   */
  static async open(options: PartFileOptions): Promise<PartFile> {
    await Deno.mkdir(options.dir, { recursive: true });
    const path = join(options.dir, options.name + PART_SUFFIX);
    await refuseNonRegular(path);
    const file = await Deno.open(path, {
      read: true,
      write: true,
      create: true,
    });
    try {
      const info = await file.stat();
      if (!info.isFile) throw new Error(`${path} is not a regular file`);
      if (info.size !== options.size) await file.truncate(options.size);
      return new PartFile(file, options);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** Writes `data` at `offset` (synchronous: measured much faster here). */
  write(offset: number, data: Uint8Array): void {
    this.#file.seekSync(offset, Deno.SeekMode.Start);
    let done = 0;
    while (done < data.length) {
      done += this.#file.writeSync(data.subarray(done));
    }
  }

  /** Reads `length` bytes at `offset`; fewer only at end of file. */
  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.#file.seekSync(offset, Deno.SeekMode.Start);
    let done = 0;
    while (done < length) {
      const got = this.#file.readSync(out.subarray(done));
      if (got === null || got === 0) break;
      done += got;
    }
    return out.subarray(0, done);
  }

  /**
   * Makes the download durable and visible: flush the data, give it the
   * first free name among `NAME`, `NAME (1)`, …, remove the `.part` and
   * flush the folder. Resolves to the final path.
   */
  async commit(): Promise<string> {
    await this.#file.sync();
    this.close();
    for (let n = 0; n < MAX_NAME_ATTEMPTS; n++) {
      const target = join(
        this.dir,
        n === 0 ? this.name : numberedName(this.name, n),
      );
      try {
        // A hard link never replaces an existing file, unlike rename.
        await Deno.link(this.partPath, target);
      } catch (error) {
        if (error instanceof Deno.errors.AlreadyExists) continue;
        throw error;
      }
      await Deno.remove(this.partPath);
      await syncFolder(this.dir);
      return target;
    }
    throw new Error(`No free name for ${this.name} in ${this.dir}`);
  }

  /** Closes the file, keeping the `.part` on disk for a later resume. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }
}

async function refuseNonRegular(path: string): Promise<void> {
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile) {
      throw new Error(`${path} exists and is not a regular file`);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
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
