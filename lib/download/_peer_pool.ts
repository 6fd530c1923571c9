/**
 * The peers one download is linked to: which addresses are worth a link
 * (valid, not this process, not banned, within the caps per peer, per host
 * and in all), the links running now and every link made, and asking for
 * more peers while the download runs. The pieces themselves are the
 * scheduler's and the links' business; the pool only decides whom to link to.
 *
 * @module
 */

import { type Address, formatAddress } from "../net/connection.ts";
import { MAX_PEERS_PER_ANSWER } from "../protocol/limits.ts";
import type { PeerAddress } from "../protocol/messages.ts";
import {
  type LinkRoute,
  type LinkSpan,
  PeerLink,
  type PeerLinkOptions,
} from "../swarm/peer_link.ts";
import { STREAMS_PER_PEER, wantsSecondStream } from "./_parallel_streams.ts";
import { formatSize } from "../util/format_size.ts";
import { PEER_CLOSED } from "../swarm/link_failure.ts";

/**
 * Connections one download makes to one peer address, counting the first,
 * that ended with less than LINK_PROGRESS_BYTES received.
 */
export const MAX_LINKS_PER_PEER = 3;
/**
 * Piece bytes a link must have received for its end not to count against
 * MAX_LINKS_PER_PEER: a link the relay's byte quota ended, or that closed
 * after useful work, leaves the peer as many tries as before. A peer's
 * links together receive each piece of the file once at most, so one that
 * keeps closing after this much gets at most size / LINK_PROGRESS_BYTES
 * more links, each bringing the file on; one that closes with less is
 * given up on as before.
 */
export const LINK_PROGRESS_BYTES = 256 * 1024;
/** Peers one download is connected to at once. */
export const MAX_LINKS = 200;
/**
 * Ports of one host a download connects to: a host saying it serves on many
 * ports (in `hello`s or registrations) cannot make it open many connections.
 */
export const MAX_PORTS_PER_HOST = 32;

/** Bytes received from one peer in this run. */
export interface PeerBytes {
  /** The peer as `host:port`. */
  address: string;
  /** Piece bytes received from it. */
  bytes: number;
  /** Where it was found. */
  found?: PeerOrigin;
  /**
   * Why its last link ended early, e.g. "could not be reached (connecting
   * timed out): …", "refused the connection: …", "stopped sending";
   * absent when it served until the end.
   */
  error?: string;
  /**
   * How its last connected link reached it: straight, or through the
   * tracker's relay; absent if no link to it connected.
   */
  via?: LinkRoute;
}

/** Options for {@linkcode PeerPool}. */
export interface PeerPoolOptions {
  /** What every link is made with; its scheduler says when the download is over. */
  link: PeerLinkOptions;
  /** This process's own addresses, never linked to. */
  self: Address[];
  /** Asks again for the peers of the file (those that joined since). */
  refresh: () => Promise<{ peers: PeerAddress[] }>;
  /** Called each time a link ends, after the pool has forgotten it. */
  onLinkEnded: () => void;
  /** Receives one line per dropped peer or failed refresh. */
  log?: (line: string) => void;
  /** Where the peer at `host:port` was found, when not from a tracker. */
  foundOn?: (address: string) => PeerOrigin | undefined;
}

/** Where a peer was found: a tracker listed it, or it was heard on the LAN. */
export type PeerOrigin = "tracker" | "lan" | "dht";

/** The links of one download, and the rules for whom it links to. */
export class PeerPool {
  #options: PeerPoolOptions;
  /** Every link made, in order, ended or not. */
  #links: PeerLink[] = [];
  /** The running link to each peer address. */
  #linked = new Map<string, PeerLink>();
  #running = new Set<Promise<void>>();
  #attempts = new Map<string, number>();
  #portsByHost = new Map<string, Set<number>>();
  #banned = new Set<string>();
  /** Second connections to a peer (`_parallel_streams.ts`). */
  #extra = new WeakSet<PeerLink>();
  /**
   * Addresses found to be another way to a sharer already linked (its
   * `welcome` tag matched), and that link's address: not linked again
   * while that link runs.
   */
  #sameAs = new Map<string, string>();
  /** Links closed for reaching a sharer already linked. */
  #doubles = new WeakSet<PeerLink>();
  #self: Set<string>;
  #refreshing?: Promise<void>;

  /** Creates an empty pool; nothing is linked until {@linkcode link}. */
  constructor(options: PeerPoolOptions) {
    this.#options = options;
    this.#self = new Set(options.self.map(formatAddress));
  }

  /** Every link made, in order, ended or not. */
  get links(): readonly PeerLink[] {
    return this.#links;
  }

  /** Links running now. */
  get linked(): number {
    return this.#linked.size;
  }

