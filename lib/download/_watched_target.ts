/**
 * A download target that knows where its `.part` (file or folder) is and
 * keeps an eye on it: a disk error then says whether the partial download
 * is kept (only when it is there) or was removed, and a `.part` removed
 * while downloading stops the download within PART_CHECK_MS rather than
 * letting it write on into deleted files. The target names its `.part`
 * (an earlier run's may have another name); when it cannot be opened, the
 * `.part` is found by its resume record, which names the file's ID.
 *
 * @module
 */

import { join } from "node:path";
import type { FileMeta } from "../protocol/messages.ts";
import { folderLayoutOf } from "../protocol/folder_layout.ts";
import type { BufferPool } from "../util/buffer_pool.ts";
import {
  MAX_PART_BASE_BYTES,
  MAX_RECORD_BYTES,
  PART_SUFFIX,
  RECORD_SUFFIX,
} from "../storage/part_file.ts";
import { numberedFolderName } from "../storage/folder_part.ts";
import { MAX_NAME_ATTEMPTS } from "../storage/free_name.ts";
import { numberedName, truncateUtf8 } from "../storage/safe_name.ts";
import type { PieceStore } from "../storage/piece_store.ts";
import {
  DiskError,
  diskError,
  PartFailure,
  type PartPlace,
} from "./_download_error.ts";
import {
  openTarget as openBareTarget,
  type PartTarget,
} from "./_file_target.ts";
import { type OpenPartOptions, savedName } from "./_save.ts";
import type {
  CheckOptions,
  DownloadTarget,
  FinishHooks,
  StoreHooks,
} from "./_target.ts";

/** Ms between two checks that the `.part` is still there. */
export const PART_CHECK_MS = 2_000;

/**
 * Opens the target a download of `meta` writes into (`openTarget` of
 * `_file_target.ts`), watched. A disk error while opening says whether an
 * earlier run's `.part` is kept.
 */
export async function openTarget(
  meta: FileMeta,
  options: OpenPartOptions,
): Promise<DownloadTarget> {
  const name = savedName(meta, options.saveAs);
  let target: PartTarget;
  try {
    target = await openBareTarget(meta, options);
  } catch (error) {
    if (!(error instanceof DiskError)) throw error;
    const path = await findPart(options.outDir, name, meta).catch(() =>
      undefined
    );
    const kept = path !== undefined && await exists(path);
    const place = { path, kept, opening: true, fileName: name };
    throw diskError(error.dir, error, place);
  }
  // Its own `.part`, wherever it is: an earlier run's under another name
  // is resumed where it is.
  return new WatchedTarget(target, target.partPath);
}

/**
 * The path of the `.part` of `meta` saved as `name` in `dir`: the first of
 * `NAME.part`, `NAME (1).part`, … whose record names this file (or
 * folder), as the storage opens them. `undefined` when none does.
 */
export async function findPart(
  dir: string,
  name: string,
  meta: FileMeta,
): Promise<string | undefined> {
  const folder = folderLayoutOf(meta) !== undefined;
  const base = truncateUtf8(name, MAX_PART_BASE_BYTES);
  for (let n = 0; n < MAX_NAME_ATTEMPTS; n++) {
    const partName = n === 0
      ? base
      : folder
      ? numberedFolderName(base, n, MAX_PART_BASE_BYTES)
      : numberedName(base, n, MAX_PART_BASE_BYTES);
    const path = join(dir, partName + PART_SUFFIX);
    const record = await readRecord(path + RECORD_SUFFIX);
    if (
      record && record.id === meta.id && (record.kind === "folder") === folder
    ) {
      return path;
    }
    // The storage takes the first name nothing holds: none past it.
    if (record === undefined && !await exists(path)) return undefined;
  }
  return undefined;
}

/** The record at `path` as JSON; `null` if it is no record; `undefined` if absent. */
async function readRecord(
  path: string,
): Promise<{ id?: unknown; kind?: unknown } | null | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch {
    return undefined;
  }
  if (!info.isFile || info.size > MAX_RECORD_BYTES) return null;
  try {
    const value = JSON.parse(await Deno.readTextFile(path));
    return typeof value === "object" ? value : null;
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

function existsSync(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A target whose `.part` at `path` is checked while the download runs. */
class WatchedTarget implements DownloadTarget {
  #target: DownloadTarget;
  #path: string;
  #timer?: ReturnType<typeof setInterval>;
  #onError?: (error: unknown) => void;
  readonly files?: () => { done: number; total: number };

  constructor(target: DownloadTarget, path: string) {
    this.#target = target;
    this.#path = path;
    if (target.files) this.files = () => target.files!();
  }

  get dir(): string {
    return this.#target.dir;
  }

  get name(): string {
    return this.#target.name;
  }

  get resumed(): boolean {
    return this.#target.resumed;
  }

  get partPath(): string {
    return this.#path;
  }

  readPiece(index: number, into?: Uint8Array): Uint8Array {
    return this.#target.readPiece(index, into);
  }

  openStore(hooks: StoreHooks, pool: BufferPool): PieceStore {
    const onError = (error: unknown) =>
      hooks.onError(new PartFailure(error, this.#place()));
    this.#onError = onError;
    this.#timer = setInterval(() => this.#check(), PART_CHECK_MS);
    return this.#target.openStore({ ...hooks, onError }, pool);
  }

  checkExisting(pool: BufferPool, options?: CheckOptions): Promise<number[]> {
    return this.#target.checkExisting(pool, options);
  }

  async finish(hooks: FinishHooks): Promise<string> {
    // The `.part` goes away under its final name from here on.
    this.#stopChecking();
    try {
      return await this.#target.finish(hooks);
    } catch (error) {
      if (!(error instanceof DiskError) || error.cause instanceof PartFailure) {
        throw error;
      }
      throw diskError(error.dir, error, this.#place());
    }
  }

  stopHashing(): void {
    this.#target.stopHashing();
  }

  close(): void {
    this.#stopChecking();
    this.#target.close();
  }

  #place(): PartPlace {
    const kept = existsSync(this.#path);
    return { path: this.#path, kept, fileName: this.name };
  }

  /** Stops the download once the `.part` is gone (removed by hand). */
  async #check(): Promise<void> {
    if (await exists(this.#path) || this.#timer === undefined) return;
    this.#stopChecking();
    this.#onError?.(
      new Deno.errors.NotFound(`${this.#path} was removed while downloading`),
    );
  }

  #stopChecking(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
