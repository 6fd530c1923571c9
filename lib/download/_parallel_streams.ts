/**
 * When a download opens a second connection to the same peer. One TCP
 * connection moves at most its window per round trip, and the usual system
 * buffers (Linux: 4 MiB to send, 6 MiB to receive) cap it near 30 MB/s at
 * 100 ms and 150 MB/s at 20 ms, whatever the line. A second connection to
 * the same peer has a window of its own: on an emulated 100 ms link, one
 * sharer gave 26-27 MB/s over one connection and 45-47 MB/s over two, a
 * third added nothing. Download tools do the same (aria2's `-x`, croc's
 * parallel ports); here only where it pays:
 *
 * - the round trip is at least PARALLEL_MIN_RTT_MS (on a LAN one connection
 *   fills the line, and a second only costs memory and CPU), and the peer is
 *   not on this machine (a busy machine can make even a loopback round trip
 *   look long);
 * - the peer was reached straight (or through a port its router forwards):
 *   a second punch or relay session costs the tracker and the relay;
 * - at least PARALLEL_MIN_BYTES are still missing (a handshake and a slow
 *   start must pay for themselves);
 * - the download has fewer than PARALLEL_MAX_LINKS links (many sharers'
 *   own connections already fill the line);
 * - the peer is not making it wait for an upload slot: the second
 *   connection leaves as soon as the peer chokes it, so it never holds a
 *   slot another downloader waits for.
 *
 * @module
 */

import { isLoopbackHost } from "../net/address.ts";
import type { LinkRoute } from "../swarm/peer_link.ts";

/** Connections to one peer at most, counting the first. */
export const STREAMS_PER_PEER = 2;
/** Shortest round trip, in ms, on which a second connection is opened. */
export const PARALLEL_MIN_RTT_MS = 10;
/** Fewest bytes still missing for a second connection to be worth it. */
export const PARALLEL_MIN_BYTES = 32 * 1024 * 1024;
/** A download with this many links or more opens no second ones. */
export const PARALLEL_MAX_LINKS = 8;

/** The first link to a peer, as far as a second one depends on it. */
export interface FirstStream {
  /** The peer's address. */
  address: { host: string };
  /** Its smallest round trip, in ms. */
  rttMs: number;
  /** How it reached the peer. */
  route?: LinkRoute;
  /** True while the peer makes it wait for an upload slot. */
  choked: boolean;
}

/** The download, as far as a second connection depends on it. */
export interface StreamBudget {
  /** Links running now. */
  links: number;
  /** Bytes still missing. */
  missingBytes: number;
}

/** True if a second connection to the peer of `first` is worth opening. */
export function wantsSecondStream(
  first: FirstStream,
  budget: StreamBudget,
): boolean {
  return first.rttMs >= PARALLEL_MIN_RTT_MS &&
    !isLoopbackHost(first.address.host) &&
    (first.route === "direct" || first.route === "mapped") &&
    !first.choked &&
    budget.missingBytes >= PARALLEL_MIN_BYTES &&
    budget.links < PARALLEL_MAX_LINKS;
}