  /** Running links that are exchanging pieces. */
  get active(): number {
    return [...this.#linked.values()].filter((link) => link.active).length;
  }

  /** Peers that active links go to (shown as connected peers). */
  get activePeers(): number {
    return this.#activeByPeer().size;
  }

  /** Of the active peers, how many were reached each way other than straight. */
  routes(): { mapped?: number; punched?: number; relayed?: number } {
    const counts: { mapped?: number; punched?: number; relayed?: number } = {};
    for (const link of this.#activeByPeer().values()) {
      const route = link.route;
      if (route === undefined || route === "direct") continue;
      counts[route] = (counts[route] ?? 0) + 1;
    }
    return counts;
  }

  /** Of the active peers, how many were found other than by a tracker. */
  origins(): { lan?: number; dht?: number } {
    const counts: { lan?: number; dht?: number } = {};
    for (const label of this.#activeByPeer().keys()) {
      const origin = this.#options.foundOn?.(label);
      if (origin === undefined || origin === "tracker") continue;
      counts[origin] = (counts[origin] ?? 0) + 1;
    }
    return counts;
  }

  /** One active link per peer address. */
  #activeByPeer(): Map<string, PeerLink> {
    const byPeer = new Map<string, PeerLink>();
    for (const link of this.#linked.values()) {
      if (link.active && !byPeer.has(link.label)) byPeer.set(link.label, link);
    }
    return byPeer;
  }

  /** True if a running link is waiting on a piece it asked for. */
  get busy(): boolean {
    return [...this.#linked.values()].some((link) => link.busy);
  }

  /** Peers worth connecting to: valid, each once, never this process itself. */
  usable(peers: PeerAddress[]): PeerAddress[] {
    const unique = new Map<string, PeerAddress>();
    for (const peer of peers) {
      const key = formatAddress(peer);
      if (!this.#foreign(peer, key)) continue;
      if (unique.size >= MAX_PEERS_PER_ANSWER) break;
      unique.set(key, peer);
    }
    return [...unique.values()];
  }

  /**
   * Starts a link to `peer` unless it is this process, banned, linked or
   * tried enough; with `within`, a link for one file of a folder download
   * to a peer that shares that file (see `PeerLinkOptions.within`).
   */
  link(peer: PeerAddress, within?: LinkSpan): void {
    const { scheduler } = this.#options.link;
    const key = formatAddress(peer);
    if (
      scheduler.over || !this.#foreign(peer, key) ||
      this.#banned.has(key) || this.#linked.has(key) || this.#sameAs.has(key)
    ) return;
    const attempts = this.#attempts.get(key) ?? 0;
    if (attempts >= MAX_LINKS_PER_PEER || this.#linked.size >= MAX_LINKS) {
      return;
    }
    const ports = this.#portsByHost.get(peer.host) ?? new Set<number>();
    if (!ports.has(peer.port) && ports.size >= MAX_PORTS_PER_HOST) return;
    ports.add(peer.port);
    this.#portsByHost.set(peer.host, ports);
    this.#attempts.set(key, attempts + 1);
    const link: PeerLink = new PeerLink(peer, {
      ...this.#options.link,
      ...(within ? { within } : {}),
      onReady: () => {
        if (this.#linkedElsewhere(key, link) || within) return;
        this.#addStreams(peer, key, link);
      },
    });
    this.#start(key, link);
  }

  /**
   * True (and `link` closed, quietly) if its sharer is linked already at
   * another address: its `welcome` tag is that link's. A sharer found on
   * the LAN and through the tracker (at its router's address) is one peer.
   */
  #linkedElsewhere(key: string, link: PeerLink): boolean {
    if (link.node === undefined) return false;
    for (const other of this.#linked.values()) {
      if (
        other === link || other.node !== link.node ||
        other.label === link.label || !other.active
      ) continue;
      this.#sameAs.set(key, other.label);
      this.#doubles.add(link);
      this.#options.log?.(
        `${link.label} is ${other.label} again, at another address: keeping one connection to it.`,
      );
      link.close();
      return true;
    }
    return false;
  }

  /**
   * Opens the second (up to STREAMS_PER_PEER) connections to the peer of
   * `first` if they pay (see `_parallel_streams.ts`).
   */
  #addStreams(peer: PeerAddress, key: string, first: PeerLink): void {
    const { scheduler, pieceSize, pieceBytes } = this.#options.link;
    const missing = scheduler.count - scheduler.completed;
    const budget = {
      links: this.#linked.size,
      missingBytes: missing * (pieceBytes ?? pieceSize),
    };
    if (scheduler.over || !wantsSecondStream(first, budget)) return;
    for (let stream = 2; stream <= STREAMS_PER_PEER; stream++) {
      const streamKey = `${key}#${stream}`;
      if (this.#linked.has(streamKey)) continue;
      const link = new PeerLink(peer, {
        ...this.#options.link,
        leaveWhenChoked: true,
      });
      this.#extra.add(link);
      this.#options.log?.(
        `Opening connection ${stream} to ${first.label} (round trip ${
          Math.round(first.rttMs)
        } ms): one TCP connection cannot fill a long link.`,
      );
      this.#start(streamKey, link);
    }
  }

  #start(key: string, link: PeerLink): void {
    this.#links.push(link);
    this.#linked.set(key, link);
    const running = this.#runLink(key, link);
    this.#running.add(running);
    running.finally(() => this.#running.delete(running));
  }

