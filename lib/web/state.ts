/**
 * The JSON the page is sent: the session's state (shared files, running
 * transfers, totals, reachability) with what {@linkcode Activity} keeps, in
 * the shape docs/WEB_UI.md gives. The page shows names as text, never as
 * markup; and every name, path and text from a peer or the tracker is sent
 * made safe with {@linkcode terminalSafe}, as the command line prints it,
 * so that a bidi control (U+202E) cannot make "\u202etxt.exe" look like
 * "exe.txt". Values used as identifiers stay raw: IDs, share links, and
 * `outDir` (the page sends it back as the folder to save into).
 *
 * @module
 */

import { formatAddress } from "../net/connection.ts";
import type { Session } from "../app/session.ts";
import type { Transfer } from "../app/transfers.ts";
import { folderLayoutOf } from "../protocol/folder_layout.ts";
import type { FileMeta, FileSummary } from "../protocol/messages.ts";
import { MIN_ID_PREFIX } from "../protocol/limits.ts";
import { distinctPrefixes } from "../util/distinct_prefixes.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import type { Activity, Finished } from "./activity.ts";

/** A shared file, as the page lists it. */
export interface SharedView {
  /** Full file ID. */
  id: string;
  /** The ID as shown: {@linkcode FileRow.shortId}, among the files shared. */
  shortId: string;
  /** File or folder name. */
  name: string;
  /** Bytes (of all its files, for a folder). */
  size: number;
  /** Files in a folder; null for a single file. */
  files: number | null;
  /** Whether only holders of its link can get it. */
  private: boolean;
  /** What to pass on; null once it is no longer shared. */
  link: string | null;
  /** Piece bytes sent of it this session. */
  uploaded: number;
  /** Downloaders being sent it now. */
  downloaders: number;
}

/** A running transfer, as the page shows it. */
export interface TransferView {
  /** Its number (cancel takes it). */
  number: number;
  /** Hashing for a share, or a get. */
  kind: Transfer["kind"];
  /** File name. */
  name: string;
  /** File ID, once known. */
  id: string | null;
  /** Bytes done. */
  done: number;
  /** Bytes in all. */
  total: number;
  /** Recent speed. */
  bytesPerSecond: number;
  /** Peers connected (gets). */
  peers: number | null;
  /** Of those, how many came other than straight, by way (gets). */
  routes: Transfer["routes"] | null;
  /** Of those, how many were found other than by a tracker, by where (gets). */
  found: Transfer["found"] | null;
  /** Whether progress was reported yet (the size is known). */
  started: boolean;
  /**
   * Whether a get waits for a sharer: nobody shares the file yet (then not
   * `started`: its size is unknown), or every peer left.
   */
  waiting: boolean;
  /** While `waiting`, the ms left before the get gives up; else null. */
  waitLeftMs: number | null;
  /** While `waiting`, whether no tracker can be reached (asked again). */
  trackersDown: boolean;
  /**
   * Of `done`, the bytes an earlier get had saved, when this get resumed
   * the `.part` it left (checked against the piece hashes first); 0 for a
   * get that started afresh, or before that is known.
   */
  resumed: number;
  /**
   * While that `.part` is checked, before any peer is asked: its bytes
   * checked so far and in all; else null.
   */
  checking: { done: number; total: number } | null;
}

/** A file being sent from the page, as the page shows it. */
export interface UploadView {
  /** Its number (cancel takes it). */
  number: number;
  /** Its name as dropped. */
  name: string;
  /** Bytes received so far. */
  done: number;
  /** Bytes in all (0 when the browser did not say). */
  total: number;
  /** The sending page's own tag for it; null when it gave none. */
  tag: string | null;
}

/**
 * An ended transfer, as the page lists it: a share that is no longer
 * shared (Stop sharing, or the file changed or vanished) is `unshared`.
 */
export type FinishedView = Omit<Finished, "outcome"> & {
  outcome: Finished["outcome"] | "unshared";
};

/** A file of a tracker's answer, as the page lists it. */
export interface FileRow {
  /** Full file ID. */
  id: string;
  /**
   * The ID as shown: its first 16 characters, or as many more as tell it
   * apart from the other files of the answer (a look-alike someone
   * registered), as `peer list` shows it.
   */
  shortId: string;
  /** File or folder name. */
  name: string;
  /** Bytes. */
  size: number;
  /** Files in a folder; null for a single file. */
  files: number | null;
  /** Peers holding it, whole or in part. */
  peers: number;
  /** Of those, how many are still getting it. */
  partial: number;
}

/** Whether others can reach this peer, once known. */
export interface ReachabilityView {
  /** Whether peers elsewhere can connect to it. */
  reachable: boolean;
  /** The address the tracker sees it at. */
  observed: string;
  /** The port its router forwards, as `host:port`, when one does. */
  mapped: string | null;
}

