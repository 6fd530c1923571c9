/**
 * Finding peers on the local network without a tracker: BEP 14 (Local
 * Service Discovery) over IPv4 multicast, one hop (TTL 1). A peer offers
 * keys (announced at once and every few minutes, and answered at once when
 * someone else announces them) and finds keys (announced at once, then
 * again with a growing pause, while the search lives). Keys are
 * {@linkcode discoveryKey}s, never file IDs or lookup keys themselves.
 *
 * Datagrams come from anyone on the LAN, so everything they can grow is
 * capped: datagrams read per second, peers kept per key, answers per key
 * and datagrams sent per second; a bad datagram is counted and dropped.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { Socket } from "node:dgram";
import type { Address } from "../net/connection.ts";
import {
  checkKey,
  decodeLanMessage,
  encodeLanMessage,
  type GroupAddress,
  joinGroup,
  leaveGroup,
  MAX_KEYS_PER_MESSAGE,
  newCookie,
} from "./_lan_wire.ts";
import { PerSecondBudget } from "../util/per_second_budget.ts";
export {
  checkLanDiscovery,
  type LanCheck,
  type LanCheckOptions,
} from "./_lan_check.ts";

/** The BEP 14 multicast group. */
export const LAN_GROUP = "239.192.152.143";
/** The BEP 14 UDP port. */
export const LAN_UDP_PORT = 6771;
/** Ms between announcements of every offered key: 5 minutes, as BEP 14. */
export const LAN_ANNOUNCE_INTERVAL_MS = 5 * 60_000;
/** Ms before a search announces its key the second time; each pause then doubles. */
export const FIND_FIRST_RETRY_MS = 1_000;
/** Longest pause between a search's announcements. */
export const FIND_MAX_RETRY_MS = 60_000;
/** Least ms between two answers for one offered key to one asker. */
export const ANSWER_INTERVAL_MS = 1_000;
/** Most datagrams sent a second, whatever arrives. */
export const MAX_SENT_PER_SECOND = 20;
/** Most datagrams read a second; the rest are dropped undecoded. */
export const MAX_RECEIVED_PER_SECOND = 500;
/** Most peers remembered per searched key; past it the oldest is forgotten. */
export const MAX_PEERS_PER_KEY = 64;
/** Most keys offered at once, and most keys searched at once. */
export const MAX_LAN_KEYS = 1024;

/** Options for {@linkcode LanDiscovery.start}. */
export interface LanDiscoveryOptions {
  /** The TCP port this peer serves on, announced to others. */
  port: number;
  /** The multicast group. @default {LAN_GROUP} */
  group?: string;
  /** The UDP port of the group. @default {LAN_UDP_PORT} */
  udpPort?: number;
  /** The local IPv4 address whose interface to use. @default {the route to 224.0.0.0/4} */
  interface?: string;
  /** Ms between announcements of offered keys. @default {LAN_ANNOUNCE_INTERVAL_MS} */
  announceIntervalMs?: number;
  /** Receives one line per notable event (discovery off, sending fails). */
  log?: (line: string) => void;
}

/** Counters of a {@linkcode LanDiscovery} since it started. */
export interface LanStats {
  /** Datagrams that arrived. */
  received: number;
  /** Datagrams dropped unread, over MAX_RECEIVED_PER_SECOND. */
  dropped: number;
  /** Datagrams that were not an announcement. */
  malformed: number;
  /** Datagrams sent. */
  sent: number;
  /** Peers remembered, over all searches. */
  peers: number;
  /** Keys offered and keys searched. */
  keys: number;
}