  /**
   * Asks for peers again and links the new ones; never throws. Calls while
   * one is under way share it.
   */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#options.refresh()
      .then(({ peers }) => {
        const usable = this.usable(peers);
        if (this.#options.log) this.#logNew(usable);
        for (const peer of usable) this.link(peer);
      }, (error) => {
        this.#options.log?.(
          `Could not ask the tracker for more peers: ${
            (error as Error).message ?? error
          }`,
        );
      })
      .finally(() => this.#refreshing = undefined);
    return this.#refreshing;
  }

  /**
   * Lets every peer that was not caught lying be tried again as often as a
   * new one: after every link ended, a sharer that restarts comes back at
   * the same address.
   */
  forgetAttempts(): void {
    this.#attempts.clear();
  }

  /** Stops the scheduler and closes every running link. */
  stop(): void {
    this.#options.link.scheduler.stop();
    for (const link of this.#linked.values()) link.close();
  }

  /** Resolves once every link has ended and no refresh is under way. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#running]);
    await this.#refreshing;
  }

  /** Piece bytes received from each peer address, over all its links. */
  received(): PeerBytes[] {
    const peers = new Map<string, PeerBytes>();
    for (const link of this.#links) {
      if (this.#doubles.has(link) && link.bytes === 0) continue;
      const peer = peers.get(link.label) ?? { address: link.label, bytes: 0 };
      peer.bytes += link.bytes;
      // The last link to a peer says how it ended; a second connection's
      // failure does not (the first one says how the peer did).
      if (!link.failure) delete peer.error;
      else if (!this.#extra.has(link)) peer.error = link.failure;
      if (link.route) peer.via = link.route;
      peer.found = this.#options.foundOn?.(link.label) ?? "tracker";
      peers.set(link.label, peer);
    }
    return [...peers.values()];
  }

  /** Logs the peers the tracker listed that were never tried. */
  #logNew(peers: PeerAddress[]): void {
    const fresh = peers.map(formatAddress).filter((key) =>
      !this.#attempts.has(key) && !this.#banned.has(key)
    );
    if (fresh.length === 0) return;
    this.#options.log?.(
      `Tracker lists ${fresh.length} new ${
        fresh.length === 1 ? "peer" : "peers"
      }: ${listed(fresh)}.`,
    );
  }

  /** True if `peer` (`key` is its address) is a valid address and not this process. */
  #foreign(peer: PeerAddress, key: string): boolean {
    return peer.port >= 1 && peer.port <= 65535 && !this.#self.has(key);
  }

  async #runLink(key: string, link: PeerLink): Promise<void> {
    await link.run();
    this.#linked.delete(key);
    // Its sharer's other addresses may be tried once it is gone.
    if (!this.#extra.has(link)) {
      for (const [other, label] of this.#sameAs) {
        if (label === link.label) this.#sameAs.delete(other);
      }
    }
    if (link.lied) {
      this.#banned.add(link.label);
      // Its other connection goes too.
      for (const other of this.#linked.values()) {
        if (other.label === link.label) other.close();
      }
    }
    // Not tried again at once: it would time out again (forgetAttempts,
    // when the download starts waiting for peers, gives it another go).
    if (link.unreachable) this.#attempts.set(key, MAX_LINKS_PER_PEER);
    else if (!this.#extra.has(link) && link.bytes >= LINK_PROGRESS_BYTES) {
      this.#attempts.set(key, Math.max(0, (this.#attempts.get(key) ?? 0) - 1));
    }
    if (link.failure && !this.#options.link.scheduler.over) {
      this.#options.log?.(endedLine(link));
    }
    this.#options.onLinkEnded();
  }
}

/**
 * The log line of a link that ended before the download did. A relayed
 * link closed cleanly after it brought the file on may be the relay ending
 * the connection at its byte quota or the peer leaving (the end looks the
 * same): the peer is met there again, as its attempts are left
 * (LINK_PROGRESS_BYTES), so it is not said to be dropped.
 */
function endedLine(link: PeerLink): string {
  const { requeued } = link;
  const pieces = `${requeued} outstanding ${
    requeued === 1 ? "piece" : "pieces"
  }`;
  if (
    link.route === "relayed" && link.failure === PEER_CLOSED &&
    link.bytes >= LINK_PROGRESS_BYTES
  ) {
    return `The relayed connection to ${link.label} closed after ${
      formatSize(link.bytes)
    } (the relay's limit per connection, or the peer left): meeting it at the relay again.${
      requeued > 0 ? ` Asking again for its ${pieces}.` : ""
    }`;
  }
  return `Dropped peer ${link.label}: ${link.failure}.${
    requeued > 0 ? ` Re-requesting its ${pieces} from other peers.` : ""
  }`;
}

/** Most peer addresses named in one log line. */
const LISTED_PEERS = 8;

/** Addresses for a log line: `a, b, c`, or the first LISTED_PEERS `and 12 more`. */
export function listed(addresses: string[]): string {
  if (addresses.length <= LISTED_PEERS) return addresses.join(", ");
  return `${addresses.slice(0, LISTED_PEERS).join(", ")} and ${
    addresses.length - LISTED_PEERS
  } more`;
}
