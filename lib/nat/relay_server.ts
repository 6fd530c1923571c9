/**
 * The relay: lets two peers that cannot reach each other (both behind home
 * routers) talk through a machine both can reach. The tracker gives both
 * peers a token and tells the relay to {@linkcode Relay.expect} it from their
 * two hosts (`_relay_tokens.ts`); each peer connects and sends its hello
 * (`_relay_wire.ts`); once both are there the relay answers each with one
 * status byte and copies bytes both ways (`_relay_session.ts`), unchanged,
 * until either side ends. The peers encrypt end to end, so the relay only
 * ever sees ciphertext and never parses it.
 *
 * The relay never connects anywhere itself (it only pairs connections that
 * came to it, from the hosts the tracker named), and every pair is held to a
 * rate each way, a share of a rate for all, and a byte quota (at which the
 * pieces already on their way still go through: `_relay_session.ts`). Bad
 * input closes that one connection, never the relay.
 *
 * @module
 */

import { type Address, formatAddress } from "../net/connection.ts";
import { unmapIPv4 } from "../net/address.ts";
import { describeError } from "../net/describe_error.ts";
import { acceptEach, listenOn } from "../net/listener.ts";
import { MIN_BANDWIDTH_LIMIT } from "../util/bandwidth.ts";
import { closeQuietly } from "../util/close_quietly.ts";
import { readFullAsync } from "../util/read_full.ts";
import { writeAllAsync } from "../util/write_all.ts";
import {
  HostCounts,
  QUOTA_DRAIN,
  QUOTA_DRAIN_MS,
  type Session,
  Sessions,
} from "./_relay_session.ts";
import { type Expected, ExpectedTokens } from "./_relay_tokens.ts";
import {
  checkToken,
  decodeHello,
  PAIR_TIMEOUT_MS,
  RELAY_HELLO_SIZE,
  type RelayHello,
  type RelayRole,
  RelayStatus,
} from "./_relay_wire.ts";

export { PAIR_TIMEOUT_MS };
export { QUOTA_DRAIN, QUOTA_DRAIN_MS } from "./_relay_session.ts";

const MIB = 1024 ** 2;

/** Ms a connection has to send its whole 24-byte hello; a slow one is closed. */
export const HELLO_TIMEOUT_MS = 5_000;
/**
 * Ms an {@linkcode Relay.expect}ed token stays valid until its first peer
 * comes: both peers hear of it from the tracker within a round trip, so
 * this is ample, and a token leaked later is worth nothing.
 */
export const EXPECT_TTL_MS = 30_000;
/**
 * Bytes a second one session may move each way: 8 MiB/s (~67 Mbit/s), more
 * than most home uplinks send, so a relayed link is seldom slower than the
 * peer behind it, while eight full sessions fill {@linkcode TOTAL_RATE}.
 */
export const SESSION_RATE = 8 * MIB;
/**
 * Bytes a second all sessions together may move (each direction counted):
 * 64 MiB/s, about half of a 1 Gbit/s server link, leaving the rest to the
 * tracker and whatever else the host does.
 */
export const TOTAL_RATE = 64 * MIB;
/**
 * Bytes one session may move, both directions together, before both ends
 * are closed: 4 GiB (over eight minutes at {@linkcode SESSION_RATE}), enough
 * for a large file, yet no pair can use the relay as a tunnel for good
 * (downloads resume piece by piece over a new session).
 */
export const SESSION_QUOTA = 4 * 1024 ** 3;
/**
 * Sessions at once, a connection waiting for its partner included: 64 keep
 * the copy buffers at 8 MiB and give each at least 1 MiB/s of the total.
 */
export const MAX_SESSIONS = 64;
/**
 * Sessions at once with one host at either end: eight, so one household (or
 * one greedy peer) can hold at most an eighth of the relay.
 */
export const MAX_SESSIONS_PER_HOST = 8;
/** Connections waiting for their partner at once (each holds a socket and a buffer up to {@linkcode PAIR_TIMEOUT_MS}). */
export const MAX_WAITING = 32;
/** Connections still sending their hello at once; more are closed without a word. */
export const MAX_HELLOS = 128;
/** Connections from one host still sending their hello at once. */
export const MAX_HELLOS_PER_HOST = 16;
/** Tokens expected at once; past it, the oldest not yet in use is forgotten. */
export const MAX_EXPECTED = 4096;
/** Bytes of the buffer each direction of a session reads into and writes from. */
export const COPY_BUFFER_SIZE = 64 * 1024;

