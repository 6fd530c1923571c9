/**
 * Finding peers anywhere on the internet without a tracker: the BitTorrent
 * Mainline DHT (BEP 5), through bittorrent-dht. A peer offers keys
 * (announced at once and every 15 minutes to the nodes nearest each key)
 * and finds keys (looked up at once, then again with a growing pause,
 * while the search lives). Keys are `discoveryKey`s (`lan.ts`), 20 bytes
 * like a BitTorrent infohash, never file IDs or lookup keys themselves:
 * everything said on the DHT is public.
 *
 * Datagrams come from anyone, so what they can grow is capped: datagrams
 * read per second, peers others announce to this node (which expire),
 * peers kept per searched key, keys offered and searched, lookups running
 * at once. The routing table is saved on close and read at start, so a
 * restart rejoins through the nodes it knew.
 *
 * IPv4 only (bittorrent-dht has no BEP 32). Needs `--allow-net` (all
 * hosts) and `--allow-env` (bittorrent-dht's `debug` reads the whole
 * environment); without them {@linkcode DhtDiscovery.start} says so and
 * the DHT is off.
 *
 * @module
 */

import type { Address } from "../net/connection.ts";
import { GuardedDht, loadDhtLibrary } from "./_dht_guard.ts";
import { MAX_SAVED_NODES, readNodes, saveNodes } from "./_dht_nodes_file.ts";
import {
  bindSocket,
  checkOptions,
  type DhtOptions,
  missingPermission,
} from "./_dht_setup.ts";
export { MAX_NODES_FILE_BYTES, MAX_SAVED_NODES } from "./_dht_nodes_file.ts";
export {
  NO_SUCH_HOST,
  pingDhtNodes,
  type PingedNode,
  type PingOptions,
} from "./_dht_ping.ts";
export {
  bootstrapNode,
  DHT_BOOTSTRAP,
  DHT_UDP_PORT,
  type DhtOptions,
} from "./_dht_setup.ts";

/** Ms between announcements of every offered key. */
export const DHT_REANNOUNCE_MS = 15 * 60_000;
/** Pauses between a search's lookups, after the first at once; the last repeats. */
export const DHT_FIND_RETRY_MS: readonly number[] = [
  // A node that just joined knows few others: its first lookup may miss.
  1_000,
  5_000,
  15_000,
  30_000,
  60_000,
];
/** Most peers remembered per searched key; past it the oldest is forgotten. */
export const MAX_DHT_PEERS_PER_KEY = 200;
/** Most keys offered at once, and most keys searched at once. */
export const MAX_DHT_KEYS = 1024;
/** Most peers that others announced this node keeps, over all keys. */
export const MAX_STORED_PEERS = 2048;
/** Ms a peer others announced is kept (BEP 5 leaves it to the node; they re-announce). */
export const STORED_PEER_MAX_AGE_MS = 30 * 60_000;
/** Most datagrams read a second; the rest are dropped undecoded. */
export const MAX_DHT_RECEIVED_PER_SECOND = 1000;
/** Most lookups and announcements walking the DHT at once; the rest wait. */
export const MAX_DHT_WALKS = 4;
/** Most ms a lookup or announcement holds its place among MAX_DHT_WALKS. */
export const DHT_WALK_TIMEOUT_MS = 60_000;
/** Most ms the first walks wait for a node in the routing table. */
export const DHT_BOOT_WAIT_MS = 3_000;
/** Least ms between two log lines about socket errors (a failing send repeats). */
export const DHT_SOCKET_ERROR_LOG_MS = 60_000;

/** Counters of a {@linkcode DhtDiscovery} since it started, and what it holds now. */
export interface DhtStats {
  /** Nodes in the routing table now. */
  nodes: number;
  /** Lookups run. */
  lookups: number;
  /** Announcements that at least one node accepted. */
  announces: number;
  /** Peers found, counted once per key. */
  peers: number;
  /** Datagrams that arrived. */
  received: number;
  /** Datagrams dropped unread, over MAX_DHT_RECEIVED_PER_SECOND. */
  dropped: number;
  /** Datagrams that were not a usable KRPC message. */
  malformed: number;
  /** Peers others announced to this node, held now (at most MAX_STORED_PEERS). */
  stored: number;
  /** Keys offered and keys searched now. */
  keys: number;
}

