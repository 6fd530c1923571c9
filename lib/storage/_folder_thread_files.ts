/**
 * A folder download's large files written and hashed on a hashing thread,
 * as a single file's download is (`piece_store.ts`'s `ThreadStore`): the
 * thread writes each piece past the page cache and follows the file with
 * its SHA-256, so this thread is left the network and the piece hashes.
 *
 * The thread holds one file at a time: the lowest one pieces arrive for,
 * where the download's pieces are mostly asked for (nearly in folder
 * order). A piece of another file is written here meanwhile; once the
 * thread takes that file it reads such pieces back for the hash. When a
 * piece of a lower file arrives (the first pieces are picked at random),
 * the thread writes what it holds of its file and takes the lower one; the
 * file let go is taken again, lowest first, once the thread is free.
 *
 * The thread answers requests in the order they are sent: a file's last
 * pieces, its digest and the next file's open go out one after another
 * without waiting, and each answer is handled for the file it was about.
 *
 * @module
 */

import type { HashThread, StoreAnswer } from "./hash_thread.ts";
import type { FolderPart } from "./folder_part.ts";
import { MAX_STORE_BACKLOG, STORE_BATCH_PIECES } from "./piece_store.ts";

/** Options for {@linkcode ThreadFiles}. */
export interface ThreadFilesOptions {
  /** The thread that writes and hashes. */
  thread: HashThread;
  /** The download's `.part` folder. */
  part: FolderPart;
  /** Called once a piece (folder index) is on disk. */
  onStored: (index: number) => void;
  /** Receives each piece buffer back once it is written. */
  release: (data: Uint8Array) => void;
  /** Called once if a write fails; nothing more is stored after it. */
  onError: (error: unknown) => void;
  /** Called with file `file`'s SHA-256 (hex) once its every piece is hashed. */
  onDigest: (file: number, hex: string) => void;
}

/** The file the thread holds now. */
interface OnThread {
  file: number;
  /** Its first folder piece. */
  first: number;
  /** Its pieces (in the file) handed over, sent or not. */
  locals: number[];
  /** Pieces gathered to be sent in one request. */
  batch: number[];
  data: Uint8Array[];
  /** Pieces already on disk, to be counted by the thread's hash. */
  present: number[];
}

/** Writes and hashes large files on a {@linkcode HashThread}, one at a time. */
export class ThreadFiles {
  #options: ThreadFilesOptions;
  #current?: OnThread;
  /** Files not on the thread, and their pieces on disk. */
  #waiting = new Map<number, number[]>();
  /** Pieces sent to the thread and not answered yet. */
  #backlog = 0;
  #drained: (() => void)[] = [];
  /** Every request not answered yet. */
  #inFlight = new Set<Promise<void>>();
  /** 1 for each folder piece reported stored. */
  #reported: Uint8Array;
  #failed = false;
  #closed = false;

  /** Large files of `options.part`, written and hashed on `options.thread`. */
  constructor(options: ThreadFilesOptions) {
    this.#options = options;
    this.#reported = new Uint8Array(options.part.layout.pieces);
  }

  /** True while more pieces wait for the thread than should. */
  get behind(): boolean {
    return this.#backlog >= MAX_STORE_BACKLOG;
  }

