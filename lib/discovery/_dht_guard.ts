/**
 * bittorrent-dht behind a typed face that remote input cannot break: the
 * library is loaded on demand, given a socket already bound (so nothing is
 * sent from an unbound one), and every datagram passes a per-second budget
 * and a try/catch before the library sees it. Its handlers throw on some
 * malformed KRPC queries (a `find_node` target or `get_peers` info_hash that
 * is an integer or a list): Node dies of that, Deno swallows it; neither is
 * acceptable for input from anyone on the internet.
 *
 * @module
 */

import { createSocket, type Socket } from "node:dgram";
import { settleWithin } from "../util/settle_within.ts";
import { PerSecondBudget } from "../util/per_second_budget.ts";

/** Most ms to wait for the library to close its socket. */
export const DHT_CLOSE_TIMEOUT_MS = 1_000;

/** A UDP endpoint: a DHT node, or a peer's TCP address found on the DHT. */
export interface DhtEndpoint {
  /** IPv4 address or host name. */
  host: string;
  /** Port, 1 to 65535. */
  port: number;
}

/** How to start a {@linkcode GuardedDht}. */
export interface GuardedDhtOptions {
  /** Nodes asked when the routing table is too small; none: `[]`. */
  bootstrap: DhtEndpoint[];
  /** A node ID to reuse (40 hex digits), from a saved routing table. */
  nodeId?: string;
  /** Most peers that others announced kept at once, over all keys. */
  maxStoredPeers: number;
  /** Ms a peer that others announced is kept without a new announcement. */
  storedPeerMaxAgeMs: number;
  /** Most datagrams handed to the library a second; the rest are dropped. */
  maxReceivedPerSecond: number;
  /** Receives the library's socket errors (a send that failed). */
  onSocketError: (error: Error) => void;
}

/** What the library counts for us. */
export interface GuardCounts {
  /** Datagrams that arrived. */
  received: number;
  /** Datagrams dropped unread, over the budget. */
  dropped: number;
  /** Datagrams the library could not use (undecodable, unexpected, or its handler threw). */
  malformed: number;
}

/** The part of bittorrent-dht 11 used here (it ships no types). */
interface DhtLibraryNode {
  nodeId: Uint8Array;
  nodes: { count(): number };
  _rpc: {
    socket: { socket: Socket };
    nodes: RoutingTable;
    _addNode(node: Contact): void;
  };
  _peers: { size: number };
  announce(
    hash: string,
    port: number,
    cb: (error?: Error | null) => void,
  ): void;
  lookup(hash: string, cb: (error?: Error | null) => void): () => void;
  addNode(node: DhtEndpoint): void;
  toJSON(): { nodes: DhtEndpoint[] };
  destroy(cb: () => void): void;
  on(event: string, listener: (...args: never[]) => void): void;
}

/** A node in the routing table. */
interface Contact extends DhtEndpoint {
  id: Uint8Array;
}

/** The routing table's events (k-bucket). */
interface RoutingTable {
  on(event: "added" | "removed", listener: (node: Contact) => void): void;
  on(event: "updated", listener: (old: Contact, now: Contact) => void): void;
}

type DhtLibrary = new (options: Record<string, unknown>) => DhtLibraryNode;

/**
 * Loads bittorrent-dht. Rejects where it cannot run: its `debug`
 * dependency reads the whole environment when loaded.
 */
export async function loadDhtLibrary(): Promise<DhtLibrary> {
  const module = await import("bittorrent-dht");
  return module.default as unknown as DhtLibrary;
}

/** A UDP socket bound to `host`:`port`; rejects with the bind error. */
export function bindUdp(port: number, host: string): Promise<Socket> {
  const socket = createSocket({ type: "udp4" });
  return new Promise<Socket>((resolve, reject) => {
    const fail = (error: Error) => {
      closeQuietly(socket);
      reject(error);
    };
    socket.once("error", fail);
    try {
      socket.bind({ port, address: host }, () => {
        socket.off("error", fail);
        resolve(socket);
      });
    } catch (error) {
      fail(error as Error);
    }
  });
}

/** One bittorrent-dht node on a bound socket, guarded and typed. */
export class GuardedDht {
  #dht: DhtLibraryNode;
  #socket: Socket;
  #budget: PerSecondBudget;
  #counts: GuardCounts = { received: 0, dropped: 0, malformed: 0 };
  #closing?: Promise<void>;

