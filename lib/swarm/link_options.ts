/**
 * What one download link is made with: the file's shape, the scheduler and
 * piece handler it shares with the download's other links, its limits, and
 * the ways it may reach its peer.
 *
 * @module
 */

import type { BandwidthLimiter } from "../util/bandwidth.ts";
import type { PieceScheduler } from "./piece_scheduler.ts";
import type { MeetFunction } from "./link_route.ts";

/** What a link does with a piece it received. */
export type PieceHandler = (
  index: number,
  data: Uint8Array,
) => Promise<boolean> | boolean;

/** One file of a folder, as a span of the folder download's pieces. */
export interface LinkSpan {
  /** The file's own ID. */
  id: string;
  /** The download piece its first piece is. */
  first: number;
  /** Its pieces. */
  pieces: number;
}

/** Options for {@linkcode PeerLink}. */
export interface PeerLinkOptions {
  /** Full ID of the file. */
  id: string;
  /** Pieces in the file; the peer must agree. */
  pieces: number;
  /** Bytes in a full piece: no larger binary part is accepted. */
  pieceSize: number;
  /**
   * Mean bytes of the download's pieces: less than `pieceSize` for a
   * folder of small files, whose requests are then counted by their bytes
   * (`request_window.ts`). @default {pieceSize}
   */
  pieceBytes?: number;
  /**
   * Talk to the peer about one file of a folder download instead: the file
   * `id` of `pieces` pieces, which are the download's pieces `first ..
   * first + pieces - 1` (`folder_layout.ts`). The peer shares that file
   * alone (or inside another folder); the scheduler sees only that span.
   * @default {the download's own file or folder}
   */
  within?: LinkSpan;
  /** Supplies the buffer each piece is read into. @default {a new one} */
  buffer?: () => Uint8Array;
  /** Gives back a buffer from {@linkcode buffer} that held no useful piece. */
  recycle?: (data: Uint8Array) => void;
  /** Shared by every link of one download. */
  scheduler: PieceScheduler;
  /** Verifies and stores a piece; false means the piece was bad. */
  onPiece: PieceHandler;
  /**
   * Requests kept in flight, fixed. @default {sized by the link (see
   * `request_window.ts`)}
   */
  inFlight?: number;
  /**
   * The most requests this link may keep in flight now: the download's
   * share of its request budget. @default {MAX_REQUESTS_IN_FLIGHT}
   */
  maxInFlight?: () => number;
  /**
   * Ms a piece asked of another peer must have been on its way before this
   * link asks for it too, in the endgame: about what a piece takes one link.
   * @default {0: at once}
   */
  patienceMs?: () => number;
  /** Ms without data, with requests outstanding and not choked, before giving up. @default {PEER_STALL_TIMEOUT_MS} */
  stallMs?: number;
  /** Ms to connect. @default {CONNECT_TIMEOUT_MS} */
  connectMs?: number;
  /**
   * A private share's pre-shared key, proved in the handshake: a sharer
   * serves a private file only over a connection that proved its key.
   * @default {none: a public file}
   */
  psk?: Uint8Array;
  /**
   * A download limit, shared with the download's other links: after each
   * piece the link waits its turn before it reads or asks for more.
   * @default {no limit}
   */
  limiter?: BandwidthLimiter;
  /**
   * The port this downloader serves the file on, if it serves it yet: told
   * to the peer in `hello` so it can connect back for the pieces it lacks.
   * @default {not told}
   */
  servePort?: () => number | undefined;
  /**
   * Reaches a peer through the tracker's relay: at once for a peer the
   * tracker marked unreachable, else when connecting straight to it fails.
   * @default {never: direct connections only}
   */
  meet?: MeetFunction;
  /** Receives one line per notable event (connected, choked). @default {no logging} */
  log?: (line: string) => void;
  /** Called once the handshake is done and pieces may be asked for. */
  onReady?: () => void;
  /**
   * End the link quietly (no failure) when the peer chokes it: a second
   * connection to a peer must not hold an upload slot others wait for.
   * @default {false: wait for the unchoke}
   */
  leaveWhenChoked?: boolean;
}