/** Options for {@linkcode startRelay}. */
export interface RelayOptions {
  /** Interface to listen on. */
  host: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Ms to send the hello. @default {HELLO_TIMEOUT_MS} */
  helloTimeoutMs?: number;
  /** Ms the first peer of a pair waits for the second. @default {PAIR_TIMEOUT_MS} */
  pairTimeoutMs?: number;
  /** Ms an expected token stays valid until its first peer comes. @default {EXPECT_TTL_MS} */
  expectTtlMs?: number;
  /** Bytes a second per session per direction. @default {SESSION_RATE} */
  sessionRate?: number;
  /** Bytes a second of all sessions together. @default {TOTAL_RATE} */
  totalRate?: number;
  /** Bytes per session, both directions together. @default {SESSION_QUOTA} */
  sessionQuota?: number;
  /** Bytes the asked peer may still send past the quota. @default {QUOTA_DRAIN} */
  quotaDrain?: number;
  /** Ms a session may take to end past the quota. @default {QUOTA_DRAIN_MS} */
  quotaDrainMs?: number;
  /** Sessions at once, waiting ones included. @default {MAX_SESSIONS} */
  maxSessions?: number;
  /** Sessions at once with one host at either end. @default {MAX_SESSIONS_PER_HOST} */
  maxSessionsPerHost?: number;
  /** Connections waiting for their partner. @default {MAX_WAITING} */
  maxWaiting?: number;
  /** Connections still sending their hello. @default {MAX_HELLOS} */
  maxHellos?: number;
  /** Connections from one host still sending their hello. @default {MAX_HELLOS_PER_HOST} */
  maxHellosPerHost?: number;
  /** Tokens expected at once. @default {MAX_EXPECTED} */
  maxExpected?: number;
  /** Receives one line per notable event. @default {no logging} */
  log?: (line: string) => void;
  /** The clock tokens expire by, in ms. @default {performance.now} */
  now?: () => number;
}

/** The hosts (IP addresses) each end of a relayed connection comes from. */
export interface RelayEnds {
  /** The host of the peer that asked for the connection. */
  asker: string;
  /** The host of the peer that was asked. */
  asked: string;
}

/**
 * Why the relay turned a connection away: `not-expected` (a token it was
 * not told of, spent, or from another host than the one named), `busy`
 * (over a cap: sessions, waiting connections, or one host's sessions),
 * `hellos` (too many connections sending their hello at once), `bad-hello`
 * (a hello malformed, cut short or too slow).
 */
export type RelayRefusal = "not-expected" | "busy" | "hellos" | "bad-hello";

/** What a relay is doing right now, and has done since it started. */
export interface RelayStats {
  /** Pairs piping bytes. */
  sessions: number;
  /** Connections waiting for their partner. */
  waiting: number;
  /** Bytes relayed since the start, both directions. */
  bytes: number;
  /** Pairs that met (both ends came) since the start. */
  paired: number;
  /** Connections turned away since the start, by reason. */
  refused: Record<RelayRefusal, number>;
  /** Sessions closed since the start because they moved their byte quota. */
  quotaReached: number;
  /** Connections since the start whose partner did not come in time. */
  noPartner: number;
}

/** A running relay. */
export interface Relay {
  /** The address it listens on (with the real port when 0 was asked). */
  readonly address: Address;
  /**
   * Lets one pair meet under `token` (16 bytes): the asker must come from
   * `ends.asker`, the asked from `ends.asked`, the first of them within
   * the expect time-out. Throws a `RangeError` for a token of another size.
   */
  expect(token: Uint8Array, ends: RelayEnds): void;
  /** Sessions, waiting connections, bytes relayed, and what was refused. */
  stats(): RelayStats;
  /** Stops listening, closes every connection and waits for them to end. */
  close(): Promise<void>;
}

/**
 * Listens on `options.host`:`options.port` and relays between the pairs it
 * is told to expect. Throws a `ListenError` if it cannot listen, a
 * `RangeError` for a limit out of range.
 *
 * @example
 * ```ts
 * const relay = startRelay({ host: "0.0.0.0", port: 5001 });
 * const token = crypto.getRandomValues(new Uint8Array(16));
 * relay.expect(token, { asker: "198.51.100.4", asked: "203.0.113.9" });
 * // …hand `token` to both peers, who call openRelayed()…
 * await relay.close();
 * ```
 */
export function startRelay(options: RelayOptions): Relay {
  const limits = resolveLimits(options);
  const listener = listenOn({ host: options.host, port: options.port });
  return new RelayServer(listener, limits, options);
}

type Limits = Required<Omit<RelayOptions, "host" | "port" | "log" | "now">>;

