/**
 * Flushing a folder download's files to disk as each one completes, in the
 * background and a few at once, rather than every file at the end: a
 * folder of many small files would otherwise wait for thousands of
 * flushes before its rename. Each handle is closed once its file is
 * flushed.
 *
 * @module
 */

/**
 * Files flushed at once: one by one, each flush would wait for the one
 * before; a few at once keep the disk's queue full.
 */
export const SYNC_FILES_AT_ONCE = 16;

/** Flushes files handed to it, {@linkcode SYNC_FILES_AT_ONCE} at a time. */
export class FileSyncs {
  #queue: Deno.FsFile[] = [];
  #head = 0;
  #running = new Set<Deno.FsFile>();
  #waiters: { below: number; wake: () => void }[] = [];
  #failure: unknown;
  #failed = false;
  #closed = false;

  /** Files handed over and not flushed yet. */
  get backlog(): number {
    return this.#queue.length - this.#head + this.#running.size;
  }

  /** Flushes `file` (then closes it); the caller must not use it again. */
  add(file: Deno.FsFile): void {
    if (this.#closed) {
      file.close();
      return;
    }
    this.#queue.push(file);
    this.#pump();
  }

  /** Resolves once fewer than `below` files wait to be flushed. */
  whenBelow(below: number): Promise<void> {
    if (this.backlog < below) return Promise.resolve();
    return new Promise((wake) => this.#waiters.push({ below, wake }));
  }

  /** Resolves once every file handed over is flushed; rejects if one failed. */
  async drain(): Promise<void> {
    await this.whenBelow(1);
    if (this.#failed) throw this.#failure;
  }

  /** Closes every file not flushed yet; nothing more is flushed. */
  close(): void {
    this.#closed = true;
    for (const file of this.#queue.slice(this.#head)) file.close();
    for (const file of this.#running) closeQuietly(file);
    this.#queue = [];
    this.#head = 0;
    this.#running.clear();
    this.#wake();
  }

  #pump(): void {
    while (
      !this.#closed && this.#running.size < SYNC_FILES_AT_ONCE &&
      this.#head < this.#queue.length
    ) {
      const file = this.#queue[this.#head++];
      this.#running.add(file);
      // One handler each way (no chained promises): thousands of small
      // files each pass through here.
      file.syncData().then(
        () => this.#synced(file),
        (error) => {
          if (!this.#closed && !this.#failed) {
            this.#failed = true;
            this.#failure = error;
          }
          this.#synced(file);
        },
      );
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
  }

  /** `file`'s flush ended: it is closed and the next one starts. */
  #synced(file: Deno.FsFile): void {
    if (!this.#running.delete(file)) return;
    closeQuietly(file);
    this.#pump();
    this.#wake();
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const backlog = this.backlog;
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiting) {
      if (backlog < waiter.below || this.#closed) waiter.wake();
      else this.#waiters.push(waiter);
    }
  }
}

function closeQuietly(file: Deno.FsFile): void {
  try {
    file.close();
  } catch {
    // Already closed.
  }
}