/** The searches for one key, sharing one schedule of lookups. */
interface Search {
  finders: Set<(address: Address) => void>;
  /** By `host:port`, oldest first. */
  peers: Map<string, Address>;
  timer?: ReturnType<typeof setTimeout>;
  /** Lookups run so far, which picks the next pause. */
  rounds: number;
  /** Stops telling of the running lookup's peers. */
  abort?: () => void;
}

/** A lookup or an announcement waiting for its turn. */
interface Walk {
  kind: "lookup" | "announce";
  key: string;
}

/**
 * DHT discovery on one UDP port: offers keys, finds peers that offer them.
 * Start it with {@linkcode DhtDiscovery.start}; close it when done (its
 * timers keep the process alive until then).
 *
 * @example
 * ```ts
 * const dht = await DhtDiscovery.start({
 *   port: server.address.port,
 *   nodesFile: join(dataDir, "dht_nodes.json"),
 * });
 * dht?.offer(discoveryKey(fileId));
 * using _ = dht?.find(discoveryKey(wanted), (peer) => pool.add(peer));
 * await dht?.close();
 * ```
 */
export class DhtDiscovery implements AsyncDisposable {
  #dht: GuardedDht;
  #port: number;
  #nodesFile?: string;
  #log: (line: string) => void;
  #offered = new Set<string>();
  #searches = new Map<string, Search>();
  #queue = new Map<string, Walk>();
  #walking = 0;
  #booted = false;
  #bootTimer: ReturnType<typeof setTimeout>;
  #announceTimer: ReturnType<typeof setInterval>;
  #counts = { lookups: 0, announces: 0, peers: 0 };
  #announceFailing = false;
  #closing?: Promise<void>;

