/**
 * Where a download's verified pieces go: into the part file, and in file
 * order into the whole-file SHA-256 that is checked against the ID.
 *
 * A download of many pieces has a hashing thread do both
 * ({@linkcode ThreadStore}): writing into fresh page-cache pages is the
 * largest cost on the receiving side (measured on a 2-core VM: 1.6-1.7 s per
 * GiB for first-touched pages, more than a SHA-256 pass), and while that
 * thread writes and hashes, this one reads the network and verifies pieces.
 * A small download stays on this thread ({@linkcode InlineStore}).
 *
 * @module
 */

import { HashThread, type StoreAnswer } from "./hash_thread.ts";
import { OrderedHasher } from "./ordered_hasher.ts";
import type { PartFile } from "./part_file.ts";

/**
 * Pieces handed to the hashing thread and not answered yet, at most; past
 * it the getter stops reading until the thread catches up. The thread's
 * writes past the page cache stall now and then (here ~30 ms about every
 * 250 ms), and the main thread, the slowest stage (opening and checking
 * each piece), never makes up the time it waits: 16 pieces (4 MiB) ride
 * out most stalls. Each piece more is 256 KiB of the getter's memory.
 * Measured, 6 alternated gets each (session 27): with 8, 1 GiB from 1
 * sharer took 4.67 s (93.7 MiB peak), with 16 4.08 s (96.1 MiB), with 32
 * 3.91 s (99.8 MiB); from 4 sharers 4.82, 4.41 and 4.72 s (96.5, 98.5 and
 * 102.0 MiB), 32 also using more CPU.
 */
export const MAX_STORE_BACKLOG = 16;
/** Pieces handed to the hashing thread in one message (a message costs ~0.1 ms). */
export const STORE_BATCH_PIECES = 4;
/**
 * Ms the hashing thread may sit idle holding pieces it has not written
 * (pieces ahead of the whole-file hash wait for the ones before them, to
 * be written together) before it is asked to write them: then they can be
 * served to other peers.
 */
export const IDLE_WRITE_MS = 50;

/** Options for a {@linkcode PieceStore}. */
export interface PieceStoreOptions {
  /** The download's part file. */
  part: PartFile;
  /** Bytes per piece. */
  pieceSize: number;
  /** Bytes in the whole file. */
  size: number;
  /** Reads a stored piece back from the part file (for the inline store). */
  readBack: (index: number) => Uint8Array;
  /** Called once a piece is on disk and may be read back and served. */
  onStored: (index: number) => void;
  /** Receives each piece buffer back once it is written. */
  release: (data: Uint8Array) => void;
  /** Called once if a write fails; nothing more is handed over after it. */
  onError: (error: unknown) => void;
}

/** Writes verified pieces and follows them with the whole-file hash. */
export interface PieceStore {
  /**
   * Stores a verified piece: the store owns `data` from now on. Without
   * `data`, the piece is already in the part file (a resumed download).
   */
  add(index: number, data?: Uint8Array): void;
  /** True while more pieces wait to be written than should. */
  readonly behind: boolean;
  /** Resolves once the store is no longer {@linkcode behind}. */
  caughtUp(): Promise<void>;
  /**
   * Resolves once every piece handed over so far is written or taken in
   * hand to be written with the pieces before it (see `close`), or its
   * write has failed (and `onError` has been called).
   */
  flushed(): Promise<void>;
  /** The whole file's SHA-256 as hex, once every piece is stored. */
  digestHex(): Promise<string>;
  /**
   * Stops storing: resolves once the pieces already handed over are
   * written (so that a resumed download need not fetch them again); nothing
   * is written or read after that.
   */
  close(): Promise<void>;
}

/**
 * Whether the hashing thread may write the part file. It opens the file
 * again by path while the download holds it locked; on Windows that lock
 * shuts out every other handle, the thread's too, so there the download
 * writes and hashes on its own thread.
 */
export const THREAD_CAN_WRITE = Deno.build.os !== "windows";

/**
 * A store for a file of `count` pieces: on `thread` if given (from
 * `THREAD_MIN_PIECES` pieces where {@linkcode THREAD_CAN_WRITE}).
 */
export function openPieceStore(
  count: number,
  options: PieceStoreOptions,
  thread?: HashThread,
): PieceStore {
  return thread
    ? new ThreadStore(thread, options)
    : new InlineStore(count, options);
}

/** Writes and hashes on the caller's thread. */
export class InlineStore implements PieceStore {
  #options: PieceStoreOptions;
  #hasher: OrderedHasher;
  #failed = false;

  /** A store for a file of `count` pieces. */
  constructor(count: number, options: PieceStoreOptions) {
    this.#options = options;
    this.#hasher = new OrderedHasher(count, {
      readBack: options.readBack,
      release: options.release,
    });
  }

  /** Never: writes happen at once. */
  get behind(): boolean {
    return false;
  }

  add(index: number, data?: Uint8Array): void {
    if (this.#failed) {
      if (data) this.#options.release(data);
      return;
    }
    if (data) {
      try {
        this.#options.part.write(index * this.#options.pieceSize, data);
      } catch (error) {
        this.#failed = true;
        this.#options.release(data);
        this.#options.onError(error);
        return;
      }
    }
    this.#hasher.add(index, data);
    this.#options.onStored(index);
  }

  caughtUp(): Promise<void> {
    return Promise.resolve();
  }

  flushed(): Promise<void> {
    return Promise.resolve();
  }

  digestHex(): Promise<string> {
    return Promise.resolve().then(() => this.#hasher.digestHex());
  }

  close(): Promise<void> {
    this.#hasher.close();
    return Promise.resolve();
  }
}

