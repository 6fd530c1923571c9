/**
 * A crowd of simulated peers against one tracker, for the tests and the
 * bench of a tracker that serves a whole community (#22). Each peer opens
 * its own encrypted, compact connection to the tracker from a loopback
 * source address of its own (127.1.0.1, 127.1.0.2, …: Linux answers on all
 * of 127.0.0.0/8) or shares one with others (peers behind one NAT),
 * registers one to ten files (real metadata: random IDs, a hash list of
 * the right length), keeps a read open for the tracker's pushes as a real
 * announcer does, and renews its files every announce interval with
 * `announce`. A peer whose connection broke (the tracker restarted)
 * connects again and registers everything again, as `Announcer` does.
 * Announce, register and query latencies are recorded (`_latency.ts`).
 *
 * Opening is paced (so many at once in all, fewer from one address: the
 * tracker holds few handshakes per address) and bounded in time. One
 * process holds a few ten thousand peers; `_crowd_fleet.ts` splits a larger
 * crowd over child processes.
 *
 * @module
 */

import net from "node:net";
import { NodeSocketConn } from "../lib/nat/_node_socket.ts";
import { type Address, openSecure } from "../lib/net/connection.ts";
import {
  TrackerClient,
  TrackerError,
  TrackerUnreachableError,
} from "../lib/discovery/tracker_client.ts";
import {
  ANNOUNCE_INTERVAL_MS,
  CONNECT_TIMEOUT_MS,
  DEFAULT_PIECE_SIZE,
  HASH_BYTES,
  MAX_IDS_PER_ANNOUNCE,
  MAX_TRACKER_ANSWER_JSON_BYTES,
  SECURE_HANDSHAKE_TIMEOUT_MS,
} from "../lib/protocol/limits.ts";
import { type FileMeta, pieceCount } from "../lib/protocol/messages.ts";
import { Latencies, type LatenciesJson } from "./_latency.ts";

/** Addresses in one 127.N.0.0/16 block (third byte 0-255, fourth 1-254). */
const BLOCK = 256 * 254;
/** Ms between the ticks that announce the peers due and send queries. */
export const TICK_MS = 100;
/** Distinct error texts a crowd keeps counts of. */
const MAX_ERROR_KINDS = 20;
/** Ms before a failed open is tried again (times the attempt). */
const RETRY_MS = 250;

/**
 * The loopback source address of crowd address `index` (0 → 127.1.0.1):
 * never 127.0.0.x, so a crowd never shares an address with the test's own
 * clients.
 */
export function crowdHost(index: number): string {
  const block = Math.floor(index / BLOCK);
  const rest = index % BLOCK;
  if (block > 253) {
    throw new RangeError(`Crowd address ${index} is past 127.254`);
  }
  return `127.${1 + block}.${Math.floor(rest / 254)}.${(rest % 254) + 1}`;
}

/** Options for {@linkcode Crowd.open}. */
export interface CrowdOptions {
  /** The tracker, reached from every peer's source address. */
  tracker: Address;
  /** Peers in this crowd. */
  peers: number;
  /** Global index of this crowd's first peer (a crowd split over processes). @default {0} */
  peerOffset?: number;
  /** Distinct source addresses; peer i comes from address i mod this. @default {one per peer} */
  addresses?: number;
  /** Index (see {@linkcode crowdHost}) of the first source address. @default {0} */
  firstAddress?: number;
  /** Fewest and most files a peer registers (0 and 0: an idle connection). @default {[1, 10]} */
  files?: [number, number];
  /** Largest file size, bytes (sizes are random up to it). @default {4 MiB} */
  maxFileBytes?: number;
  /** Ms between one peer's announces. @default {ANNOUNCE_INTERVAL_MS} */
  announceMs?: number;
  /** Queries a second, all peers together, each for a file the crowd registered. @default {0} */
  queriesPerSecond?: number;
  /** Peers opening at once. @default {256} */
  openAtOnce?: number;
  /** Peers opening at once from one source address. @default {16} */
  openAtOncePerAddress?: number;
  /** Tries to open one peer before giving up on it. @default {3} */
  tries?: number;
  /** Most ms opening the whole crowd may take; peers not opened by then are failed. @default {60_000} */
  openTimeoutMs?: number;
  /** Ms each answer may take. @default {TRACKER_REPLY_TIMEOUT_MS} */
  replyTimeoutMs?: number;
  /** Keep a read open for the tracker's pushes, as a real announcer does. @default {true} */
  listen?: boolean;
}