/** Everything the page shows; see docs/WEB_UI.md. */
export interface WebState {
  /** Where the peer serves. */
  address: string;
  /** Its tracker. */
  tracker: string;
  /** Whether the tracker answered the last check; null before the first. */
  trackerReachable: boolean | null;
  /** Own reachability, once the tracker told. */
  reachability: ReachabilityView | null;
  /** Where gets save unless told. */
  outDir: string;
  /** Files shared. */
  shared: SharedView[];
  /** Running transfers, oldest first. */
  transfers: TransferView[];
  /** Files being received from the page. */
  uploads: UploadView[];
  /** Ended transfers, newest first. */
  finished: readonly FinishedView[];
  /** Piece bytes uploaded this session. */
  uploaded: number;
  /** Bytes downloaded this session. */
  downloaded: number;
}

/** What the state is built from. */
export interface StateSources {
  /** The session the page drives. */
  session: Session;
  /** What the page keeps besides. */
  activity: Activity;
  /** Tracker address as shown. */
  tracker: string;
  /** Whether the tracker answered the last check; null before the first. */
  trackerReachable: boolean | null;
  /** Where gets save unless told, absolute. */
  outDir: string;
}

/** The state the page is sent now. */
export function webState(sources: StateSources): WebState {
  const { session, activity } = sources;
  const status = session.status();
  const sharedIds = shortIds(status.shared.map((entry) => entry.meta));
  return {
    address: terminalSafe(formatAddress(status.address)),
    tracker: terminalSafe(sources.tracker),
    trackerReachable: sources.trackerReachable,
    reachability: reachabilityView(session),
    outDir: sources.outDir,
    shared: status.shared.map((entry, i) => ({
      id: entry.meta.id,
      shortId: sharedIds[i],
      name: terminalSafe(entry.meta.name),
      size: entry.meta.size,
      files: filesIn(entry.meta),
      private: entry.private,
      link: linkOf(session, entry.meta.id),
      uploaded: entry.uploaded,
      downloaders: entry.downloaders,
    })),
    transfers: status.transfers.map(transferView),
    uploads: activity.uploads().map((upload) => ({
      number: upload.number,
      name: terminalSafe(upload.name),
      done: upload.done,
      total: upload.total,
      tag: upload.tag ?? null,
    })),
    finished: activity.finished().map((finished) =>
      finishedView(
        finished,
        status.shared.some((entry) => entry.meta.id === finished.id),
      )
    ),
    uploaded: status.uploaded,
    downloaded: status.downloaded,
  };
}

/** A tracker's answer as page rows. */
export function fileRows(files: readonly FileSummary[]): FileRow[] {
  const shown = shortIds(files);
  return files.map((file, i) => ({
    id: file.id,
    shortId: shown[i],
    name: terminalSafe(file.name),
    size: file.size,
    files: file.files ?? null,
    peers: file.peers,
    partial: Math.min(file.partial ?? 0, file.peers),
  }));
}

/**
 * The IDs of `files` as shown: each its first {@linkcode MIN_ID_PREFIX}
 * characters, or as many more as tell it apart from the others.
 */
function shortIds(files: readonly { id: string }[]): string[] {
  return distinctPrefixes(files.map((file) => file.id), MIN_ID_PREFIX);
}

function transferView(transfer: Transfer): TransferView {
  const getting = transfer.kind === "get";
  const check = transfer.checking;
  return {
    number: transfer.number,
    kind: transfer.kind,
    name: terminalSafe(transfer.name),
    id: transfer.id ?? null,
    done: transfer.done,
    total: transfer.total,
    bytesPerSecond: transfer.bytesPerSecond,
    peers: getting ? transfer.peers ?? 0 : null,
    routes: getting ? transfer.routes ?? null : null,
    found: getting ? transfer.found ?? null : null,
    started: transfer.started,
    waiting: transfer.waiting,
    waitLeftMs: transfer.waitLeftMs ?? null,
    trackersDown: transfer.trackersDown,
    resumed: getting ? transfer.resumed : 0,
    checking: check ? { done: check.done, total: check.total } : null,
  };
}

/**
 * An ended transfer with its name, path and message made safe to show; a
 * share not `stillShared` is `unshared`.
 */
function finishedView(
  finished: Finished,
  stillShared: boolean,
): FinishedView {
  const stopped = finished.outcome === "shared" && !stillShared;
  return {
    ...finished,
    outcome: stopped ? "unshared" : finished.outcome,
    name: terminalSafe(finished.name),
    message: shownOrUndefined(finished.message),
    path: shownOrUndefined(finished.path),
  };
}

function shownOrUndefined(text: string | undefined): string | undefined {
  return text === undefined ? undefined : terminalSafe(text);
}

function reachabilityView(session: Session): ReachabilityView | null {
  const known = session.reachability;
  if (!known) return null;
  return {
    reachable: known.reachable || known.mapping !== undefined,
    observed: terminalSafe(known.observed.host),
    mapped: known.mapping
      ? terminalSafe(`${known.observed.host}:${known.mapping.external.port}`)
      : null,
  };
}

function filesIn(meta: FileMeta): number | null {
  return folderLayoutOf(meta)?.files.length ?? null;
}

function linkOf(session: Session, id: string): string | null {
  try {
    return session.link(id).link;
  } catch {
    return null;
  }
}