/** The options' limits with their defaults, each checked. */
function resolveLimits(options: RelayOptions): Limits {
  const limits: Limits = {
    helloTimeoutMs: options.helloTimeoutMs ?? HELLO_TIMEOUT_MS,
    pairTimeoutMs: options.pairTimeoutMs ?? PAIR_TIMEOUT_MS,
    expectTtlMs: options.expectTtlMs ?? EXPECT_TTL_MS,
    sessionRate: options.sessionRate ?? SESSION_RATE,
    totalRate: options.totalRate ?? TOTAL_RATE,
    sessionQuota: options.sessionQuota ?? SESSION_QUOTA,
    quotaDrain: options.quotaDrain ?? QUOTA_DRAIN,
    quotaDrainMs: options.quotaDrainMs ?? QUOTA_DRAIN_MS,
    maxSessions: options.maxSessions ?? MAX_SESSIONS,
    maxSessionsPerHost: options.maxSessionsPerHost ?? MAX_SESSIONS_PER_HOST,
    maxWaiting: options.maxWaiting ?? MAX_WAITING,
    maxHellos: options.maxHellos ?? MAX_HELLOS,
    maxHellosPerHost: options.maxHellosPerHost ?? MAX_HELLOS_PER_HOST,
    maxExpected: options.maxExpected ?? MAX_EXPECTED,
  };
  for (const [name, value] of Object.entries(limits)) {
    const least = name.endsWith("Rate") ? MIN_BANDWIDTH_LIMIT : 1;
    if (!(Number.isFinite(value) && value >= least)) {
      throw new RangeError(
        `The relay's "${name}" must be a number of at least ${least}, got ${value}`,
      );
    }
  }
  return limits;
}