/** What a crowd did, as plain data (summed over a fleet's processes). */
export interface CrowdStats {
  /** Peers in the crowd. */
  peers: number;
  /** Peers connected right now. */
  open: number;
  /** Peers that could not be opened within their tries or the open time. */
  failed: number;
  /** Files registered by the peers that are open. */
  files: number;
  /** Ms the opening took. */
  openMs: number;
  /** Times a peer connected again after its connection broke. */
  reconnects: number;
  /** Files registered again (the tracker had forgotten them). */
  reregistered: number;
  /** Announces answered. */
  announces: number;
  /** Queries answered with the file. */
  queries: number;
  /** Requests that failed. */
  failures: number;
  /** Latencies of connect + handshake, ms. */
  connectMs: LatenciesJson;
  /** Latencies of `register`, ms. */
  registerMs: LatenciesJson;
  /** Latencies of `announce`, ms. */
  announceMs: LatenciesJson;
  /** Latencies of `query`, ms. */
  queryMs: LatenciesJson;
  /** Failures by what they said. */
  errors: Record<string, number>;
}

/** One simulated peer. */
interface Peer {
  host: string;
  port: number;
  files: FileMeta[];
  client?: TrackerClient;
  /** A request of its own (announce, reopening) is under way. */
  busy: boolean;
}

/** A crowd of simulated peers; see the module documentation. */
export class Crowd {
  #options: CrowdOptions;
  #peers: Peer[];
  #ticker?: ReturnType<typeof setInterval>;
  #tick = 0;
  #closed = false;
  #failed = 0;
  #openMs = 0;
  #reconnects = 0;
  #reregistered = 0;
  #announces = 0;
  #queries = 0;
  #failures = 0;
  #queryDebt = 0;
  #connectMs = new Latencies();
  #registerMs = new Latencies();
  #announceMs = new Latencies();
  #queryMs = new Latencies();
  #errors = new Map<string, number>();