/** One call of {@linkcode LanDiscovery.find} while it lives. */
interface Finder {
  onPeer: (address: Address) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/** The searches for one key. */
interface Search {
  finders: Set<Finder>;
  /** By `host:port`, oldest first. */
  peers: Map<string, Address>;
}

/**
 * LAN discovery on one multicast group: offers keys, finds peers that offer
 * them. Start it with {@linkcode LanDiscovery.start}; close it when done.
 *
 * @example
 * ```ts
 * const lan = await LanDiscovery.start({ port: server.address.port });
 * lan?.offer(discoveryKey(fileId));
 * using _ = lan?.find(discoveryKey(wanted), (peer) => pool.add(peer));
 * await lan?.close();
 * ```
 */
export class LanDiscovery implements AsyncDisposable {
  #socket: Socket;
  #where: GroupAddress;
  #port: number;
  #log: (line: string) => void;
  #cookie = newCookie();
  /** Offered keys, each with when it was last answered (-Infinity: never). */
  #offered = new Map<string, number>();
  /** Per offered key, the askers (`host:port`) answered since its time in `#offered`. */
  #answered = new Map<string, Set<string>>();
  #searches = new Map<string, Search>();
  /** Keys to send in the next datagrams. */
  #queue = new Set<string>();
  #flushTimer?: ReturnType<typeof setTimeout>;
  #announceTimer: ReturnType<typeof setInterval>;
  #sendBudget = new PerSecondBudget(MAX_SENT_PER_SECOND);
  #receiveBudget = new PerSecondBudget(MAX_RECEIVED_PER_SECOND);
  #counts = { received: 0, dropped: 0, malformed: 0, sent: 0 };
  #sendFailing = false;
  #closing?: Promise<void>;

  private constructor(
    socket: Socket,
    where: GroupAddress,
    options: LanDiscoveryOptions,
  ) {
    this.#socket = socket;
    this.#where = where;
    this.#port = options.port;
    this.#log = options.log ?? (() => {});
    socket.on("message", (bytes: Uint8Array, from: { address: string }) => {
      // Deno swallows what a listener throws: nothing may escape unseen.
      try {
        this.#receive(bytes, from.address);
      } catch (error) {
        this.#counts.malformed++;
        this.#log(`LAN discovery dropped a datagram: ${message(error)}`);
      }
    });
    socket.on("error", (error: Error) => {
      this.#log(`LAN discovery socket error: ${error.message}`);
    });
    this.#announceTimer = setInterval(
      () => this.#announceSoon(this.#offered.keys()),
      options.announceIntervalMs ?? LAN_ANNOUNCE_INTERVAL_MS,
    );
    Deno.unrefTimer(this.#announceTimer);
  }

  /**
   * Joins the group and starts listening; resolves to undefined, after a
   * log line saying why, when multicast cannot be used here (no route for
   * it, no such interface, not permitted, the port taken). Throws a
   * RangeError only for options wrong in themselves (a port out of range,
   * a group that is not IPv4 multicast).
   */
  static async start(
    options: LanDiscoveryOptions,
  ): Promise<LanDiscovery | undefined> {
    checkOptions(options);
    const where: GroupAddress = {
      group: options.group ?? LAN_GROUP,
      udpPort: options.udpPort ?? LAN_UDP_PORT,
      interface: options.interface,
    };
    try {
      return new LanDiscovery(await joinGroup(where), where, options);
    } catch (error) {
      options.log?.(
        `LAN discovery is off: cannot join multicast group ${where.group}:${where.udpPort} on ${
          where.interface ?? "the default interface"
        }: ${message(error)}.`,
      );
      return undefined;
    }
  }

