/**
 * What a peer node does about shared files that change: checks its idle
 * single files now and then (a read checks them too, and a read is what
 * finds a folder's changed file), and gives up one that changed, telling
 * its owner, in the background. A file only touched, or a folder whose
 * changed files were only touched (`_touched_file.ts`), is hashed again
 * first and shared on if its bytes are the same.
 *
 * @module
 */

import type { FileMeta } from "../protocol/messages.ts";
import { FolderSource } from "../storage/folder_source.ts";
import type { PartialFile } from "../storage/partial_file.ts";
import { SharedFile } from "../storage/shared_file.ts";
import { reopenFolderIfUnchanged, reopenIfUnchanged } from "./_touched_file.ts";

/** What {@linkcode ChangedFiles} works on: the node's files and its ways. */
export interface ChangedFilesHost {
  /** The node's files being served, by ID. */
  readonly files: Map<string, SharedFile | PartialFile | FolderSource>;
  /** True once the node is closing. */
  closed(): boolean;
  /** Stops serving and unregisters `id`. */
  unshare(id: string): Promise<unknown>;
  /** The folders that registered file `id` on their own, by ID. */
  foldersOf(id: string): string[];
  /** Tells the node's owner a file is no longer shared, and why. */
  onDropped(meta: FileMeta, reason: string): void;
  /** Receives one line per notable event. */
  log(line: string): void;
}

/** See the module documentation. */
export class ChangedFiles {
  #host: ChangedFilesHost;
  /** Files touched, being hashed again. */
  #rechecking = new Set<string>();
  #tasks = new Set<Promise<void>>();

  /** Watches the files of `host`. */
  constructor(host: ChangedFilesHost) {
    this.#host = host;
  }

  /** Checks every shared single file now; gives up those that changed. */
  check(): void {
    for (const file of this.#host.files.values()) {
      if (!(file instanceof SharedFile)) continue;
      try {
        file.check();
      } catch (error) {
        this.drop(file.meta.id, (error as Error).message);
      }
    }
  }

  /** Gives up `id` in the background: it changed or became unreadable. */
  drop(id: string, reason: string): void {
    if (this.#host.closed() || this.#rechecking.has(id)) return;
    const file = this.#host.files.get(id);
    const task = file instanceof SharedFile && file.touchedOnly()
      ? this.#recheck(file, () => reopenIfUnchanged(file), reason)
      : file instanceof FolderSource
      ? this.#recheck(file, () => reopenFolderIfUnchanged(file), reason)
      : this.#unshare(id, reason);
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  /** Resolves once every file being given up (or hashed again) is done. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#tasks]);
  }

  /**
   * Serves what `reopen` gives (`file` hashed again, its bytes the same) in
   * place of `file`, or gives `file` up for `reason` if it gives nothing.
   * Meanwhile `file` refuses the changed pieces, and reports of them wait.
   */
  async #recheck<T extends SharedFile | FolderSource>(
    file: T,
    reopen: () => Promise<T | undefined>,
    reason: string,
  ): Promise<void> {
    const { id, name } = file.meta;
    this.#rechecking.add(id);
    const fresh = await reopen().finally(() => this.#rechecking.delete(id));
    const { files } = this.#host;
    if (fresh && !this.#host.closed() && files.get(id) === file) {
      files.set(id, fresh);
      file.close();
      this.#host.log(`${name} was touched, its bytes unchanged: shared on.`);
      return;
    }
    fresh?.close();
    if (files.get(id) === file) await this.#unshare(id, reason);
  }

  async #unshare(id: string, reason: string): Promise<void> {
    // A folder's file registered on its own is not what was shared: its
    // folder is hashed again and given up (and the file with it).
    const folders = this.#host.foldersOf(id);
    if (folders.length > 0) {
      for (const folder of folders) {
        this.drop(folder, `${reason}; share the folder again`);
      }
      return;
    }
    const file = this.#host.files.get(id);
    if (file) {
      this.#host.log(`Stopped sharing ${file.meta.name}: ${reason}`);
      this.#host.onDropped(file.meta, reason);
    }
    await this.#host.unshare(id).catch((error) =>
      this.#host.log(`Could not unshare ${id.slice(0, 16)}: ${error}`)
    );
  }
}