  private constructor(options: CrowdOptions) {
    this.#options = options;
    const offset = options.peerOffset ?? 0;
    const addresses = options.addresses ?? Infinity;
    const first = options.firstAddress ?? 0;
    const [fewest, most] = options.files ?? [1, 10];
    this.#peers = Array.from({ length: options.peers }, (_, i) => {
      const global = offset + i;
      const count = fewest + Math.floor(Math.random() * (most - fewest + 1));
      return {
        host: crowdHost(first + global % addresses),
        // Peers behind one address differ by port, as they would.
        port: 1024 + global % 64_000,
        files: Array.from(
          { length: count },
          (_, n) =>
            randomMeta(`crowd-${global}-${n}.bin`, options.maxFileBytes),
        ),
        busy: false,
      };
    });
  }

  /**
   * Opens every peer (paced, within `openTimeoutMs`), registers its files,
   * then keeps announcing; resolves once all are open or given up on.
   */
  static async open(options: CrowdOptions): Promise<Crowd> {
    const crowd = new Crowd(options);
    await crowd.#openAll();
    crowd.#ticker = setInterval(() => crowd.#onTick(), TICK_MS);
    return crowd;
  }

  /** Peers connected right now. */
  get open(): number {
    return this.#peers.filter((peer) => peer.client).length;
  }

  /** Every file ID the open peers registered. */
  ids(): string[] {
    return this.#peers.flatMap((peer) =>
      peer.client ? peer.files.map((file) => file.id) : []
    );
  }

  /** What the crowd did so far. */
  stats(): CrowdStats {
    return {
      peers: this.#peers.length,
      open: this.open,
      failed: this.#failed,
      files: this.#peers.reduce(
        (sum, peer) => sum + (peer.client ? peer.files.length : 0),
        0,
      ),
      openMs: this.#openMs,
      reconnects: this.#reconnects,
      reregistered: this.#reregistered,
      announces: this.#announces,
      queries: this.#queries,
      failures: this.#failures,
      connectMs: this.#connectMs.toJSON(),
      registerMs: this.#registerMs.toJSON(),
      announceMs: this.#announceMs.toJSON(),
      queryMs: this.#queryMs.toJSON(),
      errors: Object.fromEntries(this.#errors),
    };
  }

  /** Forgets the latencies and counts so far (to measure from now on). */
  resetCounts(): void {
    for (const l of [this.#announceMs, this.#queryMs, this.#registerMs]) {
      l.reset();
    }
    this.#announces = this.#queries = this.#failures = 0;
    this.#errors.clear();
  }

  /** Closes every peer's connection (no unregister: they vanish, as killed peers do). */
  close(): void {
    this.#closed = true;
    clearInterval(this.#ticker);
    for (const peer of this.#peers) {
      peer.client?.close();
      peer.client = undefined;
    }
  }

  /** Opens every peer through a window of `openAtOnce` workers. */
  async #openAll(): Promise<void> {
    const started = performance.now();
    const deadline = started + (this.#options.openTimeoutMs ?? 60_000);
    const perAddress = new Gate(this.#options.openAtOncePerAddress ?? 16);
    let next = 0;
    const worker = async () => {
      while (next < this.#peers.length && !this.#closed) {
        const peer = this.#peers[next++];
        if (!await this.#openWithRetries(peer, perAddress, deadline)) {
          this.#failed++;
        }
      }
    };
    const workers = Math.min(
      this.#options.openAtOnce ?? 256,
      this.#peers.length,
    );
    await Promise.all(Array.from({ length: workers }, worker));
    this.#openMs = performance.now() - started;
  }

  async #openWithRetries(
    peer: Peer,
    gate: Gate,
    deadline: number,
  ): Promise<boolean> {
    const tries = this.#options.tries ?? 3;
    for (let attempt = 1; attempt <= tries; attempt++) {
      if (performance.now() > deadline || this.#closed) return false;
      await gate.enter(peer.host);
      try {
        await this.#connect(peer);
        await this.#registerAll(peer, peer.files);
        return true;
      } catch (error) {
        this.#note(error);
        peer.client?.close();
        peer.client = undefined;
      } finally {
        gate.leave(peer.host);
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS * attempt));
    }
    return false;
  }

  /** Connects `peer` from its source address and runs the handshake. */
  async #connect(peer: Peer): Promise<void> {
    const started = performance.now();
    const socket = await nodeConnect(this.#options.tracker, peer.host);
    const connection = await openSecure(new NodeSocketConn(socket), {
      handshakeMs: SECURE_HANDSHAKE_TIMEOUT_MS,
      limits: { compact: true, maxJsonBytes: MAX_TRACKER_ANSWER_JSON_BYTES },
    });
    const client = TrackerClient.over(connection, this.#options.tracker, {
      replyTimeoutMs: this.#options.replyTimeoutMs,
    });
    if (this.#options.listen ?? true) client.listen(() => {});
    this.#connectMs.add(performance.now() - started);
    if (this.#closed) client.close();
    else peer.client = client;
  }

  /** Registers `files` of `peer`, pipelined on its connection. */
  async #registerAll(peer: Peer, files: FileMeta[]): Promise<void> {
    const client = peer.client;
    if (!client) throw new Error("Not connected");
    await Promise.all(files.map(async (file) => {
      const started = performance.now();
      await client.register(file, peer.port);
      this.#registerMs.add(performance.now() - started);
    }));
  }

  #onTick(): void {
    const slots = Math.max(
      1,
      Math.round((this.#options.announceMs ?? ANNOUNCE_INTERVAL_MS) / TICK_MS),
    );
    const slot = this.#tick++ % slots;
    for (let i = slot; i < this.#peers.length; i += slots) {
      const peer = this.#peers[i];
      if (!peer.busy && peer.files.length > 0) this.#renew(peer);
    }
    this.#sendQueries();
  }

  /** One announce of `peer`; on a broken connection, connects again and registers all. */
  async #renew(peer: Peer): Promise<void> {
    peer.busy = true;
    try {
      if (!peer.client) {
        // Its connection broke and connecting again failed: try each interval.
        await this.#reopen(peer);
        return;
      }
      const client = peer.client;
      const ids = peer.files.map((file) => file.id);
      try {
        const unknown: string[] = [];
        for (let i = 0; i < ids.length; i += MAX_IDS_PER_ANNOUNCE) {
          const started = performance.now();
          unknown.push(
            ...await client.announce(
              ids.slice(i, i + MAX_IDS_PER_ANNOUNCE),
              peer.port,
            ),
          );
          this.#announceMs.add(performance.now() - started);
          this.#announces++;
        }
        const again = peer.files.filter((file) => unknown.includes(file.id));
        await this.#registerAll(peer, again);
        this.#reregistered += again.length;
      } catch (error) {
        this.#note(error);
        if (!(error instanceof TrackerUnreachableError)) return;
        // The tracker dropped the connection (it restarted): once more on a new one.
        client.close();
        peer.client = undefined;
        await this.#reopen(peer);
      }
    } catch (error) {
      this.#note(error);
      peer.client?.close();
      peer.client = undefined;
    } finally {
      peer.busy = false;
    }
  }

  /** Connects `peer` again and registers all its files. */
  async #reopen(peer: Peer): Promise<void> {
    if (this.#closed) return;
    await this.#connect(peer);
    this.#reconnects++;
    await this.#registerAll(peer, peer.files);
    this.#reregistered += peer.files.length;
  }

  /** This tick's share of the queries, each from a random open peer. */
  #sendQueries(): void {
    const rate = this.#options.queriesPerSecond ?? 0;
    if (rate <= 0) return;
    this.#queryDebt += rate * TICK_MS / 1000;
    for (; this.#queryDebt >= 1; this.#queryDebt--) {
      const asker = this.#peers[Math.floor(Math.random() * this.#peers.length)];
      const owner = this.#peers[Math.floor(Math.random() * this.#peers.length)];
      if (!asker.client || owner.files.length === 0) continue;
      const file = owner.files[Math.floor(Math.random() * owner.files.length)];
      const started = performance.now();
      asker.client.query(file.id).then(() => {
        this.#queryMs.add(performance.now() - started);
        this.#queries++;
      }, (error) => this.#note(error));
    }
  }

  #note(error: unknown): void {
    this.#failures++;
    const key = errorKind(error);
    if (this.#errors.has(key) || this.#errors.size < MAX_ERROR_KINDS) {
      this.#errors.set(key, (this.#errors.get(key) ?? 0) + 1);
    }
  }
}

