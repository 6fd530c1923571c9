/**
 * Sharing a folder (or several files as one): scanned and hashed as one ID
 * (`storage/folder_scan.ts`), served from the files where they are
 * (`storage/folder_source.ts`), registered with the tracker like a file,
 * and its largest files registered on their own too, so that a file in a
 * folder is the same swarm as that file shared alone.
 *
 * @module
 */

import type { FileMeta } from "../protocol/messages.ts";
import {
  scanFiles,
  scanFolder,
  type ScannedFile,
  type ScannedFolder,
  ShareRefusedError,
  type SkippedEntry,
} from "../storage/folder_scan.ts";
import { FolderSource } from "../storage/folder_source.ts";
import type { PieceSource } from "../storage/piece_source.ts";
import { SharedFile } from "../storage/shared_file.ts";
import {
  CHANGED_ADVICE,
  refuseUnfinished,
  ShareError,
} from "./_share_error.ts";
import { FileChangedError } from "../storage/file_hash.ts";
import { UsageError } from "./usage_error.ts";

export type { SkippedEntry } from "../storage/folder_scan.ts";

/**
 * Files of a shared folder registered on their own as well (the largest
 * ones): within one host's registration quota however large the folder.
 */
export const MAX_FOLDER_FILES_REGISTERED = 256;
/**
 * Smallest file of a folder registered on its own: those of one piece are
 * fetched from the folder's sharers, where one request brings them whole.
 */
export const MIN_FILE_REGISTERED_PIECES = 2;

/** Options for sharing a folder. */
export interface FolderShareOptions {
  /**
   * Share several files as one folder of this name (each at its top)
   * rather than one folder under its own name.
   */
  as?: string;
  /**
   * The folder's name in the share when not its own (a get saved it as
   * `NAME (1)`).
   */
  name?: string;
  /** Bytes per piece. @default {DEFAULT_PIECE_SIZE} */
  pieceSize?: number;
  /** Share privately (its files are then not registered on their own). */
  private?: boolean;
  /** Called with bytes hashed so far and in all. */
  onProgress?: (done: number, total: number) => void;
  /** Cancels the scan. */
  signal?: AbortSignal;
}

/** A folder shared: its metadata and what was left out of it. */
export interface SharedFolder {
  /** The folder's metadata (its manifest included). */
  meta: FileMeta;
  /** Entries not shared (symbolic links, devices, names no system takes). */
  skipped: SkippedEntry[];
}

/** What the peer node lends its folder shares. */
export interface FolderHost {
  /** What is served under `id` now, if anything. */
  get(id: string): PieceSource | undefined;
  /** Serves `source` under its ID. */
  serve(source: FolderSource | SharedFile): void;
  /** Stops serving `source` without unregistering it (it is replaced, or could not be registered). */
  forget(source: PieceSource & { close(): void }): void;
  /**
   * Registers `meta` with the tracker, publicly or privately; `unlisted`:
   * found by its ID only, not shown in `list` or `search`.
   */
  register(
    meta: FileMeta,
    isPrivate: boolean,
    unlisted?: boolean,
  ): Promise<void>;
  /** Stops serving `id` and unregisters it. */
  unshare(id: string): Promise<void>;
  /** Receives one line per notable event. */
  log(line: string): void;
}

/** The folders one peer node shares, and the files registered for them. */
export class FolderShares {
  #host: FolderHost;
  /** Each folder's files registered on their own, by folder ID. */
  #members = new Map<string, string[]>();

  /** Folders are shared through `host`. */
  constructor(host: FolderHost) {
    this.#host = host;
  }

  /** True if `id` is a file registered only as part of a shared folder. */
  isMember(id: string): boolean {
    return this.foldersOf(id).length > 0;
  }

