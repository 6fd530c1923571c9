/**
 * The options of a `PeerNode`: starting it, sharing, offering a
 * download's pieces (re-exported by `peer_node.ts`).
 *
 * @module
 */

import type { TrackerTrouble } from "../discovery/tracker_trouble.ts";
import type { Address } from "../net/connection.ts";
import type { HashFileOptions } from "../storage/file_hash.ts";
import type { FileMeta } from "../protocol/messages.ts";
import type { TrackerAddress } from "../discovery/tracker_client.ts";
import type { DhtOptions } from "../discovery/dht.ts";
import type { PrivateAccess } from "../download/download.ts";
import type { PeerReachability } from "./_reach.ts";

/** Options for `PeerNode.start`. */
export interface PeerNodeOptions {
  /**
   * The tracker to register files with (and its team key, if it needs one);
   * it also meets this peer with those that cannot reach it directly.
   */
  tracker: TrackerAddress;
  /** More trackers to register every file with. @default {none} */
  moreTrackers?: readonly TrackerAddress[];
  /**
   * Offer every file on the local network, and let downloads find peers
   * there (multicast, `discovery/lan.ts`). @default {false}
   */
  lan?: boolean;
  /**
   * Offer every file in the Mainline DHT, and let downloads find peers
   * there (`discovery/dht.ts`); undefined keeps it off. @default {off}
   */
  dht?: Omit<DhtOptions, "port" | "log">;
  /** Interface the peer server listens on. @default {DEFAULT_PEER_HOST} */
  host?: string;
  /** Port the peer server listens on; 0 picks a free one. @default {DEFAULT_PEER_PORT} */
  port?: number;
  /** Receives one line per notable event. @default {no logging} */
  log?: (line: string) => void;
  /**
   * Called when a shared file stops being shared because it changed or
   * vanished: worth telling the user even when not logging.
   */
  onDropped?: (meta: FileMeta, reason: string) => void;
  /**
   * Called once for each of several trackers that did not take a
   * registration the others took: worth telling the user even when not
   * logging. @default {nothing}
   */
  onTrackerTrouble?: (trouble: TrackerTrouble) => void;
  /** Ms between checks of idle shared files. @default {FILE_CHECK_INTERVAL_MS} */
  checkIntervalMs?: number;
  /** Piece bytes a second uploaded, all files and downloaders together. @default {no limit} */
  uploadLimit?: number;
  /** Downloaders uploaded to at once. @default {UPLOAD_SLOTS} */
  uploadSlots?: number;
  /**
   * Called once the tracker has said whether other peers can reach this
   * one directly (asked after the first registration).
   */
  onReachability?: (reachability: PeerReachability) => void;
  /**
   * Ask the router to forward the port when the tracker cannot connect to
   * it (PCP, NAT-PMP, UPnP). @default {true}
   */
  portMapping?: boolean;
}

/** Options for `PeerNode.offer`. */
export interface OfferOptions {
  /** Called with each downloader of the file that says it serves it too. */
  onPeer?: (address: Address) => void;
  /** A private share's secret and sealed metadata: served only with its key. */
  private?: PrivateAccess;
}

/** Options for `PeerNode.share`; see {@linkcode hashFile}. */
export interface ShareOptions extends HashFileOptions {
  /**
   * Share privately: a new secret, the file registered only under the
   * lookup key derived from it (with its metadata sealed), and served only
   * to downloaders that prove its key; {@linkcode PeerNode.shareLink} gives
   * the link that carries it. @default {false: listed, served to anyone}
   */
  private?: boolean;
}
