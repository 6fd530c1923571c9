/**
 * What the web page shows besides the session's own state: transfers that
 * ended (saved, shared, cancelled, failed: the page offers Resume for a get
 * that did not finish), files being received from the page, and notes to
 * tell the user.
 *
 * @module
 */

import type { SessionEvent } from "../app/session.ts";
import type { TransferKind } from "../app/transfers.ts";

/** Ended transfers kept for the page; older ones are forgotten. */
export const MAX_FINISHED = 50;

/** How a transfer ended. */
export type Outcome = "shared" | "saved" | "cancelled" | "failed";

/** What ended work did: a session's transfer, or a file sent from the page. */
export type WorkKind = TransferKind | "upload";

/** A transfer that ended, as the page lists it. */
export interface Finished {
  /** Its number while it ran. */
  number: number;
  /** What it did. */
  kind: WorkKind;
  /** File name (or short ID, for a get that never learned it). */
  name: string;
  /** File ID, when known. */
  id?: string;
  /** How it ended. */
  outcome: Outcome;
  /** Why it failed, for the user. */
  message?: string;
  /** Where a get saved the file, or the path a share serves. */
  path?: string;
  /**
   * A file cancelled while it was sent from a page: that page's tag for it
   * (as {@linkcode UploadStart.tag}), so that the sending page stops
   * sending it even when another page cancelled it.
   */
  tag?: string;
  /**
   * Whether a get can start again from where it stopped: only one that
   * saved some bytes (a get that downloaded nothing has nothing to resume).
   */
  resumable: boolean;
}

/** What a get was asked for, to start it again. */
export interface GetRequest {
  /** The ID or share link as typed. */
  ref: string;
  /** The folder it saves into. */
  outDir?: string;
}

/** What {@linkcode Activity.startUpload} is told of a file arriving. */
export interface UploadStart {
  /** Its name as dropped. */
  name: string;
  /** Bytes in all (0 when the browser did not say). */
  total: number;
  /**
   * The sending page's own tag for it, so that it knows its upload among
   * the state's and stops sending when it is cancelled. @default {none}
   */
  tag?: string;
}

/** A file arriving from the page; {@linkcode Upload.cancel} stops it. */
export class Upload {
  /** Its number, among the session's transfers' (cancel takes it). */
  readonly number: number;
  /** Its name as dropped. */
  readonly name: string;
  /** Bytes received so far. */
  done = 0;
  /** Bytes in all (0 when the browser did not say). */
  readonly total: number;
  /** The sending page's own tag for it, when it gave one. */
  readonly tag?: string;
  #controller = new AbortController();

  /** Creates it; {@linkcode Activity.startUpload} is the usual way. */
  constructor(number: number, file: UploadStart) {
    this.number = number;
    this.name = file.name;
    this.total = file.total;
    this.tag = file.tag;
  }

  /** Aborted by {@linkcode cancel}: whoever receives it stops. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Stops receiving it. */
  cancel(): void {
    this.#controller.abort(new DOMException("Cancelled.", "AbortError"));
  }
}

/** See the module documentation; {@linkcode record} is fed every session event. */
export class Activity {
  #finished: Finished[] = [];
  #gets = new Map<number, GetRequest>();
  #uploads = new Map<number, Upload>();
  #dropped = new Map<string, string>();

  /** Ended transfers, newest first. */
  finished(): readonly Finished[] {
    return this.#finished;
  }