  /** Starts a node on `socket` (bound), which it then owns. */
  constructor(library: DhtLibrary, socket: Socket, options: GuardedDhtOptions) {
    this.#socket = socket;
    this.#budget = new PerSecondBudget(options.maxReceivedPerSecond);
    // The record cache behind `maxPeers` keeps up to twice its size (a
    // fresh and a stale generation, each one past it before turning over).
    const maxPeers = Math.max(1, Math.floor((options.maxStoredPeers - 2) / 2));
    this.#dht = new library({
      socket,
      bootstrap: options.bootstrap.map(({ host, port }) => ({ host, port })),
      nodeId: options.nodeId,
      maxPeers,
      maxAge: options.storedPeerMaxAgeMs,
    });
    this.#dht.on("warning", (error: Error) => {
      if (typeof (error as { code?: unknown }).code === "string") {
        options.onSocketError(error);
      } else this.#counts.malformed++;
    });
    this.#dht.on("error", (error: Error) => options.onSocketError(error));
    this.#guardMessages();
    this.#oneIdPerEndpoint();
    // Bound before the library saw it: tell it, so it starts its refresh.
    socket.emit("listening");
  }

  /** The UDP port this node listens on. */
  get port(): number {
    return this.#socket.address().port;
  }

  /** Nodes in the routing table. */
  get nodeCount(): number {
    return this.#dht.nodes.count();
  }

  /** Peers others announced to this node, held now. */
  get storedPeers(): number {
    return this.#dht._peers.size;
  }

  /** This node's ID, 40 hex digits. */
  get nodeId(): string {
    return toHex(this.#dht.nodeId);
  }

  /** Datagrams received, dropped and malformed since the start. */
  get counts(): GuardCounts {
    return { ...this.#counts };
  }

  /** The routing table's nodes, to save. */
  nodes(): DhtEndpoint[] {
    return this.#dht.toJSON().nodes.map(({ host, port }) => ({ host, port }));
  }

  /** Pings `node`; it joins the routing table if it answers. */
  addNode(node: DhtEndpoint): void {
    this.#dht.addNode({ host: node.host, port: node.port });
  }

  /**
   * Calls `listener` for each peer a lookup or announcement hears, with
   * the key (40 hex digits) it was heard for.
   */
  onPeer(listener: (peer: DhtEndpoint, key: string) => void): void {
    this.#dht.on("peer", (peer: DhtEndpoint, hash: Uint8Array) => {
      listener({ host: peer.host, port: peer.port }, toHex(hash));
    });
  }

  /** Calls `listener` when a node joins the routing table. */
  onNode(listener: () => void): void {
    this.#dht.on("node", listener);
  }

  /** Announces `port` for `key`; `done` gets the failure, if all nodes refused. */
  announce(key: string, port: number, done: (error?: Error) => void): void {
    this.#dht.announce(key, port, (error) => done(error ?? undefined));
  }

  /** Asks the nodes nearest `key` for its peers; returns a function that stops telling of them. */
  lookup(key: string, done: () => void): () => void {
    return this.#dht.lookup(key, () => done());
  }

  /** Closes the socket and stops every timer of the library; never throws. */
  close(): Promise<void> {
    this.#closing ??= settleWithin(
      new Promise<void>((resolve) => this.#dht.destroy(resolve)),
      DHT_CLOSE_TIMEOUT_MS,
    );
    return this.#closing;
  }

  /**
   * Keeps out of the routing table a node claiming an address that a node
   * of another ID holds already. Queries add their sender unverified, so
   * one socket sending each query under a new random ID would otherwise
   * fill the table with itself, and lookups would ask only it.
   */
  #oneIdPerEndpoint(): void {
    const rpc = this.#dht._rpc;
    const held = new Map<string, string>();
    const endpoint = (node: Contact) => `${node.host}:${node.port}`;
    const forget = (node: Contact) => {
      if (held.get(endpoint(node)) === toHex(node.id)) {
        held.delete(endpoint(node));
      }
    };
    rpc.nodes.on("added", (node) => held.set(endpoint(node), toHex(node.id)));
    rpc.nodes.on("removed", forget);
    rpc.nodes.on("updated", (old, now) => {
      forget(old);
      held.set(endpoint(now), toHex(now.id));
    });
    const add = rpc._addNode.bind(rpc);
    rpc._addNode = (node: Contact) => {
      const id = held.get(endpoint(node));
      if (id === undefined || id === toHex(node.id)) add(node);
    };
  }

  /** Puts the budget and a try/catch in front of the library's listeners. */
  #guardMessages(): void {
    const socket = this.#socket;
    const listeners = socket.listeners("message");
    socket.removeAllListeners("message");
    socket.on("message", (...args: unknown[]) => {
      this.#counts.received++;
      if (!this.#budget.take()) {
        this.#counts.dropped++;
        return;
      }
      for (const listener of listeners) {
        try {
          listener.apply(socket, args);
        } catch {
          this.#counts.malformed++;
        }
      }
    });
  }
}

function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // Never bound, or closed already.
  }
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
