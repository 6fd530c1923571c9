/**
 * The public types of a download: its options, its progress snapshots and
 * its result (re-exported by `download.ts`).
 *
 * @module
 */

import type { TrackerTrouble } from "../discovery/tracker_trouble.ts";
import type { LocalPeers } from "./_peer_finders.ts";
import type { BandwidthLimiter } from "../util/bandwidth.ts";
import type { Address } from "../net/connection.ts";
import type { TrackerAddress } from "../discovery/tracker_client.ts";
import type { FileMeta } from "../protocol/messages.ts";
import type { PeerBytes } from "./_peer_pool.ts";
import type { PrivateAccess, SwarmHost } from "./_swarming.ts";

export type { PrivateAccess };

/** A snapshot of a download in progress. */
export interface DownloadProgress {
  /** File name as it will be saved. */
  name: string;
  /** File size in bytes. */
  size: number;
  /** Verified bytes so far. */
  received: number;
  /** Recent speed in bytes per second. */
  bytesPerSecond: number;
  /** Peers currently connected. */
  peers: number;
  /**
   * Of `peers`, how many were reached other than straight: through a port
   * their router forwards, by a hole punch, through the relay.
   */
  routes?: { mapped?: number; punched?: number; relayed?: number };
  /** Of those, how many were found other than by a tracker, by where. */
  found?: { lan?: number; dht?: number };
  /** True while no peer is linked and the download waits for one. */
  waiting: boolean;
  /**
   * With `waiting`, before the file is found: true while no tracker can be
   * reached and they are asked again (else none knows the file yet).
   */
  trackersDown?: boolean;
  /** A folder's files wholly in so far, and its files in all. */
  files?: { done: number; total: number };
  /**
   * True once the file is found when it resumes a `.part` an earlier
   * download left (its pieces checked before the first report that is
   * neither a wait nor `checking`), whatever that `.part` is named.
   */
  resumed?: boolean;
  /**
   * While the `.part` an earlier download left is checked, before any peer
   * is asked (every piece already there is hashed again: seconds for a
   * large one): the bytes of it checked so far, and in all. The first
   * report of a resume that is not a wait has it, `done` 0, before the
   * check starts.
   */
  checking?: { done: number; total: number };
  /** Once the file is found: the `.part` it is written into. */
  partPath?: string;
}

/** What a finished download produced. */
export interface DownloadResult {
  /** Where the verified file was saved. */
  path: string;
  /** The file's metadata. */
  meta: FileMeta;
  /** Bytes received from each peer. */
  peers: PeerBytes[];
  /** Ms from start to verified file. */
  elapsedMs: number;
  /**
   * Ms from start until the file and its first peers were found (by a
   * tracker, on the LAN or in the DHT), the last time it was looked up.
   */
  foundMs?: number;
  /**
   * Ms from start to the first piece verified (the time to first byte, but
   * for one piece); absent when no piece was fetched.
   */
  firstPieceMs?: number;
  /** True when the folder already held the file and nothing was fetched. */
  alreadyHere: boolean;
}

/** Options for `download()`. */
export interface DownloadOptions {
  /**
   * Tracker to ask for peers (with its team key, if it needs one); the one
   * that meets this peer with those it cannot reach directly.
   */
  tracker: TrackerAddress;
  /** More trackers to ask, all at once with `tracker`. @default {none} */
  moreTrackers?: readonly TrackerAddress[];
  /**
   * Finds peers on the local network too, and the file with no tracker at
   * all (a peer node's `lan`). @default {none}
   */
  lan?: LocalPeers;
  /**
   * Finds peers in the DHT too, and the file with no tracker at all (a peer
   * node's `dht`). @default {none}
   */
  dht?: LocalPeers;
  /**
   * A private share link's secret: the file is looked up by the key derived
   * from it, and fetched only from sharers that prove they hold it; the ID
   * given to `download()` is then the link's short ID, checked against
   * the metadata. @default {a public file}
   */
  secret?: Uint8Array;
  /** Folder to save into; created if missing. */
  outDir: string;
  /** Called as pieces arrive. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Cancels the download; the `.part` file is kept. */
  signal?: AbortSignal;
  /** Receives one line per notable event (peer dropped, bad piece). */
  log?: (line: string) => void;
  /**
   * Called once for each tracker that could not be used while another
   * answered: the file may have sharers only it knows. @default {nothing}
   */
  onTrackerTrouble?: (trouble: TrackerTrouble) => void;
  /**
   * Called once when no tracker could be asked (the error says why) while
   * they are asked again or the LAN or the DHT go on looking, as `how`
   * says. @default {nothing}
   */
  onTrackersDown?: (error: unknown, how: TrackersDown) => void;
  /** Replace an existing file of the same name. @default {false} */
  force?: boolean;
  /** This process's own listening addresses, never connected to. */
  self?: Address[];
  /**
   * Piece bytes a second received from all peers together: a rate, or a
   * limiter shared with other downloads (closed by its owner).
   * @default {no limit}
   */
  downloadLimit?: number | BandwidthLimiter;
  /**
   * Serves the pieces verified so far to other downloaders while
   * downloading, and registers this peer as a partial holder.
   * @default {nothing is served}
   */
  swarm?: SwarmHost;
  /**
   * Save under this file name rather than the file's own (made safe the
   * same way). @default {the file's own name}
   */
  saveAs?: string;
  /** With `swarm`: keep serving the finished file. @default {false} */
  seed?: boolean;
  /**
   * Ms to wait for a peer when nobody shares the file yet, no tracker can
   * be reached, or every peer left (the trackers are asked again
   * meanwhile); 0 fails at once. @default {0}
   */
  waitMs?: number;
}

/** What a download does while no tracker can be asked (`onTrackersDown`). */
export interface TrackersDown {
  /** Ms the trackers are asked again for (the wait); 0 when they are not. */
  retryMs: number;
  /** Ms the LAN and the DHT are looked in meanwhile; 0 when they are not. */
  lookMs: number;
  /**
   * True if the LAN or the DHT were there to look in, but not for a short
   * ID: they know a file only by its full ID.
   */
  shortId: boolean;
}