  private constructor(dht: GuardedDht, options: DhtOptions) {
    this.#dht = dht;
    this.#port = options.port;
    this.#nodesFile = options.nodesFile;
    this.#log = options.log ?? (() => {});
    dht.onPeer((peer, key) => this.#heard(key, peer));
    // Walks wait for a first node (the bootstrap or a saved one answering),
    // or a few seconds: a lookup with an empty table finds nothing.
    dht.onNode(() => this.#boot());
    this.#bootTimer = setTimeout(() => this.#boot(), DHT_BOOT_WAIT_MS);
    Deno.unrefTimer(this.#bootTimer);
    this.#announceTimer = setInterval(() => {
      for (const key of this.#offered) this.#enqueue("announce", key);
    }, options.reannounceMs ?? DHT_REANNOUNCE_MS);
    Deno.unrefTimer(this.#announceTimer);
  }

  /**
   * Binds the UDP port and joins the DHT through the saved nodes and the
   * bootstrap nodes; resolves to undefined, after a log line saying why,
   * when the DHT cannot run here (permissions missing, the port taken, the
   * address not local). Throws a RangeError only for options wrong in
   * themselves (a port out of range, a bootstrap entry not `host:port`).
   */
  static async start(options: DhtOptions): Promise<DhtDiscovery | undefined> {
    const bootstrap = checkOptions(options);
    const log = options.log ?? (() => {});
    const host = options.host ?? "0.0.0.0";
    const missing = missingPermission();
    if (missing) {
      log(`DHT discovery is off: it needs ${missing}.`);
      return undefined;
    }
    let library;
    try {
      library = await loadDhtLibrary();
    } catch (error) {
      log(
        `DHT discovery is off: cannot load bittorrent-dht: ${message(error)}`,
      );
      return undefined;
    }
    const socket = await bindSocket(host, options.udpPort, log);
    if (!socket) return undefined;
    const saved = options.nodesFile
      ? await readNodes(options.nodesFile, log)
      : undefined;
    const dht = new GuardedDht(library, socket, {
      bootstrap,
      nodeId: saved?.id,
      maxStoredPeers: MAX_STORED_PEERS,
      storedPeerMaxAgeMs: STORED_PEER_MAX_AGE_MS,
      maxReceivedPerSecond: MAX_DHT_RECEIVED_PER_SECOND,
      onSocketError: throttled(
        (error) => log(`DHT socket error: ${error.message}`),
        DHT_SOCKET_ERROR_LOG_MS,
      ),
    });
    for (const node of saved?.nodes ?? []) dht.addNode(node);
    return new DhtDiscovery(dht, options);
  }

  /** The UDP port the DHT node listens on. */
  get udpPort(): number {
    return this.#dht.port;
  }

  /** Counters since the start, and what is held now. */
  get stats(): DhtStats {
    const counts = this.#dht.counts;
    return {
      nodes: this.#closing ? 0 : this.#dht.nodeCount,
      ...this.#counts,
      ...counts,
      stored: this.#dht.storedPeers,
      keys: this.#offered.size + this.#searches.size,
    };
  }

  /**
   * Offers `key` (40 hex digits, a `discoveryKey`): announces
   * this peer's port for it now and every reannounce interval until
   * withdrawn. A key past MAX_DHT_KEYS, or offered once closed, is only
   * logged; false then. Throws a TypeError for a key that is not one.
   */
  offer(key: string): boolean {
    key = checkKey(key);
    if (this.#closing) return false;
    if (this.#offered.has(key)) return true;
    if (this.#offered.size >= MAX_DHT_KEYS) {
      this.#log(`Not offering more than ${MAX_DHT_KEYS} keys on the DHT.`);
      return false;
    }
    this.#offered.add(key);
    this.#enqueue("announce", key);
    return true;
  }

  /** Stops announcing `key`; the nodes forget it within STORED_PEER_MAX_AGE_MS or so. */
  withdraw(key: string): void {
    key = checkKey(key);
    this.#offered.delete(key);
    this.#queue.delete(`announce ${key}`);
  }

  /**
   * Looks for peers offering `key` (40 hex digits, a
   * `discoveryKey`, never the ID it is derived from): looks it up
   * now, then again after each pause of DHT_FIND_RETRY_MS until disposed,
   * and calls `onPeer` once for each peer found for it, and for those found
   * already (again for one forgotten meanwhile, past
   * MAX_DHT_PEERS_PER_KEY). The DHT cannot tell this peer's own address
   * from others': it is found too when this peer offers `key`. Past
   * MAX_DHT_KEYS keys searched at once, or once closed, the search finds
   * nothing (and is logged). Throws a TypeError for a key that is not one.
   */
  find(key: string, onPeer: (address: Address) => void): Disposable {
    key = checkKey(key);
    const nothing = { [Symbol.dispose]: () => {} };
    if (this.#closing) return nothing;
    let search = this.#searches.get(key);
    if (!search) {
      if (this.#searches.size >= MAX_DHT_KEYS) {
        this.#log(`Not searching more than ${MAX_DHT_KEYS} keys on the DHT.`);
        return nothing;
      }
      search = { finders: new Set(), peers: new Map(), rounds: 0 };
      this.#searches.set(key, search);
      this.#enqueue("lookup", key);
    }
    const found = search;
    const finder = (address: Address) => onPeer(address);
    found.finders.add(finder);
    const known = [...found.peers.values()];
    queueMicrotask(() => {
      for (const peer of known) {
        if (found.finders.has(finder)) this.#tell(finder, peer);
      }
    });
    return { [Symbol.dispose]: () => this.#stopFinding(key, found, finder) };
  }

  /**
   * Saves the routing table to the nodes file (if given and not empty),
   * stops every timer and closes the socket (waiting at most a second).
   * Never throws; safe to call more than once.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** Same as {@linkcode close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #shutdown(): Promise<void> {
    clearTimeout(this.#bootTimer);
    clearInterval(this.#announceTimer);
    for (const search of this.#searches.values()) {
      clearTimeout(search.timer);
      search.abort?.();
    }
    this.#searches.clear();
    this.#offered.clear();
    this.#queue.clear();
    if (this.#nodesFile) {
      await saveNodes(this.#nodesFile, {
        id: this.#dht.nodeId,
        nodes: this.#dht.nodes().slice(0, MAX_SAVED_NODES),
      }, this.#log);
    }
    await this.#dht.close();
  }

  #boot(): void {
    if (this.#booted) return;
    this.#booted = true;
    clearTimeout(this.#bootTimer);
    this.#pump();
  }

  #stopFinding(
    key: string,
    search: Search,
    finder: (address: Address) => void,
  ): void {
    search.finders.delete(finder);
    if (search.finders.size > 0 || this.#searches.get(key) !== search) return;
    clearTimeout(search.timer);
    search.abort?.();
    this.#searches.delete(key);
    this.#queue.delete(`lookup ${key}`);
  }

  /** Tells the searches for `key` of `peer`, if new to them. */
  #heard(key: string, peer: Address): void {
    const search = this.#searches.get(key);
    const id = `${peer.host}:${peer.port}`;
    if (!search || search.peers.has(id)) return;
    if (search.peers.size >= MAX_DHT_PEERS_PER_KEY) {
      search.peers.delete(search.peers.keys().next().value!);
    }
    search.peers.set(id, peer);
    this.#counts.peers++;
    for (const finder of [...search.finders]) this.#tell(finder, peer);
  }

  #tell(finder: (address: Address) => void, peer: Address): void {
    try {
      finder({ ...peer });
    } catch (error) {
      this.#log(`A DHT peer handler failed: ${message(error)}`);
    }
  }

  #enqueue(kind: Walk["kind"], key: string): void {
    if (this.#closing) return;
    this.#queue.set(`${kind} ${key}`, { kind, key });
    this.#pump();
  }

  /** Starts queued walks, oldest first, while fewer than MAX_DHT_WALKS run. */
  #pump(): void {
    while (
      this.#booted && !this.#closing && this.#walking < MAX_DHT_WALKS &&
      this.#queue.size > 0
    ) {
      const [id, walk] = this.#queue.entries().next().value!;
      this.#queue.delete(id);
      this.#walking++;
      let finished = false;
      const done = () => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        this.#walking--;
        this.#pump();
      };
      const timer = setTimeout(done, DHT_WALK_TIMEOUT_MS);
      Deno.unrefTimer(timer);
      if (walk.kind === "announce") this.#announce(walk.key, done);
      else this.#lookup(walk.key, done);
    }
  }

  #announce(key: string, done: () => void): void {
    this.#dht.announce(key, this.#port, (error) => {
      done();
      if (this.#closing) return;
      if (!error) {
        this.#counts.announces++;
        this.#announceFailing = false;
      } else if (!this.#announceFailing) {
        this.#announceFailing = true;
        this.#log(`DHT announcement failed: ${error.message}`);
      }
    });
  }

  #lookup(key: string, done: () => void): void {
    const search = this.#searches.get(key);
    if (!search) return done();
    this.#counts.lookups++;
    search.abort = this.#dht.lookup(key, () => {
      done();
      if (this.#searches.get(key) !== search) return;
      search.abort = undefined;
      const pauses = DHT_FIND_RETRY_MS;
      const pause = pauses[Math.min(search.rounds, pauses.length - 1)];
      search.rounds++;
      search.timer = setTimeout(() => this.#enqueue("lookup", key), pause);
      Deno.unrefTimer(search.timer);
    });
  }
}

const KEY = /^[0-9a-fA-F]{40}$/;

function checkKey(key: string): string {
  if (typeof key !== "string" || !KEY.test(key)) {
    throw new TypeError(`DHT discovery key "${key}" is not 40 hex digits.`);
  }
  return key.toLowerCase();
}

/** `fn`, called at most once every `ms`; the calls between are dropped. */
function throttled<T>(fn: (value: T) => void, ms: number): (value: T) => void {
  let last = -Infinity;
  return (value) => {
    const now = performance.now();
    if (now - last < ms) return;
    last = now;
    fn(value);
  };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