class RelayServer implements Relay {
  readonly address: Address;
  #listener: Deno.TcpListener;
  #limits: Limits;
  #log: (line: string) => void;
  #expected: ExpectedTokens;
  #sessions: Sessions;
  #hellos = new HostCounts();
  #conns = new Set<Deno.TcpConn>();
  #tasks = new Set<Promise<void>>();
  #closing = new AbortController();
  #accepting: Promise<void>;
  #paired = 0;
  #quotaReached = 0;
  #noPartner = 0;
  #refused: Record<RelayRefusal, number> = {
    "not-expected": 0,
    busy: 0,
    hellos: 0,
    "bad-hello": 0,
  };

  constructor(
    listener: Deno.TcpListener,
    limits: Limits,
    options: RelayOptions,
  ) {
    this.#listener = listener;
    this.#limits = limits;
    this.#log = options.log ?? (() => {});
    this.#expected = new ExpectedTokens({
      ttlMs: limits.expectTtlMs,
      max: limits.maxExpected,
      now: options.now ?? (() => performance.now()),
      log: this.#log,
    });
    this.#sessions = new Sessions(
      { ...limits, copyBufferSize: COPY_BUFFER_SIZE },
      this.#log,
    );
    const addr = listener.addr as Deno.NetAddr;
    this.address = { host: addr.hostname, port: addr.port };
    this.#accepting = acceptEach(
      this.#listener,
      (conn) => this.#track(this.#handle(conn)),
      {
        signal: this.#closing.signal,
        log: (line) => this.#log(`Relay: ${line}`),
      },
    );
  }

  expect(token: Uint8Array, ends: RelayEnds): void {
    checkToken(token);
    if (!ends.asker || !ends.asked) {
      throw new TypeError("A relayed connection needs the host of both ends.");
    }
    if (this.#closing.signal.aborted) return;
    this.#expected.expect(token.toHex(), {
      asker: unmapIPv4(ends.asker),
      asked: unmapIPv4(ends.asked),
    });
  }

  stats(): RelayStats {
    const waiting = this.#sessions.waiting();
    return {
      sessions: this.#sessions.size - waiting,
      waiting,
      bytes: this.#sessions.bytes,
      paired: this.#paired,
      refused: { ...this.#refused },
      quotaReached: this.#quotaReached,
      noPartner: this.#noPartner,
    };
  }

  async close(): Promise<void> {
    if (!this.#closing.signal.aborted) {
      this.#closing.abort();
      closeQuietly(this.#listener);
      for (const session of this.#sessions) this.#end(session, "relay closed");
      for (const conn of this.#conns) closeQuietly(conn);
      this.#sessions.close();
      this.#expected.clear();
    }
    await this.#accepting;
    await Promise.allSettled([...this.#tasks]);
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.catch((error) =>
      this.#log(`Relay task failed: ${describeError(error)}`)
    )
      .finally(() => this.#tasks.delete(task));
  }

  /** One incoming connection until it joins a session or is turned away. */
  async #handle(conn: Deno.TcpConn): Promise<void> {
    this.#conns.add(conn);
    let kept = false;
    let who = "a connection";
    try {
      const remote = conn.remoteAddr as Deno.NetAddr;
      const host = unmapIPv4(remote.hostname);
      who = formatAddress({ host, port: remote.port });
      kept = await this.#greet(conn, host, who);
    } catch (error) {
      this.#log(`Relay closed ${who}: ${describeError(error)}`);
    } finally {
      if (!kept) this.#drop(conn);
    }
  }

  /** Reads the hello and admits the connection; true if a session took it. */
  async #greet(
    conn: Deno.TcpConn,
    host: string,
    who: string,
  ): Promise<boolean> {
    const { maxHellos, maxHellosPerHost } = this.#limits;
    if (
      this.#hellos.total >= maxHellos ||
      this.#hellos.of(host) >= maxHellosPerHost
    ) {
      this.#log(`Relay closed ${who}: too many connections sending hellos`);
      this.#refused.hellos++;
      return false;
    }
    this.#hellos.add(host);
    let hello: RelayHello;
    try {
      hello = decodeHello(await this.#readHello(conn));
    } catch (error) {
      if (!this.#closing.signal.aborted) this.#refused["bad-hello"]++;
      throw error;
    } finally {
      this.#hellos.remove(host);
    }
    return await this.#admit(conn, host, who, hello);
  }

  /** The hello's 24 bytes, within the hello time-out. */
  async #readHello(conn: Deno.TcpConn): Promise<Uint8Array> {
    const bytes = new Uint8Array(RELAY_HELLO_SIZE);
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      closeQuietly(conn);
    }, this.#limits.helloTimeoutMs);
    let got = 0;
    try {
      got = await readFullAsync(conn, bytes);
    } catch (error) {
      if (!late) throw error;
    } finally {
      clearTimeout(timer);
    }
    if (late) throw new Deno.errors.TimedOut("The hello timed out");
    if (got < bytes.length) {
      throw new SyntaxError(`The connection ended ${got} bytes into its hello`);
    }
    return bytes;
  }

  /** Puts the connection in its session, or answers why not; true if kept. */
  async #admit(
    conn: Deno.TcpConn,
    host: string,
    who: string,
    hello: RelayHello,
  ): Promise<boolean> {
    const { role } = hello;
    const key = hello.token.toHex();
    const entry = this.#expected.find(key);
    if (!entry || entry.hosts[role] !== host || entry.session?.ends[role]) {
      this.#log(`Relay refused ${who} as ${role}: not expected`);
      this.#refused["not-expected"]++;
      await answer(conn, RelayStatus.unknown);
      return false;
    }
    if (entry.session) {
      this.#pair(entry.session, role, conn, who);
      return true;
    }
    if (!this.#sessions.hasRoom(entry.hosts)) {
      this.#log(`Relay refused ${who} as ${role}: busy`);
      this.#refused.busy++;
      await answer(conn, RelayStatus.busy);
      return false;
    }
    this.#wait(entry, key, role, conn, who);
    return true;
  }

  /** The first end arrived: it holds the session's place until its partner comes. */
  #wait(
    entry: Expected,
    key: string,
    role: RelayRole,
    conn: Deno.TcpConn,
    who: string,
  ): void {
    const session = entry.session = this.#sessions.open(key, entry.hosts);
    const end = session.attach(role, conn, who);
    session.timer = setTimeout(() => {
      session.givenUp = true;
      this.#noPartner++;
      this.#expected.delete(key); // its chance to pair is spent
      this.#track(
        answer(conn, RelayStatus.noPartner).finally(() =>
          this.#end(session, `${who}'s partner did not come`)
        ),
      );
    }, this.#limits.pairTimeoutMs);
    // A peer that gives up waiting frees the place; its token stays valid.
    const left = () => {
      if (!session.paired && !session.givenUp) {
        this.#end(session, `${who} left before its partner came`);
      }
    };
    end.firstRead.then((n) => n === null && left(), left);
    this.#log(`Relay: ${who} (${role}) waits for its partner`);
  }

  /** The second end arrived: both are told, then bytes flow. */
  #pair(session: Session, role: RelayRole, conn: Deno.TcpConn, who: string) {
    this.#expected.delete(session.key);
    clearTimeout(session.timer);
    session.paired = true;
    this.#paired++;
    session.attach(role, conn, who);
    this.#track(
      this.#sessions.pipe(session).then((why) => this.#end(session, why)),
    );
  }

  /** Ends `session` (once): both ends closed, its places and token freed. */
  #end(session: Session, why: string): void {
    if (!this.#sessions.end(session, why)) return;
    if (session.bytes >= this.#limits.sessionQuota) this.#quotaReached++;
    for (const end of Object.values(session.ends)) this.#conns.delete(end.conn);
    this.#expected.release(session);
  }

  #drop(conn: Deno.TcpConn): void {
    closeQuietly(conn);
    this.#conns.delete(conn);
  }
}

/** Writes one status byte; a peer gone already is no error. */
async function answer(conn: Deno.TcpConn, status: number): Promise<void> {
  try {
    await writeAllAsync(conn, Uint8Array.of(status));
  } catch {
    // It left: nothing to tell.
  }
}
