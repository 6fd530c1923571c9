/**
 * The shapes a `Session` deals in: its options, the events of its
 * background work, and what its questions answer; and its defaults, which
 * a `peer get` reads without loading the session.
 *
 * @module
 */

import type { TrackerTrouble } from "../discovery/tracker_trouble.ts";
import type { Address } from "../net/connection.ts";
import type { BandwidthLimiter } from "../util/bandwidth.ts";
import type { DownloadResult } from "../download/download.ts";
import type { FileMeta, PeerAddress } from "../protocol/messages.ts";
import type { TrackerAddress } from "../discovery/tracker_client.ts";
import type { Transfer } from "./transfers.ts";
import type { DoctorOptions } from "./doctor.ts";
import type { SkippedEntry } from "../storage/folder_scan.ts";

/** Folder downloads are saved into when neither the session nor the get says. */
export const DEFAULT_OUT_DIR = "downloads";
/**
 * How long a get waits for a sharer (nobody shares the file yet, or every
 * peer left) unless told: 5 minutes, at the prompt, on the page and on the
 * command line alike.
 */
export const DEFAULT_WAIT_MS = 5 * 60_000;

/** Options for `Session`. */
export interface SessionOptions {
  /** Tracker to register with and ask (with its team key, if it needs one). */
  tracker: TrackerAddress;
  /** More trackers to ask (the node registers with them too). @default {none} */
  moreTrackers?: readonly TrackerAddress[];
  /** Folder downloads are saved into. @default {"downloads"} */
  outDir?: string;
  /** One limiter for every download of the session (its owner closes it). @default {no limit} */
  downloadLimit?: BandwidthLimiter;
  /** Receives one line per notable download event. @default {no logging} */
  log?: (line: string) => void;
  /**
   * Called when one of several trackers could not be used while another
   * answered (a get, a list, a search). @default {nothing}
   */
  onTrackerTrouble?: (trouble: TrackerTrouble) => void;
  /**
   * What `doctor` checks besides the trackers and the port: LAN discovery
   * and the DHT, as the node uses them. @default {neither}
   */
  doctor?: Pick<DoctorOptions, "lan" | "dht">;
}

/** Options for `Session.share`. */
export interface ShareOptions {
  /** Only holders of the link find and get it. @default {false} */
  private?: boolean;
}

/** Options for `Session.get`. */
export interface GetOptions {
  /** Folder to save into. @default {the session's outDir} */
  outDir?: string;
  /** Replace an existing file of the same name. @default {false} */
  force?: boolean;
  /**
   * Ms to wait for a sharer when nobody shares the file yet, or every peer
   * left; 0 fails at once. @default {DEFAULT_WAIT_MS}
   */
  waitMs?: number;
  /**
   * Folders made for this get (deepest first, as `prepareOutDir` gives
   * them): taken away again when it ends, cancelled or failed, with nothing
   * saved in them, as `peer get` does. @default {none}
   */
  made?: readonly string[];
}

/** Something that happened in the session's background work. */
export type SessionEvent =
  /** A share started hashing `path` (as given). */
  | { type: "hashing"; transfer: Transfer; path: string }
  /**
   * A share finished: the file is served and registered; `link` is what to
   * pass on (with its secret when `private`).
   */
  | {
    type: "shared";
    transfer: Transfer;
    meta: FileMeta;
    link?: string;
    private: boolean;
    /**
     * Asked to share it privately, but it was already shared publicly:
     * `link` is the private one, and anyone with its ID can get it anyway.
     */
    alsoPublic?: boolean;
    /** Of a folder: entries left out (links, devices, bad names), and why. */
    skipped?: readonly SkippedEntry[];
  }
  /** A share was cancelled before it finished; `path` is not shared. */
  | { type: "share-cancelled"; transfer: Transfer; path: string }
  /**
   * A get started; `elsewhere` is the tracker its link names when that is
   * not the session's (the file is then saved, not shared afterwards).
   */
  | { type: "getting"; transfer: Transfer; elsewhere?: Address }
  /** A get saved and verified its file. */
  | { type: "saved"; transfer: Transfer; result: DownloadResult }
  /**
   * A get was cancelled; its partial file (`NAME.part`), if it had made
   * one, stays in `outDir` to resume.
   */
  | { type: "get-cancelled"; transfer: Transfer; outDir: string };

/** Receives every {@linkcode SessionEvent}. */
export type SessionListener = (event: SessionEvent) => void;

/** Who shares a file, as `Session.peers` answers. */
export interface PeersAnswer {
  /** The file. */
  meta: FileMeta;
  /** Peers the tracker says share it. */
  peers: PeerAddress[];
  /** The addresses this peer is known by, to tell it apart in `peers`. */
  self: Address[];
}

/** A file this session shares, and where it is on disk. */
export interface LocalFile {
  /** The file. */
  meta: FileMeta;
  /** Where it is: the path it was shared from, or where a get saved it. */
  path: string;
}

/** What `Session.status` reports. */
export interface SessionStatus {
  /** Where the peer server listens. */
  address: Address;
  /**
   * Files shared, each with the bytes uploaded of it, how many downloaders
   * it is being sent to now, and whether only its link finds it.
   */
  shared: {
    meta: FileMeta;
    uploaded: number;
    downloaders: number;
    private: boolean;
  }[];
  /** Running transfers, oldest first. */
  transfers: Transfer[];
  /** Piece bytes uploaded this session. */
  uploaded: number;
  /** Bytes downloaded this session. */
  downloaded: number;
}