/** Adds `b` into `a`: the stats of two parts of one crowd as one. */
export function mergeStats(a: CrowdStats, b: CrowdStats): CrowdStats {
  const merged = (x: LatenciesJson, y: LatenciesJson) => {
    const l = new Latencies();
    l.merge(x);
    l.merge(y);
    return l.toJSON();
  };
  const errors = { ...a.errors };
  for (const [key, count] of Object.entries(b.errors)) {
    errors[key] = (errors[key] ?? 0) + count;
  }
  return {
    peers: a.peers + b.peers,
    open: a.open + b.open,
    failed: a.failed + b.failed,
    files: a.files + b.files,
    openMs: Math.max(a.openMs, b.openMs),
    reconnects: a.reconnects + b.reconnects,
    reregistered: a.reregistered + b.reregistered,
    announces: a.announces + b.announces,
    queries: a.queries + b.queries,
    failures: a.failures + b.failures,
    connectMs: merged(a.connectMs, b.connectMs),
    registerMs: merged(a.registerMs, b.registerMs),
    announceMs: merged(a.announceMs, b.announceMs),
    queryMs: merged(a.queryMs, b.queryMs),
    errors,
  };
}

/**
 * `count` raw TCP connections to `tracker` from `host` that never send a
 * byte (half-open: the handshake never starts); resolves to those the
 * kernel completed within the connect time-out. Destroy them when done.
 */
export async function halfOpen(
  tracker: Address,
  host: string,
  count: number,
): Promise<net.Socket[]> {
  const settled = await Promise.allSettled(
    Array.from({ length: count }, () => nodeConnect(tracker, host)),
  );
  return settled.flatMap((s) => s.status === "fulfilled" ? [s.value] : []);
}

/** A `node:net` socket to `tracker` from `localAddress`, once connected. */
function nodeConnect(
  tracker: Address,
  localAddress: string,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: tracker.host,
      port: tracker.port,
      localAddress,
      allowHalfOpen: true,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Deno.errors.TimedOut(`Connecting from ${localAddress} timed out`),
      );
    }, CONNECT_TIMEOUT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}

/** Metadata of a file of random ID and size up to `maxBytes`, named `name`. */
export function randomMeta(name: string, maxBytes = 4 * 1024 * 1024): FileMeta {
  const size = 1 + Math.floor(Math.random() * maxBytes);
  const pieceHashes = new Uint8Array(
    pieceCount(size, DEFAULT_PIECE_SIZE) * HASH_BYTES,
  );
  crypto.getRandomValues(pieceHashes);
  const id = new Uint8Array(HASH_BYTES);
  crypto.getRandomValues(id);
  return {
    id: id.toHex(),
    name,
    size,
    pieceSize: DEFAULT_PIECE_SIZE,
    pieceHashes,
  };
}

/** A failure as a short, countable text. */
function errorKind(error: unknown): string {
  if (error instanceof TrackerError) return `${error.code}: ${error.message}`;
  const text = error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
  return text.slice(0, 160);
}

/** Holds back more than `limit` at once per key. */
class Gate {
  #limit: number;
  #inside = new Map<string, number>();
  #waiting = new Map<string, (() => void)[]>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  async enter(key: string): Promise<void> {
    while ((this.#inside.get(key) ?? 0) >= this.#limit) {
      await new Promise<void>((resolve) => {
        const queue = this.#waiting.get(key) ?? [];
        queue.push(resolve);
        this.#waiting.set(key, queue);
      });
    }
    this.#inside.set(key, (this.#inside.get(key) ?? 0) + 1);
  }

  leave(key: string): void {
    const inside = (this.#inside.get(key) ?? 1) - 1;
    if (inside === 0) this.#inside.delete(key);
    else this.#inside.set(key, inside);
    const queue = this.#waiting.get(key);
    const wake = queue?.shift();
    if (queue && queue.length === 0) this.#waiting.delete(key);
    wake?.();
  }
}