/** Hands pieces to a {@linkcode HashThread}, which writes and hashes them. */
export class ThreadStore implements PieceStore {
  #thread: HashThread;
  #options: PieceStoreOptions;
  #batch: number[] = [];
  #data: Uint8Array[] = [];
  #present: number[] = [];
  #backlog = 0;
  /**
   * Pieces handed over and not written yet: a count, not a set of indexes
   * (a set growing and shrinking by a piece at a time reallocates its
   * table, garbage that lives long enough to fill the old generation).
   */
  #unwritten = 0;
  #idleTimer?: ReturnType<typeof setTimeout>;
  /** Requests that write (and the open): what `close()` waits for. */
  #writing = new Set<Promise<void>>();
  /** Every request not answered yet. */
  #inFlight = new Set<Promise<void>>();
  #drained: (() => void)[] = [];
  #failure: unknown;
  #closed = false;

  /** Opens the part file on `thread`. */
  constructor(thread: HashThread, options: PieceStoreOptions) {
    this.#thread = thread;
    this.#options = options;
    this.#track(
      thread.openPart({
        path: options.part.partPath,
        ...options.part.where(),
        pieceSize: options.pieceSize,
        size: options.size,
      }),
      true,
    );
  }

  get behind(): boolean {
    return this.#backlog >= MAX_STORE_BACKLOG;
  }

  add(index: number, data?: Uint8Array): void {
    if (this.#closed || this.#failure !== undefined) {
      if (data) this.#options.release(data);
      return;
    }
    if (!data) {
      this.#present.push(index);
      this.#options.onStored(index);
      return;
    }
    this.#batch.push(index);
    this.#data.push(data);
    // Batches while the thread is busy; at once while it is idle, so that
    // no verified piece waits unwritten (and unserved) for the next ones.
    if (this.#batch.length >= STORE_BATCH_PIECES || this.#backlog === 0) {
      this.#flush();
    }
  }

  caughtUp(): Promise<void> {
    if (!this.behind) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  async flushed(): Promise<void> {
    this.#flush();
    while (this.#writing.size > 0) await Promise.all(this.#writing);
  }

  async digestHex(): Promise<string> {
    this.#flush();
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
    if (this.#failure !== undefined) throw this.#failure;
    return await this.#thread.digestHex();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Pieces already on disk need no more hashing; pieces handed over are
    // written, those the thread holds too, so that a resumed download need
    // not fetch them again.
    this.#present = [];
    this.#flush();
    this.#writeHeld();
    clearTimeout(this.#idleTimer);
    this.#closed = true;
    while (this.#writing.size > 0) await Promise.all(this.#writing);
  }

  /** Has the thread write the pieces it holds ahead of the hash. */
  #writeHeld(): void {
    this.#track(
      this.#thread.flush().then((answer) => this.#took(answer)),
      true,
    );
  }

  /**
   * Once the thread has been idle for {@linkcode IDLE_WRITE_MS} with
   * pieces not written, has it write them.
   */
  #whenIdle(): void {
    if (this.#unwritten === 0 || this.#idleTimer !== undefined) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#closed || this.#failure !== undefined) return;
      if (this.#backlog === 0) this.#writeHeld();
      else this.#whenIdle();
    }, IDLE_WRITE_MS);
  }

  /** Takes back the buffers the thread is done with; tells what is on disk. */
  #took({ buffers, written }: StoreAnswer): void {
    for (const buffer of buffers) this.#options.release(buffer);
    this.#unwritten -= written.length;
    if (this.#closed) return;
    const { pieceSize, size } = this.#options;
    let bytes = 0;
    for (const index of written) {
      bytes += Math.min(pieceSize, size - index * pieceSize);
    }
    this.#options.part.noteWritten(bytes);
    for (const index of written) this.#options.onStored(index);
  }

  /** Hands the pieces gathered so far to the thread. */
  #flush(): void {
    if (this.#failure !== undefined) {
      for (const data of this.#data) this.#options.release(data);
      this.#batch = [];
      this.#data = [];
      return;
    }
    if (this.#present.length > 0) {
      const present = this.#present;
      this.#present = [];
      this.#track(
        this.#thread.present(present).then((answer) => this.#took(answer)),
        false,
      );
    }
    if (this.#batch.length === 0) return;
    const indexes = this.#batch;
    const data = this.#data;
    this.#batch = [];
    this.#data = [];
    this.#backlog += indexes.length;
    this.#unwritten += indexes.length;
    this.#track(
      this.#thread.store(indexes, data).then((answer) => this.#took(answer))
        .finally(() => {
          this.#backlog -= indexes.length;
          if (this.#backlog === 0 && !this.#closed) {
            this.#flush();
            this.#whenIdle();
          }
          if (this.behind) return;
          const drained = this.#drained;
          this.#drained = [];
          for (const wake of drained) wake();
        }),
      true,
    );
  }

  /**
   * Keeps `work` until it settles (among the writes if `writes`); its
   * failure stops the store: nothing more is handed to the thread.
   */
  #track(work: Promise<void>, writes: boolean): void {
    const tracked = work.catch((error) => {
      if (this.#failure !== undefined || this.#closed) return;
      this.#failure = error;
      this.#options.onError(error);
    }).finally(() => {
      this.#inFlight.delete(tracked);
      this.#writing.delete(tracked);
    });
    this.#inFlight.add(tracked);
    if (writes) this.#writing.add(tracked);
  }
}
