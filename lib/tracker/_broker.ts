/**
 * The tracker's part in reaching peers behind home routers. A peer asks
 * (`reach`, over a connection of its own, so the probe holds up none of its
 * other requests) and the tracker tries connecting back to it, on the address
 * it sees the peer at and the port the peer names, and remembers what it
 * found while that address is registered, so that answers mark those peers. A peer that wants one of
 * them asks to `connect`: the tracker hands both the same random token (the
 * asked one over the connection it registered on, unasked), tells its relay
 * to expect that token from exactly those two hosts, and the two meet there.
 *
 * The tracker only ever connects to the host a request came from, and only
 * points peers at its own relay: neither can be aimed at a third machine.
 * Both requests are rate-limited per address.
 *
 * @module
 */

import {
  type Address,
  type Connection,
  dial,
  formatAddress,
  openSecure,
} from "../net/connection.ts";
import { closeQuietly } from "../util/close_quietly.ts";
import {
  HandshakeRefusedError,
  PlainPeerError,
} from "../secure/secret_stream.ts";
import {
  BROKER_BURST,
  BROKER_REQUESTS_PER_SECOND,
  PUNCH_OFFER_WAIT_MS,
  REACH_PROBE_TIMEOUT_MS,
  RELAY_TOKEN_BYTES,
} from "../protocol/limits.ts";
import type { Message, PeerAddress } from "../protocol/messages.ts";
import { RateLimiter } from "./rate_limit.ts";
import type { RelayLoad } from "./metrics_server.ts";

/** What the tracker needs of the relay it offers (`nat/relay_server.ts`). */
export interface RelayDesk {
  /** The relay's port, on the tracker's own host. */
  readonly port: number;
  /** Joins the two connections that bring `token`: one from each host. */
  expect(token: Uint8Array, ends: { asker: string; asked: string }): void;
  /** What it is doing and has done, for `/metrics`. @default {not shown} */
  stats?: () => RelayLoad;
}

/** Options for {@linkcode Broker}. */
export interface BrokerOptions {
  /** The relay peers are sent to. @default {none: `connect` is refused} */
  relay?: RelayDesk;
  /** Ms for each of the connect-back and its handshake. @default {REACH_PROBE_TIMEOUT_MS} */
  probeMs?: number;
  /** `reach` and `connect` requests a second per address. @default {BROKER_REQUESTS_PER_SECOND} */
  requestsPerSecond?: number;
  /** The same, at once. @default {BROKER_BURST} */
  burst?: number;
  /** Ms an asker's answer waits for the other peer's punch port. @default {PUNCH_OFFER_WAIT_MS} */
  offerWaitMs?: number;
  /** Receives one line per notable event. */
  log?: (line: string) => void;
}

/** What a probe found at an address. */
interface Verdict {
  reachable: boolean;
  /** The port is one its router forwards at its request. */
  mapped: boolean;
  /** When it was found (performance.now()). */
  at: number;
}

/**
 * Ms a verdict on an address nobody has registered is kept: a peer asks
 * over a connection of its own, just after registering on another.
 */
export const VERDICT_GRACE_MS = 60_000;
/** Verdicts kept at most; past it the oldest go first. */
export const MAX_VERDICTS = 200_000;

/** Peer addresses, their connections and reachability; `reach` and `connect`. */
export class Broker {
  /** The connection each registered peer address came over. */
  #peers = new Map<string, Connection>();
  /** What probes found, by address. */
  #verdicts = new Map<string, Verdict>();
  #ofConn = new Map<Connection, Set<string>>();
  #limiter: RateLimiter;
  #options: BrokerOptions;
  /** Askers waiting for the punch port of the peer they asked for, by token. */
  #offers = new Map<
    string,
    { host: string; resolve: (port: number | undefined) => void }
  >();

