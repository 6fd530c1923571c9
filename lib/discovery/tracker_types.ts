/**
 * The shapes a tracker client deals in: a tracker's address with its team
 * key, the client's options, and what the tracker says about reaching this
 * peer and joining it to others.
 *
 * @module
 */

import type { Address } from "../net/connection.ts";

/** Options for {@linkcode TrackerClient.register} and {@linkcode TrackerClient.registerSealed}. */
export interface RegisterOptions {
  /** This peer holds only part of the file: it is downloading it. @default {false} */
  partial?: boolean;
  /**
   * Found by its ID only, never shown in `list` or `search` (a public
   * file's registration; a file of a shared folder). @default {false}
   */
  unlisted?: boolean;
}

/**
 * A tracker's address, and the team key it requires (`tracker
 * --secret-file`), if it does: the two travel together wherever a tracker is
 * named, so every connection to it proves the key.
 */
export interface TrackerAddress extends Address {
  /** The team's pre-shared key (from its secret). @default {an open tracker} */
  psk?: Uint8Array;
}

/** Options for `TrackerClient.connect`. */
export interface TrackerClientOptions {
  /** Ms to wait for the connection, and again for its encryption handshake. @default {CONNECT_TIMEOUT_MS} */
  timeoutMs?: number;
  /** Ms to wait for each answer. @default {TRACKER_REPLY_TIMEOUT_MS} */
  replyTimeoutMs?: number;
}

/** What a tracker says of this peer after trying to connect back to it. */
export interface Reachability {
  /** The address the tracker sees this peer at (its router's, behind a NAT). */
  observed: Address;
  /** True if the tracker got through to the peer's port. */
  reachable: boolean;
  /** The tracker's relay, if it offers one. */
  relay?: Address;
  /**
   * True if the source port of this peer's connection arrived unchanged
   * (no NAT, or one that keeps ports): a hole punch from here can work.
   */
  keepsPorts: boolean;
}

/**
 * A peer that wants to connect to this one through the tracker's relay:
 * meet it there with the token (`nat/relay_client.ts`).
 */
export interface Incoming {
  /** The token both were given. */
  token: Uint8Array;
  /** The other peer's address as the tracker sees it. */
  host: string;
  /** The relay: the tracker's host, the port it named. */
  relay: Address;
  /** The other peer punches from this port, if it offered a hole punch. */
  punch?: number;
}

/** Where to meet a peer the tracker is joining this one to. */
export interface Meeting {
  /** The token both were given. */
  token: Uint8Array;
  /** The relay: the tracker's host, the port it named. */
  relay: Address;
  /** The other peer punches from this port, if it took up the offer. */
  punch?: number;
}