  /** Resolves once no longer {@linkcode behind}. */
  caughtUp(): Promise<void> {
    if (!this.behind || this.#failed) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /**
   * Stores piece `local` of file `file` (on disk already without `data`);
   * the piece is owned from now on.
   */
  add(file: number, local: number, data?: Uint8Array): void {
    if (this.#failed || this.#closed) {
      if (data) this.#options.release(data);
      return;
    }
    if (this.#current && file < this.#current.file) this.#letGo();
    if (!this.#current) this.#take(Math.min(file, this.#lowestWaiting()));
    const current = this.#current;
    if (current?.file === file) return this.#give(current, local, data);
    // Not the thread's file now: written here, hashed once it is.
    const { part } = this.#options;
    const index = part.layout.files[file].firstPiece + local;
    if (data) {
      try {
        part.write(index * part.layout.pieceSize, data);
      } catch (error) {
        return this.#fail(error);
      } finally {
        this.#options.release(data);
      }
    }
    const waiting = this.#waiting.get(file) ?? [];
    waiting.push(local);
    this.#waiting.set(file, waiting);
    this.#report(index);
  }

  /** Resolves once every piece handed over is written (or held to be). */
  async flushed(): Promise<void> {
    if (this.#current) this.#send(this.#current);
    await this.#settled();
  }

  /** Resolves once every file whose pieces are all handed over is hashed. */
  async settled(): Promise<void> {
    await this.#settled();
  }

  /**
   * Stops: resolves once the pieces handed over are written (a resumed
   * download need not fetch them again); nothing more is written after.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#current && !this.#failed) this.#letGo();
    this.#closed = true;
    await this.#settled();
    for (const wake of this.#drained.splice(0)) wake();
  }

  /** Hands the thread file `file`, with its pieces on disk. */
  #take(file: number): void {
    const { part, thread } = this.#options;
    const laid = part.layout.files[file];
    const present = this.#waiting.get(file) ?? [];
    this.#waiting.delete(file);
    let where: { path: string; dev: number; ino: number | null };
    try {
      where = part.whereIs(file);
    } catch (error) {
      return this.#fail(error);
    }
    part.writtenElsewhere(file);
    this.#track(thread.openPart({
      ...where,
      pieceSize: part.layout.pieceSize,
      size: laid.size,
    }));
    const current: OnThread = {
      file,
      first: laid.firstPiece,
      locals: [...present],
      batch: [],
      data: [],
      present,
    };
    this.#current = current;
    this.#send(current);
    this.#finishIfComplete(current);
  }

  /** Gives piece `local` of the thread's file to the thread. */
  #give(current: OnThread, local: number, data?: Uint8Array): void {
    current.locals.push(local);
    if (data) {
      current.batch.push(local);
      current.data.push(data);
    } else {
      current.present.push(local);
    }
    // Batches while the thread is busy; at once while it is idle, so that
    // no verified piece waits unwritten (and unserved) for the next ones.
    if (current.batch.length >= STORE_BATCH_PIECES || this.#backlog === 0) {
      this.#send(current);
    }
    this.#finishIfComplete(current);
  }

  /** Sends the pieces gathered for `current` to the thread. */
  #send(current: OnThread): void {
    const { thread } = this.#options;
    if (current.present.length > 0) {
      const present = current.present;
      current.present = [];
      this.#track(
        thread.present(present).then((answer) => {
          this.#took(current, answer);
        }),
      );
    }
    if (current.batch.length === 0) return;
    const locals = current.batch;
    const data = current.data;
    current.batch = [];
    current.data = [];
    this.#backlog += locals.length;
    this.#track(
      thread.store(locals, data).then((answer) => this.#took(current, answer))
        .finally(() => {
          this.#backlog -= locals.length;
          const next = this.#current;
          if (this.#backlog === 0 && next && !this.#closed) this.#send(next);
          if (this.behind) return;
          for (const wake of this.#drained.splice(0)) wake();
        }),
    );
  }

  /** Once the thread's file has every piece: its digest, and it goes. */
  #finishIfComplete(current: OnThread): void {
    const { files } = this.#options.part.layout;
    if (current.locals.length < files[current.file].pieces) return;
    this.#send(current);
    this.#current = undefined;
    this.#track(
      this.#options.thread.digestHex().then((hex) => {
        // Every piece is on disk once the thread has hashed the file.
        for (const local of current.locals) this.#report(current.first + local);
        if (!this.#closed && !this.#failed) {
          this.#options.onDigest(current.file, hex);
        }
      }),
    );
    // A file left waiting may have all its pieces: none is left behind.
    const next = this.#lowestWaiting();
    if (Number.isFinite(next)) this.#take(next);
  }

  /** The lowest file waiting for the thread (Infinity: none). */
  #lowestWaiting(): number {
    let lowest = Infinity;
    for (const file of this.#waiting.keys()) lowest = Math.min(lowest, file);
    return lowest;
  }

  /** Has the thread write all it holds of its file, and lets the file go. */
  #letGo(): void {
    const current = this.#current!;
    this.#current = undefined;
    this.#send(current);
    this.#track(
      this.#options.thread.flush().then((answer) => {
        this.#took(current, answer);
      }),
    );
    const later = this.#waiting.get(current.file) ?? [];
    this.#waiting.set(current.file, [...current.locals, ...later]);
  }

  /** Takes back the buffers the thread is done with; tells what is on disk. */
  #took(current: OnThread, { buffers, written }: StoreAnswer): void {
    for (const buffer of buffers) this.#options.release(buffer);
    for (const local of written) this.#report(current.first + local);
  }

  /** Keeps `work` until it settles; its failure stops everything. */
  #track(work: Promise<void>): void {
    const tracked = work.catch((error) => this.#fail(error)).finally(() => {
      this.#inFlight.delete(tracked);
    });
    this.#inFlight.add(tracked);
  }

  async #settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  #report(index: number): void {
    if (this.#reported[index] || this.#closed) return;
    this.#reported[index] = 1;
    this.#options.onStored(index);
  }

  #fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    if (!this.#closed) this.#options.onError(error);
    for (const wake of this.#drained.splice(0)) wake();
  }
}