  /** Files being received now. */
  uploads(): Upload[] {
    return [...this.#uploads.values()];
  }

  /** Notes what get `number` was asked for, so that it can be resumed. */
  rememberGet(number: number, request: GetRequest): void {
    this.#gets.set(number, request);
  }

  /** What ended get `number` was asked for, if it can be resumed. */
  resumable(number: number): GetRequest | undefined {
    const ended = this.#finished.find((f) => f.number === number);
    return ended?.resumable ? this.#gets.get(number) : undefined;
  }

  /**
   * Forgets ended get `number`, which resumes as another transfer: its item
   * (and Resume) gives way to the new one's. Returns what puts it back, for
   * a resume that could not start.
   */
  resumed(number: number): () => void {
    const before = this.#finished;
    const request = this.#gets.get(number);
    this.#finished = before.filter((f) => f.number !== number);
    this.#gets.delete(number);
    return () => {
      const ended = before.find((f) => f.number === number);
      if (!ended || request === undefined) return;
      this.#gets.set(number, request);
      this.#finished = [ended, ...this.#finished].slice(0, MAX_FINISHED);
    };
  }

  /**
   * Takes the ended transfers `numbers` off the list (the page's Clear):
   * a get cleared can no longer be resumed from the page. Numbers not on
   * the list are passed over (cleared already, from another page).
   */
  clear(numbers: readonly number[]): void {
    const cleared = new Set(numbers);
    this.#finished = this.#finished.filter((f) => !cleared.has(f.number));
    for (const number of cleared) this.#gets.delete(number);
  }

  /**
   * Starts tracking a file received from the page as work `number`; the
   * caller updates and ends it.
   */
  startUpload(number: number, file: UploadStart): Upload {
    const upload = new Upload(number, file);
    this.#uploads.set(number, upload);
    return upload;
  }

  /** Cancels the file being received as work `number`; false if none is. */
  cancelUpload(number: number): boolean {
    const upload = this.#uploads.get(number);
    upload?.cancel();
    return upload !== undefined;
  }

  /**
   * Stops tracking `upload`; one that was cancelled is listed among the
   * ended work as such (nothing of it was kept).
   */
  endUpload(upload: Upload): void {
    if (this.#uploads.get(upload.number) !== upload) return;
    this.#uploads.delete(upload.number);
    if (!upload.signal.aborted) return;
    this.#add({
      number: upload.number,
      kind: "upload",
      name: upload.name,
      outcome: "cancelled",
      resumable: false,
      ...(upload.tag === undefined ? {} : { tag: upload.tag }),
    });
  }

  /** Notes that file `id` is served from `path`, a copy dropped on the page this run. */
  keepDropped(id: string, path: string): void {
    this.#dropped.set(id, path);
  }

  /** The dropped copy file `id` is served from, forgotten; undefined if none. */
  takeDropped(id: string): string | undefined {
    const path = this.#dropped.get(id);
    this.#dropped.delete(id);
    return path;
  }

  /** Records how a transfer ended, from the session's event. */
  record(event: SessionEvent): void {
    const { transfer } = event;
    const base = {
      number: transfer.number,
      kind: transfer.kind,
      name: transfer.name,
      id: transfer.id,
    };
    switch (event.type) {
      case "shared":
        this.#add({
          ...base,
          name: event.meta.name,
          id: event.meta.id,
          outcome: "shared",
          resumable: false,
        });
        break;
      case "share-cancelled":
        this.#add({ ...base, outcome: "cancelled", resumable: false });
        break;
      case "saved":
        this.#gets.delete(transfer.number);
        this.#add({
          ...base,
          name: event.result.meta.name,
          id: event.result.meta.id,
          outcome: "saved",
          path: event.result.path,
          resumable: false,
        });
        break;
      case "get-cancelled":
        this.#add({
          ...base,
          outcome: "cancelled",
          resumable: downloadedSome(transfer),
        });
        break;
    }
  }

  /** Records a transfer that failed with `message`. */
  failed(
    transfer: {
      number: number;
      kind: TransferKind;
      name: string;
      id?: string;
      done?: number;
    },
    message: string,
  ): void {
    this.#add({
      number: transfer.number,
      kind: transfer.kind,
      name: transfer.name,
      id: transfer.id,
      outcome: "failed",
      message,
      resumable: resumableAfter(transfer),
    });
  }

  #add(finished: Finished): void {
    const all = [
      finished,
      ...this.#finished.filter((f) => f.number !== finished.number),
    ];
    this.#finished = all.slice(0, MAX_FINISHED);
    // A get that falls off the list can no longer be resumed from the page.
    for (const dropped of all.slice(MAX_FINISHED)) {
      this.#gets.delete(dropped.number);
    }
  }
}

/**
 * Whether a transfer that failed is offered Resume: a get that saved some
 * bytes.
 */
export function resumableAfter(
  transfer: { kind: WorkKind; done?: number },
): boolean {
  return transfer.kind === "get" && downloadedSome(transfer);
}

/** Whether a transfer has saved any bytes (so that Resume has a start). */
function downloadedSome(transfer: { done?: number }): boolean {
  return (transfer.done ?? 0) > 0;
}
