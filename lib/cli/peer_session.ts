/**
 * Starting the peer node and the {@linkcode Session} on it that the prompt
 * and `peer ui` both drive: one server for everything shared, one download
 * limiter for every get, and the node's news (a file dropped, whether
 * others can reach this peer) told through `note`.
 *
 * @module
 */

import { PeerNode } from "../app/peer_node.ts";
import type { PeerNodeOptions } from "../app/peer_node_types.ts";
import { DEFAULT_OUT_DIR, Session } from "../app/session.ts";
import type { TrackerAddress } from "../discovery/tracker_client.ts";
import { DEFAULT_PEER_PORT } from "../protocol/limits.ts";
import { BandwidthLimiter } from "../util/bandwidth.ts";
import { settleWithin } from "../util/settle_within.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { prepareOutDir } from "./out_dir.ts";
import {
  notRegisteredEnd,
  reachabilityLine,
  SHUTDOWN_TIMEOUT_MS,
} from "./flags.ts";
import { troubleTeller } from "../discovery/tracker_trouble.ts";
import { tellTurn } from "./tracker_news.ts";

/** Options for {@linkcode startPeerSession}. */
export interface PeerSessionOptions {
  /** Tracker to register with and ask (with its team key, if it needs one). */
  tracker: TrackerAddress;
  /** More trackers to register with and ask. @default {none} */
  moreTrackers?: readonly TrackerAddress[];
  /** Address the peer server listens on. @default {"0.0.0.0"} */
  host?: string;
  /** Port the peer server listens on. @default {DEFAULT_PEER_PORT} */
  port?: number;
  /** Folder downloads are saved into. @default {"downloads"} */
  outDir?: string;
  /** Piece bytes a second uploaded, everything shared together. @default {no limit} */
  uploadLimit?: number;
  /** Piece bytes a second downloaded, every get together. @default {no limit} */
  downloadLimit?: number;
  /** Downloaders uploaded to at once. @default {UPLOAD_SLOTS} */
  uploadSlots?: number;
  /** Ask the router to forward the port when needed. @default {true} */
  portMapping?: boolean;
  /** Find and offer files on the local network. @default {false} */
  lan?: boolean;
  /** Find and offer files in the DHT, with these options. @default {off} */
  dht?: PeerNodeOptions["dht"];
  /** Receives notable download events (`--verbose`). @default {none} */
  log?: (line: string) => void;
  /** Receives news about the node, one sentence each. */
  note: (line: string) => void;
}

/** A session on its own node; closing it unregisters everything shared. */
export interface PeerSession extends AsyncDisposable {
  /** The session. */
  readonly session: Session;
}

/**
 * Starts a peer node and a session on it. Rejects if the peer server cannot
 * start (e.g. the port is in use), and with a `UsageError` when `outDir`
 * is blank or not a folder (a file): every get would fail to save there.
 */
export async function startPeerSession(
  options: PeerSessionOptions,
): Promise<PeerSession> {
  await refuseOutDir(options.outDir ?? DEFAULT_OUT_DIR);
  const downloadLimit = options.downloadLimit === undefined
    ? undefined
    : new BandwidthLimiter(options.downloadLimit);
  const { note } = options;
  // Each tracker's trouble is told once, whatever met it first.
  const tell = troubleTeller((line) => note(terminalSafe(line)));
  let node: PeerNode;
  try {
    node = await PeerNode.start({
      tracker: options.tracker,
      moreTrackers: options.moreTrackers,
      host: options.host,
      port: options.port ?? DEFAULT_PEER_PORT,
      log: options.log,
      onDropped: (meta, reason) =>
        note(`Stopped sharing ${terminalSafe(meta.name)}: ${reason}.`),
      onTrackerTrouble: (trouble) =>
        tell(trouble, notRegisteredEnd(trouble.tracker === options.tracker)),
      uploadLimit: options.uploadLimit,
      uploadSlots: options.uploadSlots,
      portMapping: options.portMapping,
      lan: options.lan,
      dht: options.dht,
      onReachability: (reachability) => {
        const line = reachabilityLine(reachability);
        if (line) note(line);
      },
    });
  } catch (error) {
    downloadLimit?.[Symbol.dispose]();
    throw error;
  }
  // A tracker that had this peer's files and stops answering, or is back.
  node.trackers.watch((change) =>
    tellTurn(change, node, options.tracker, tell)
  );
  const session = new Session(node, {
    tracker: options.tracker,
    moreTrackers: options.moreTrackers,
    outDir: options.outDir,
    downloadLimit,
    log: options.log,
    onTrackerTrouble: (trouble) =>
      tell(trouble, ": what only it knows is missing until it is back."),
    // The checks peer doctor makes of what this node has on.
    doctor: {
      lan: options.lan ? {} : undefined,
      dht: options.dht
        ? { bootstrap: options.dht.bootstrap, host: options.dht.host }
        : undefined,
    },
  });
  return {
    session,
    async [Symbol.asyncDispose]() {
      try {
        await settleWithin(node.close(), SHUTDOWN_TIMEOUT_MS);
      } finally {
        downloadLimit?.[Symbol.dispose]();
      }
    },
  };
}

/**
 * Throws the `UsageError` `peer get --out` throws for a blank `out` or one
 * that is a file. A missing folder is left for the get to create: a
 * session that only shares never makes it.
 */
export async function refuseOutDir(out: string): Promise<void> {
  const info = await Deno.stat(out).catch(() => undefined);
  // For these, prepareOutDir throws its UsageError before it creates anything.
  if (out.trim() === "" || (info && !info.isDirectory)) {
    await prepareOutDir(out);
  }
}
