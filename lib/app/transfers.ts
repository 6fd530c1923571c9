/**
 * A session's running work: files being hashed for sharing and files
 * being downloaded, each with a number, progress, speed, whether it waits
 * for a sharer, and a way to cancel it, plus the bytes downloaded this
 * session.
 *
 * @module
 */

import type { DownloadProgress } from "../download/download.ts";
import { rateOver } from "../util/speed_meter.ts";
import { resumedBytes } from "./resume.ts";

/** How far back a transfer's speed looks. */
export const SPEED_WINDOW_MS = 3_000;

/** What a transfer does. */
export type TransferKind = "hash" | "get";

/** Options for {@linkcode Transfers.start}. */
export interface TransferStart {
  /** What it does. */
  kind: TransferKind;
  /** File name (escaped when printed). */
  name: string;
  /** File ID, when known (downloads). */
  id?: string;
  /** Ms a download waits for a sharer before it gives up. @default {unknown} */
  waitMs?: number;
}

/** A resumed `.part` being checked. */
export interface PartCheck {
  /** The `.part`, when the download said. */
  partPath?: string;
  /** Bytes of it checked so far. */
  done: number;
  /** Bytes to check in all. */
  total: number;
  /** Bytes checked a second, since the check started. */
  bytesPerSecond: number;
}

/** One progress report. */
export interface TransferUpdate {
  /** Bytes done. */
  done: number;
  /** Bytes in all. */
  total: number;
  /** Speed reported by the transfer itself; measured here otherwise. */
  bytesPerSecond?: number;
  /** Peers connected (downloads). */
  peers?: number;
  /** Of those, how many came other than straight, by way. */
  routes?: DownloadProgress["routes"];
  /** Of those, how many were found other than by a tracker, by where. */
  found?: DownloadProgress["found"];
  /** The file's name, when it becomes known. */
  name?: string;
  /** A folder's files saved so far and in all (shown after its name). */
  files?: { done: number; total: number };
  /** The file's ID, when it becomes known. */
  id?: string;
  /**
   * Whether it waits for a sharer: nobody shares the file yet (its size is
   * then unknown: `total` 0 says nothing), or every peer left. @default {false}
   */
  waiting?: boolean;
  /**
   * While waiting, whether no tracker could be reached (it is asked again
   * meanwhile). @default {false}
   */
  trackersDown?: boolean;
}

/** A piece of running work; `signal` aborts when it is cancelled. */
export class Transfer {
  /** Number shown in `status`, accepted by `cancel`. */
  readonly number: number;
  /** What it does. */
  readonly kind: TransferKind;
  /**
   * What `status` shows: the file's name, and for a folder being got the
   * files saved so far, e.g. `photos (2/5 files)`.
   */
  name: string;
  /** The file's or folder's own name (no count): what `cancel` takes. */
  fileName: string;
  /** File ID, once known. */
  id?: string;
  /** Bytes done. */
  done = 0;
  /** Bytes in all (0 until known). */
  total = 0;
  /** Recent speed in bytes per second. */
  bytesPerSecond = 0;
  /** Peers connected, for downloads. */
  peers?: number;
  /** Of those, how many came other than straight, by way. */
  routes?: DownloadProgress["routes"];
  /** Of those, how many were found other than by a tracker, by where. */
  found?: DownloadProgress["found"];
  /** Whether any progress was reported yet (the size is known). */
  started = false;
  /**
   * Whether a download waits for a sharer: nobody shares the file yet
   * (then not {@linkcode started}: its size is unknown), or every peer left.
   */
  waiting = false;
  /** While {@linkcode waiting}, whether it waits for a tracker to answer. */
  trackersDown = false;
  /** Ms a download waits for a sharer before it gives up, when known. */
  readonly waitMs?: number;
  /**
   * Of {@linkcode done}, the bytes an earlier run had already saved (a
   * resumed download): not downloaded now, so not in the session's total.
   */
  resumed = 0;
  /**
   * For a download, the `.part` it writes into, once the file is found: it
   * may be an earlier run's of another name, or `NAME (1).part` when
   * another file's `NAME.part` was there.
   */
  partPath?: string;
  /**
   * For a download, while it checks the `.part` an earlier get left (every
   * piece already there is hashed again before any peer is asked: seconds
   * for a large one), how far that check is.
   */
  checking?: PartCheck;
  #controller = new AbortController();
  #samples: { at: number; done: number }[] = [];
  #now: () => number;
  #startedAt: number;
  /** Since when it waits, while {@linkcode waiting}. */
  #waitingSince = 0;
  /** Resolved once the download tells what a resumed `.part` held. */
  #resumeChecked = Promise.withResolvers<number>();
  /** Whether {@linkcode resumed} is known (a report other than a wait came). */
  #reported = false;
  /** Resolved when the check of a resumed `.part` starts. */
  #checkStarted = Promise.withResolvers<PartCheck>();
  /** When that check started, once it did. */
  #checkingSince?: number;