  /** The folders that registered file `id` on its own, by ID. */
  foldersOf(id: string): string[] {
    return [...this.#members].filter(([, members]) => members.includes(id))
      .map(([folder]) => folder);
  }

  /**
   * Scans `paths` (one folder, or several files with `options.as`), serves
   * and registers the folder, then its largest files on their own (in the
   * background: a failure there is only logged). Sharing a folder already
   * shared resolves to it again.
   */
  async share(
    paths: string[],
    options: FolderShareOptions = {},
  ): Promise<SharedFolder> {
    const scanned = await scan(paths, options);
    const { meta, skipped } = scanned;
    const existing = this.#host.get(meta.id);
    if (existing) return { meta: existing.meta, skipped };
    const source = FolderSource.open(scanned);
    this.#host.serve(source);
    try {
      await this.#host.register(meta, options.private ?? false);
    } catch (error) {
      this.#host.forget(source);
      throw error;
    }
    if (!options.private) this.#registerMembers(meta.id, scanned.files);
    return { meta, skipped };
  }

  /**
   * Serves a downloaded folder in place of its partial pieces (`get
   * --seed`): scanned again (hashed), and served only if it still is the
   * folder `meta` describes.
   */
  async adopt(path: string, meta: FileMeta, isPrivate: boolean): Promise<void> {
    const before = this.#host.get(meta.id);
    if (before instanceof FolderSource) return;
    // The partial pieces' registration becomes the whole folder's.
    if (before) this.#host.forget(before as PieceSource & { close(): void });
    const shared = await this.share([path], {
      name: meta.name,
      pieceSize: meta.pieceSize,
      private: isPrivate,
    });
    if (shared.meta.id !== meta.id) {
      await this.#host.unshare(shared.meta.id);
      throw new ShareError(`${meta.name} changed after it was saved.`);
    }
  }

  /** Forgets folder `id`; returns the IDs of its files to unshare too. */
  release(id: string): string[] {
    const members = this.#members.get(id) ?? [];
    this.#members.delete(id);
    return members.filter((member) => !this.isMember(member));
  }

  #registerMembers(folderId: string, files: ScannedFile[]): void {
    const chosen = files
      .filter((file) =>
        file.meta.size > (MIN_FILE_REGISTERED_PIECES - 1) * file.meta.pieceSize
      )
      .sort((a, b) => b.meta.size - a.meta.size)
      .slice(0, MAX_FOLDER_FILES_REGISTERED);
    const members: string[] = [];
    this.#members.set(folderId, members);
    for (const file of chosen) {
      if (this.#host.get(file.meta.id)) continue;
      members.push(file.meta.id);
      this.#registerMember(folderId, file);
    }
  }

  async #registerMember(folderId: string, file: ScannedFile): Promise<void> {
    const { id } = file.meta;
    // The folder may be unshared (released) while this is under way.
    const wanted = () => this.#members.get(folderId)?.includes(id) ?? false;
    let shared: SharedFile | undefined;
    try {
      shared = await SharedFile.open(file.path, file.meta);
      if (!wanted()) return shared.close();
      this.#host.serve(shared);
      // Found by its ID; `list` shows the folder, not each file again.
      await this.#host.register(file.meta, false, true);
      if (!wanted() && !this.isMember(id)) await this.#host.unshare(id);
    } catch (error) {
      if (shared) this.#host.forget(shared);
      this.#host.log(
        `Could not register ${file.entryPath.join("/")} on its own: ${
          (error as Error).message ?? error
        }`,
      );
    }
  }
}

/** Scans what is to be shared, failures worded as a {@linkcode ShareError}. */
async function scan(
  paths: string[],
  options: FolderShareOptions,
): Promise<ScannedFolder> {
  const scanOptions = {
    pieceSize: options.pieceSize,
    ...(options.name === undefined ? {} : { name: options.name }),
    onProgress: options.onProgress,
    signal: options.signal,
  };
  for (const path of paths) await refuseUnfinished(path);
  try {
    return options.as === undefined
      ? await scanFolder(paths[0], scanOptions)
      : await scanFiles(paths, { ...scanOptions, name: options.as });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    // Already one sentence saying what to change in the command.
    if (error instanceof ShareRefusedError) {
      throw new UsageError(`${error.message}.`);
    }
    const what = options.as === undefined ? `"${paths[0]}"` : `"${options.as}"`;
    const reason = error instanceof FileChangedError
      ? `"${error.path}" changed while it was being hashed. ${CHANGED_ADVICE}`
      : `${(error as Error).message ?? error}`.replace(/[.\s]+$/, "");
    throw new ShareError(`Cannot share ${what}: ${reason}.`, { cause: error });
  }
}