  /** Counters since the start, and what is held now. */
  get stats(): LanStats {
    let peers = 0;
    for (const search of this.#searches.values()) peers += search.peers.size;
    const keys = this.#offered.size + this.#searches.size;
    return { ...this.#counts, peers, keys };
  }

  /**
   * Offers `key` (40 hex digits): announces it now and every interval, and
   * answers others who announce it. The LAN is a bonus, so a key past
   * MAX_LAN_KEYS, or offered once closed, is only logged; false then.
   * Throws a TypeError for a key that is not one.
   */
  offer(key: string): boolean {
    key = checkKey(key);
    if (this.#closing) return false;
    if (this.#offered.has(key)) return true;
    if (this.#offered.size >= MAX_LAN_KEYS) {
      this.#log(`Not offering more than ${MAX_LAN_KEYS} keys on the LAN.`);
      return false;
    }
    this.#offered.set(key, -Infinity);
    this.#announceSoon([key]);
    return true;
  }

  /** Stops offering `key`. */
  withdraw(key: string): void {
    key = checkKey(key);
    this.#offered.delete(key);
    this.#answered.delete(key);
    if (!this.#searches.has(key)) this.#queue.delete(key);
  }

  /**
   * Looks for peers offering `key` (40 hex digits): announces it now, then
   * again after 1, 2, 4… s (at most FIND_MAX_RETRY_MS apart) until
   * disposed, and calls `onPeer` once for each other peer heard announcing
   * it, and for those heard already (again for one forgotten meanwhile,
   * past MAX_PEERS_PER_KEY). Past MAX_LAN_KEYS keys searched at
   * once, or once closed, the search finds nothing (and is logged). Throws
   * a TypeError for a key that is not one.
   */
  find(key: string, onPeer: (address: Address) => void): Disposable {
    key = checkKey(key);
    const nothing = { [Symbol.dispose]: () => {} };
    if (this.#closing) return nothing;
    let search = this.#searches.get(key);
    if (!search) {
      if (this.#searches.size >= MAX_LAN_KEYS) {
        this.#log(`Not searching more than ${MAX_LAN_KEYS} keys on the LAN.`);
        return nothing;
      }
      search = { finders: new Set(), peers: new Map() };
      this.#searches.set(key, search);
    }
    const found = search;
    const finder: Finder = { onPeer };
    found.finders.add(finder);
    const known = [...found.peers.values()];
    queueMicrotask(() => {
      for (const peer of known) {
        if (found.finders.has(finder)) this.#tell(finder, peer);
      }
    });
    let pause = FIND_FIRST_RETRY_MS;
    const ask = () => {
      this.#announceSoon([key]);
      finder.timer = setTimeout(ask, pause);
      Deno.unrefTimer(finder.timer);
      pause = Math.min(2 * pause, FIND_MAX_RETRY_MS);
    };
    ask();
    return { [Symbol.dispose]: () => this.#stopFinding(key, found, finder) };
  }

  /**
   * Stops every timer, leaves the group and closes the socket (waiting at
   * most a second). Safe to call more than once.
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
    clearInterval(this.#announceTimer);
    clearTimeout(this.#flushTimer);
    for (const search of this.#searches.values()) {
      for (const finder of search.finders) clearTimeout(finder.timer);
    }
    this.#searches.clear();
    this.#offered.clear();
    this.#answered.clear();
    this.#queue.clear();
    await leaveGroup(this.#socket, this.#where);
  }

  #stopFinding(key: string, search: Search, finder: Finder): void {
    clearTimeout(finder.timer);
    search.finders.delete(finder);
    if (search.finders.size > 0 || this.#searches.get(key) !== search) return;
    this.#searches.delete(key);
    if (!this.#offered.has(key)) this.#queue.delete(key);
  }

  #receive(bytes: Uint8Array, host: string): void {
    this.#counts.received++;
    if (this.#closing) return;
    if (!this.#receiveBudget.take()) {
      this.#counts.dropped++;
      return;
    }
    const announced = decodeLanMessage(bytes);
    if (!announced) {
      this.#counts.malformed++;
      return;
    }
    if (announced.cookie === this.#cookie) return; // our own, looped back
    const now = performance.now();
    const answers: string[] = [];
    for (const key of announced.keys) {
      this.#heard(key, { host, port: announced.port });
      const last = this.#offered.get(key);
      if (last === undefined) continue;
      if (now - last >= ANSWER_INTERVAL_MS) {
        this.#offered.set(key, now);
        this.#answered.set(key, new Set());
      }
      // Each asker is answered once an interval: a second getter that
      // starts just after a first hears from us at once too, and a flood
      // of askers is held by the send budget.
      const askers = this.#answered.get(key)!;
      const asker = `${host}:${announced.port}`;
      if (askers.has(asker) || askers.size >= MAX_PEERS_PER_KEY) continue;
      askers.add(asker);
      answers.push(key);
    }
    // Only answers count against the interval: a getter that starts right
    // after our own announcement still hears from us at once. Two sharers
    // of a key answer each other once, then each hears the other's answer
    // within the interval of its own.
    this.#announceSoon(answers);
  }

  /** Tells the searches for `key` of `peer`, if new to them. */
  #heard(key: string, peer: Address): void {
    const search = this.#searches.get(key);
    const id = `${peer.host}:${peer.port}`;
    if (!search || search.peers.has(id)) return;
    if (search.peers.size >= MAX_PEERS_PER_KEY) {
      search.peers.delete(search.peers.keys().next().value!);
    }
    search.peers.set(id, peer);
    for (const finder of [...search.finders]) this.#tell(finder, peer);
  }

  #tell(finder: Finder, peer: Address): void {
    try {
      finder.onPeer({ ...peer });
    } catch (error) {
      this.#log(`A LAN peer handler failed: ${message(error)}`);
    }
  }

  /** Queues `keys` for the next datagrams, sent as soon as the budget allows. */
  #announceSoon(keys: Iterable<string>): void {
    if (this.#closing) return;
    for (const key of keys) this.#queue.add(key);
    if (this.#queue.size > 0) this.#flushIn(0);
  }

  #flushIn(ms: number): void {
    if (this.#flushTimer !== undefined) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flush();
    }, ms);
    Deno.unrefTimer(this.#flushTimer);
  }

  /** Sends the queue, MAX_KEYS_PER_MESSAGE keys a datagram, within the budget. */
  #flush(): void {
    while (this.#queue.size > 0 && !this.#closing) {
      if (!this.#sendBudget.take()) {
        this.#flushIn(this.#sendBudget.msToNext());
        return;
      }
      const keys: string[] = [];
      for (const key of this.#queue) {
        if (keys.length === MAX_KEYS_PER_MESSAGE) break;
        keys.push(key);
        this.#queue.delete(key);
      }
      this.#send(keys);
    }
  }

  #send(keys: string[]): void {
    const { group, udpPort } = this.#where;
    const bytes = encodeLanMessage({
      host: `${group}:${udpPort}`,
      port: this.#port,
      keys,
      cookie: this.#cookie,
    });
    this.#counts.sent++;
    const sent = (error?: Error | null) => {
      if (!error) this.#sendFailing = false;
      else if (!this.#sendFailing) {
        this.#sendFailing = true;
        this.#log(`LAN discovery cannot send: ${error.message}`);
      }
    };
    try {
      this.#socket.send(bytes, udpPort, group, sent);
    } catch (error) {
      sent(error as Error);
    }
  }
}

/**
 * The key LAN discovery announces for `name` (a public file's ID, a
 * private share's lookup key): the first 20 bytes of SHA-256 over
 * `"p2p discovery v1\n" + name`, as 40 lowercase hex digits. Anyone who
 * knows `name` can compute it; the LAN never sees `name` itself.
 */
export function discoveryKey(name: string): string {
  return createHash("sha256").update(`p2p discovery v1\n${name}`, "utf8")
    .digest("hex").slice(0, 40);
}

function checkOptions(options: LanDiscoveryOptions): void {
  for (const name of ["port", "udpPort"] as const) {
    const port = options[name];
    if (port === undefined && name === "udpPort") continue;
    if (!Number.isInteger(port) || port! < 1 || port! > 65535) {
      throw new RangeError(`LAN discovery ${name} ${port} is not 1 to 65535.`);
    }
  }
  const group = options.group ?? LAN_GROUP;
  const octets = /^\d{1,3}(?:\.\d{1,3}){3}$/.test(group)
    ? group.split(".").map(Number)
    : [];
  if (!(octets[0] >= 224 && octets[0] <= 239 && octets.every((o) => o < 256))) {
    throw new RangeError(
      `LAN discovery group "${group}" is not IPv4 multicast.`,
    );
  }
  const interval = options.announceIntervalMs;
  if (interval !== undefined && !(interval >= 1 && interval < 2 ** 31)) {
    throw new RangeError(
      `LAN announce interval ${interval} ms is out of range.`,
    );
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