  /** Creates a transfer; {@linkcode Transfers.start} is the usual way. */
  constructor(number: number, start: TransferStart, now: () => number) {
    this.number = number;
    this.kind = start.kind;
    this.name = start.name;
    this.fileName = start.name;
    this.id = start.id;
    this.waitMs = start.waitMs;
    this.#now = now;
    this.#startedAt = now();
    this.#samples.push({ at: this.#startedAt, done: 0 });
  }

  /**
   * While {@linkcode waiting}, the ms left before the download gives up
   * (when {@linkcode waitMs} is known); undefined otherwise.
   */
  get waitLeftMs(): number | undefined {
    if (!this.waiting || this.waitMs === undefined) return undefined;
    return Math.max(0, this.waitMs - (this.#now() - this.#waitingSince));
  }

  /** Bytes received from peers so far: {@linkcode done} less {@linkcode resumed}. */
  get fetched(): number {
    return Math.max(0, this.done - this.resumed);
  }

  /** Aborted by {@linkcode cancel}. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether {@linkcode cancel} was called. */
  get cancelled(): boolean {
    return this.#controller.signal.aborted;
  }

  /** Stops the transfer. */
  cancel(): void {
    this.#controller.abort(new DOMException("Cancelled.", "AbortError"));
  }

  /**
   * Resolves to {@linkcode resumed} once it is known: when the download's
   * first report that is not a wait came (0 for a get that starts afresh).
   * Never, for a download that ends before any such report.
   */
  get resumeChecked(): Promise<number> {
    return this.#resumeChecked.promise;
  }

  /**
   * Resolves when the download starts checking the `.part` an earlier get
   * left, with what it checks; never for a get that starts afresh.
   */
  get checkStarted(): Promise<PartCheck> {
    return this.#checkStarted.promise;
  }

  /**
   * Records a download's progress report. The first one that is not a
   * wait, before any peer is linked, holds what a resumed `.part` had:
   * bytes an earlier run saved ({@linkcode resumed}), when the download
   * says it resumed one ({@linkcode resumedBytes}).
   */
  updateFromDownload(progress: DownloadProgress): void {
    const resumed = this.#reported ? undefined : resumedBytes(progress);
    if (resumed !== undefined) {
      this.#reported = true;
      this.resumed = resumed;
    }
    if (progress.partPath !== undefined) this.partPath = progress.partPath;
    this.#noteChecking(progress);
    this.update({
      done: progress.received,
      total: progress.size,
      bytesPerSecond: progress.bytesPerSecond,
      peers: progress.peers,
      routes: progress.routes,
      found: progress.found,
      name: progress.name,
      files: progress.files,
      waiting: progress.waiting,
      trackersDown: progress.trackersDown,
    });
    // After the update: its name and size are this transfer's by then.
    if (resumed !== undefined) this.#resumeChecked.resolve(resumed);
  }

  /** Keeps {@linkcode checking} as the download's report says. */
  #noteChecking({ checking, partPath }: DownloadProgress): void {
    this.checking = undefined;
    if (!checking) return;
    const now = this.#now();
    this.#checkingSince ??= now;
    const bytesPerSecond = rateOver(checking.done, now - this.#checkingSince);
    this.checking = { ...checking, partPath, bytesPerSecond };
    this.#checkStarted.resolve(this.checking);
  }

  /** Records progress. */
  update(update: TransferUpdate): void {
    const waiting = update.waiting ?? false;
    if (waiting && !this.waiting) {
      // Before the file is found, it has waited since the get started.
      this.#waitingSince = this.started ? this.#now() : this.#startedAt;
    }
    this.waiting = waiting;
    this.trackersDown = waiting && (update.trackersDown ?? false);
    // Nobody shares it yet: nothing is known of it, not even its size
    // (the name reported is a stand-in for the ID this transfer has).
    if (waiting && !this.started && update.total === 0) return;
    this.started = true;
    this.done = update.done;
    this.total = update.total;
    if (update.peers !== undefined) this.peers = update.peers;
    if (update.routes !== undefined) this.routes = update.routes;
    if (update.found !== undefined) this.found = update.found;
    if (update.name !== undefined) this.fileName = update.name;
    if (update.name !== undefined || update.files !== undefined) {
      const { files } = update;
      this.name = files
        ? `${this.fileName} (${files.done}/${files.total} files)`
        : this.fileName;
    }
    if (update.id !== undefined) this.id = update.id;
    const at = this.#now();
    this.#samples.push({ at, done: update.done });
    while (
      this.#samples.length > 2 && at - this.#samples[0].at > SPEED_WINDOW_MS
    ) {
      this.#samples.shift();
    }
    const first = this.#samples[0];
    const measured = rateOver(update.done - first.done, at - first.at);
    this.bytesPerSecond = update.bytesPerSecond ?? measured;
  }
}

/** Every running transfer, and the session's download total. */
export class Transfers {
  #running = new Map<number, Transfer>();
  #next = 1;
  #downloaded = 0;
  #now: () => number;

  /** Creates an empty registry; `now` is the clock in ms. */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Registers new work and returns it. */
  start(start: TransferStart): Transfer {
    const transfer = new Transfer(this.#next++, start, this.#now);
    this.#running.set(transfer.number, transfer);
    return transfer;
  }

  /**
   * A number for work kept elsewhere (a file arriving on the web page), so
   * that one number never names two pieces of work.
   */
  reserveNumber(): number {
    return this.#next++;
  }

  /**
   * Forgets finished work; a download adds the bytes it received from
   * peers to the total.
   */
  finish(transfer: Transfer, downloaded = 0): void {
    if (this.#running.get(transfer.number) !== transfer) return;
    this.#running.delete(transfer.number);
    this.#downloaded += downloaded;
  }

  /** Running transfers, oldest first. */
  list(): Transfer[] {
    return [...this.#running.values()];
  }

  /** How many are running. */
  get size(): number {
    return this.#running.size;
  }

  /**
   * Bytes received from peers this session: by finished downloads (what
   * {@linkcode finish} was given), and by running ones so far.
   */
  get downloaded(): number {
    let running = 0;
    for (const transfer of this.#running.values()) {
      if (transfer.kind === "get") running += transfer.fetched;
    }
    return this.#downloaded + running;
  }

  /**
   * Finds transfers by `#N` or `N`, by a prefix of the file ID, or by the
   * exact file or folder name (a folder's with or without a trailing `/`,
   * never with the count of files `status` shows after it).
   */
  find(ref: string): Transfer[] {
    const number = /^#?(\d+)$/.exec(ref);
    if (number) {
      const found = this.#running.get(Number(number[1]));
      if (found) return [found];
    }
    const lower = ref.toLowerCase();
    // `photos/`, as a folder is typed when completing its path.
    const bare = ref.length > 1 ? ref.replace(/\/+$/, "") : ref;
    return this.list().filter((transfer) =>
      (lower.length >= 4 && transfer.id?.startsWith(lower)) ||
      transfer.fileName === ref || transfer.fileName === bare
    );
  }
}