  /** A broker with nothing registered. */
  constructor(options: BrokerOptions = {}) {
    this.#options = options;
    this.#limiter = new RateLimiter({
      rate: options.requestsPerSecond ?? BROKER_REQUESTS_PER_SECOND,
      burst: options.burst ?? BROKER_BURST,
    });
  }

  /** Records that the peer at `address` registered over `conn`. */
  seen(conn: Connection, address: Address): void {
    const key = keyOf(address);
    const known = this.#peers.get(key);
    if (known === conn) return;
    if (known) this.#ofConn.get(known)?.delete(key);
    this.#peers.set(key, conn);
    let keys = this.#ofConn.get(conn);
    if (!keys) this.#ofConn.set(conn, keys = new Set());
    keys.add(key);
  }

  /** Forgets the addresses registered over `conn` (it closed). */
  forget(conn: Connection): void {
    for (const key of this.#ofConn.get(conn) ?? []) {
      if (this.#peers.get(key) !== conn) continue;
      this.#peers.delete(key);
      this.#verdicts.delete(key);
    }
    this.#ofConn.delete(conn);
  }

  /** `peers`, with those a probe could not reach marked so. */
  mark(peers: PeerAddress[]): PeerAddress[] {
    return peers.map((peer) => {
      const verdict = this.#verdicts.get(keyOf(peer));
      if (verdict?.reachable === false) return { ...peer, reachable: false };
      if (verdict?.mapped) return { ...peer, mapped: true };
      return peer;
    });
  }

  /**
   * Answers `reach`: connects back to `port` on `host` (where `conn`
   * comes from, and nowhere else) and says what it found.
   */
  async reach(
    conn: Connection,
    host: string,
    port: number,
    mapped = false,
  ): Promise<Message> {
    if (!this.#limiter.take(host)) return busy(host);
    const reachable = await probe(
      { host, port },
      this.#options.probeMs ?? REACH_PROBE_TIMEOUT_MS,
    );
    this.#remember(keyOf({ host, port }), { reachable, mapped });
    this.#options.log?.(
      `${formatAddress({ host, port })} is ${
        reachable ? "reachable" : "not reachable"
      } from here.`,
    );
    const relay = this.#options.relay?.port;
    return {
      type: "reached",
      host,
      port: conn.remote.port,
      reachable,
      ...(relay === undefined ? {} : { relay }),
    };
  }

  /**
   * Answers `connect` from `conn` at `host`: wakes the peer registered at
   * the address asked for, and sends both to the relay with one token. If
   * the asker offered a hole punch from behind a NAT that keeps ports (or
   * none), the peer is offered it too, and the answer waits (at most
   * PUNCH_OFFER_WAIT_MS) for the port it will punch from.
   */
  async connect(
    conn: Connection,
    host: string,
    request: Extract<Message, { type: "connect" }>,
  ): Promise<Message> {
    if (!this.#limiter.take(host)) return busy(host);
    const wanted = { host: request.host, port: request.port };
    const relay = this.#options.relay;
    if (!relay) {
      return refusal(
        "This tracker offers no relay, and that peer cannot be reached directly.",
      );
    }
    const target = this.#peers.get(keyOf(wanted));
    if (!target) {
      return refusal("That peer is no longer registered with this tracker.");
    }
    const token = crypto.getRandomValues(new Uint8Array(RELAY_TOKEN_BYTES));
    relay.expect(token, { asker: host, asked: wanted.host });
    const hex = token.toHex();
    // A NAT that changed the source port would change the punch port too.
    const punch = request.punch !== undefined &&
        request.local === conn.remote.port
      ? request.punch
      : undefined;
    const offer = punch === undefined
      ? undefined
      : this.#awaitOffer(hex, wanted.host);
    target.send({
      type: "incoming",
      token: hex,
      host,
      relay: relay.port,
      ...(punch === undefined ? {} : { punch }),
    }).catch(() => target.close());
    const theirs = await offer;
    return {
      type: "connecting",
      token: hex,
      relay: relay.port,
      ...(theirs === undefined ? {} : { punch: theirs }),
    };
  }

  /**
   * Answers `punch` from `host`: the port the asked peer punches from (or
   * none), passed to the asker's waiting answer. A token nobody waits on,
   * or from another host than the one asked, is ignored.
   */
  offer(host: string, token: string, port: number | undefined): Message {
    const waiting = this.#offers.get(token);
    if (waiting && waiting.host === host) {
      this.#offers.delete(token);
      waiting.resolve(port);
    }
    return { type: "ok" };
  }

  /** The port the peer at `host` will punch from for `token`, once it says. */
  #awaitOffer(token: string, host: string): Promise<number | undefined> {
    const { promise, resolve } = Promise.withResolvers<number | undefined>();
    const timer = setTimeout(() => {
      this.#offers.delete(token);
      resolve(undefined);
    }, this.#options.offerWaitMs ?? PUNCH_OFFER_WAIT_MS);
    this.#offers.set(token, {
      host,
      resolve: (port) => {
        clearTimeout(timer);
        resolve(port);
      },
    });
    return promise;
  }

  /**
   * Forgets rate-limit buckets that are full again, and verdicts on
   * addresses nobody registered within VERDICT_GRACE_MS.
   */
  sweep(now = performance.now()): void {
    this.#limiter.sweep();
    for (const [key, verdict] of this.#verdicts) {
      if (!this.#peers.has(key) && now - verdict.at > VERDICT_GRACE_MS) {
        this.#verdicts.delete(key);
      }
    }
  }

  #remember(key: string, found: { reachable: boolean; mapped: boolean }) {
    this.#verdicts.delete(key);
    if (this.#verdicts.size >= MAX_VERDICTS) {
      const oldest = this.#verdicts.keys().next().value;
      if (oldest !== undefined) this.#verdicts.delete(oldest);
    }
    this.#verdicts.set(key, { ...found, at: performance.now() });
  }
}

/**
 * True if a peer answers at `address`: the connection and the encryption
 * handshake both complete (or the peer refuses it for a key it wants, or
 * asks for an upgrade: something of ours is there), each within `ms`.
 */
export async function probe(address: Address, ms: number): Promise<boolean> {
  let raw: Deno.TcpConn;
  try {
    raw = await dial(address, { timeoutMs: ms });
  } catch {
    return false;
  }
  try {
    const conn = await openSecure(raw, { handshakeMs: ms });
    conn.close();
    return true;
  } catch (error) {
    closeQuietly(raw);
    return error instanceof HandshakeRefusedError ||
      error instanceof PlainPeerError;
  }
}

function keyOf(address: Address): string {
  return `${address.host} ${address.port}`;
}

function busy(host: string): Message {
  return {
    type: "error",
    code: "busy",
    message:
      `Too many connection requests from ${host}; slow down and try again.`,
  };
}

function refusal(message: string): Message {
  return { type: "error", code: "not-found", message };
}
