/**
 * The relay's sessions, private to `relay_server.ts`: a pair under one
 * token, from its first end waiting to both ends piping; the copy loop that
 * moves bytes each way, held to a rate per end, a rate for all sessions
 * and a byte quota; and how many sessions each host is part of. Which
 * connection joins which session (hellos, tokens, pairing) is the
 * server's business.
 *
 * A session that reaches its quota ends the way TCP ends, not by cutting
 * both ends at once: the asked end (the peer serving) gets no more of the
 * asker's bytes and is told so by a half-close; what it had already sent
 * (the pieces on their way) still goes through, up to the quota's drain,
 * until it closes; then the asker is told the end after those bytes. The
 * asker asks again, over a new session, only for what it was never sent:
 * cut at the quota instead, the pieces on their way were lost and sent
 * again (a 3 MB get through a 1 MiB quota made its sharer send 6.1 MiB).
 *
 * @module
 */

import { describeError } from "../net/describe_error.ts";
import { BandwidthLimiter } from "../util/bandwidth.ts";
import { closeQuietly } from "../util/close_quietly.ts";
import { sleep } from "../util/sleep.ts";
import { writeAllAsync } from "../util/write_all.ts";
import { type RelayRole, RelayStatus } from "./_relay_wire.ts";

/** The limits sessions are held to (the server gives its own, checked). */
export interface SessionLimits {
  /** Bytes a second per session per direction. */
  sessionRate: number;
  /** Bytes a second of all sessions together. */
  totalRate: number;
  /** Bytes per session, both directions together. */
  sessionQuota: number;
  /** Sessions at once, waiting ones included. */
  maxSessions: number;
  /** Sessions at once with one host at either end. */
  maxSessionsPerHost: number;
  /** Sessions waiting for their second end. */
  maxWaiting: number;
  /** Bytes of the buffer each direction reads into and writes from. */
  copyBufferSize: number;
  /** Bytes the asked end may still send once the quota is reached. */
  quotaDrain: number;
  /** Ms a session may take, once the quota is reached, to end. */
  quotaDrainMs: number;
}

/**
 * Bytes the asked peer (the one serving) may still send once its session
 * reached the quota: what it had been asked for by then is on its way and
 * goes through, rather than being cut off and asked for again over the
 * next session. A downloader keeps at most 64 requests with a peer
 * server, 16 MiB of 256 KiB pieces.
 */
export const QUOTA_DRAIN = 16 * 1024 ** 2;
/**
 * Ms a session may take to end once it reached its quota: the pieces on
 * their way, then the downloader's close (the time a peer gives one frame
 * to arrive).
 */
export const QUOTA_DRAIN_MS = 30_000;

/** Why a session that reached its byte quota ended. */
export const QUOTA_REACHED = "its byte quota was reached";

/** What the asked end's copy returns once it closed after the quota. */
const DRAINED = Symbol("drained");
/** What the asker's copy sees once the quota is reached. */
const STOP = Symbol("stop");

/** One end of a session: its socket and the buffer its bytes pass through. */
export interface End {
  /** The end's socket. */
  conn: Deno.TcpConn;
  /** The end's address, for the log. */
  who: string;
  /** What its bytes are read into and written to the other end from. */
  buffer: Uint8Array;
  /** The first read, started as the end arrives: it ending early means the peer left. */
  firstRead: Promise<number | null>;
  /** The rate of the bytes this end sends. */
  limiter: BandwidthLimiter;
}

/** A pair under one token: waiting for its second end, then piping. */
export class Session {
  /** The token, in hex. */
  readonly key: string;
  /** The hosts it counts against, each once. */
  readonly hosts: string[];
  /** The ends that have come, by role. */
  readonly ends: Partial<Record<RelayRole, End>> = {};
  readonly #rate: number;
  readonly #bufferSize: number;
  readonly #abort = new AbortController();
  /** Both ends came. */
  paired = false;
  /** The pair timeout passed: the waiting end is being told so. */
  givenUp = false;
  /** It ended: both ends are closed. */
  ended = false;
  /** Bytes moved, both directions. */
  bytes = 0;
  /** The pair timeout, while the first end waits. */
  timer?: ReturnType<typeof setTimeout>;

  /** A session for `hosts` under `key`, each end held to `rate` bytes a second. */
  constructor(
    key: string,
    hosts: Readonly<Record<RelayRole, string>>,
    limits: { rate: number; bufferSize: number },
  ) {
    this.key = key;
    this.hosts = [...new Set([hosts.asker, hosts.asked])];
    this.#rate = limits.rate;
    this.#bufferSize = limits.bufferSize;
  }

  /** Aborts when the session ends: rate-limit waits stop at once. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Adds the `role` end; its first read starts now. */
  attach(role: RelayRole, conn: Deno.TcpConn, who: string): End {
    try {
      conn.setNoDelay(true);
    } catch {
      // Closed already: the first read says so.
    }
    const buffer = new Uint8Array(this.#bufferSize);
    const firstRead = conn.read(buffer);
    firstRead.catch(() => {});
    const limiter = new BandwidthLimiter(this.#rate);
    return this.ends[role] = { conn, who, buffer, firstRead, limiter };
  }

  /** Stops its timer and rate limiters and closes both ends. */
  dispose(): void {
    this.ended = true;
    clearTimeout(this.timer);
    this.#abort.abort(new Error("The relay session ended."));
    for (const end of Object.values(this.ends)) {
      end.limiter.close();
      closeQuietly(end.conn);
    }
  }
}

/** Counts per host, and in total. */
export class HostCounts {
  #counts = new Map<string, number>();
  /** The sum over all hosts. */
  total = 0;

  /** The count of `host`. */
  of(host: string): number {
    return this.#counts.get(host) ?? 0;
  }

  /** Counts one more for `host`. */
  add(host: string): void {
    this.#counts.set(host, this.of(host) + 1);
    this.total++;
  }

  /** Counts one less for `host`. */
  remove(host: string): void {
    const left = this.of(host) - 1;
    if (left > 0) this.#counts.set(host, left);
    else this.#counts.delete(host);
    this.total--;
  }
}

/** The relay's live sessions, what they count against, and their copying. */
export class Sessions implements Iterable<Session> {
  #limits: SessionLimits;
  #log: (line: string) => void;
  #sessions = new Set<Session>();
  /** Sessions (waiting ones included) per host at either end. */
  #hosts = new HostCounts();
  #total: BandwidthLimiter;
  #bytes = 0;

  /** No sessions yet; `log` receives one line per notable event. */
  constructor(limits: SessionLimits, log: (line: string) => void) {
    this.#limits = limits;
    this.#log = log;
    this.#total = new BandwidthLimiter(limits.totalRate);
  }

  /** Sessions, waiting ones included. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Bytes relayed since the start, both directions. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The live sessions. */
  [Symbol.iterator](): Iterator<Session> {
    return this.#sessions.values();
  }

  /** Sessions waiting for their second end. */
  waiting(): number {
    let waiting = 0;
    for (const session of this.#sessions) if (!session.paired) waiting++;
    return waiting;
  }

  /** Whether a new session between `hosts` stays within every limit. */
  hasRoom(hosts: Readonly<Record<RelayRole, string>>): boolean {
    const { maxSessions, maxSessionsPerHost, maxWaiting } = this.#limits;
    return this.#sessions.size < maxSessions &&
      this.waiting() < maxWaiting &&
      [hosts.asker, hosts.asked].every((host) =>
        this.#hosts.of(host) < maxSessionsPerHost
      );
  }

  /** A new session under `key`, counted against `hosts` until it ends. */
  open(key: string, hosts: Readonly<Record<RelayRole, string>>): Session {
    const { sessionRate: rate, copyBufferSize: bufferSize } = this.#limits;
    const session = new Session(key, hosts, { rate, bufferSize });
    this.#sessions.add(session);
    for (const host of session.hosts) this.#hosts.add(host);
    return session;
  }

  /**
   * Tells both ends of a paired session so, then copies bytes both ways
   * until a side ends or fails, or the quota ends it (see the module's
   * comment); resolves (never rejects) with why it stopped. The caller
   * ends the session.
   */
  async pipe(session: Session): Promise<string> {
    let why = "a side closed";
    try {
      const { asker, asked } = session.ends as Record<RelayRole, End>;
      const paired = Uint8Array.of(RelayStatus.paired);
      await Promise.all([
        writeAllAsync(asker.conn, paired),
        writeAllAsync(asked.conn, paired),
      ]);
      this.#log(`Relay paired ${asker.who} and ${asked.who}`);
      why = await this.#copy(session, asker, asked);
    } catch (error) {
      if (!session.ended) why = describeError(error);
    }
    return why;
  }

  /** Both directions, then (at the quota) the drain and the asker's end. */
  async #copy(session: Session, asker: End, asked: End): Promise<string> {
    const reached = Promise.withResolvers<typeof STOP>();
    const asking = this.#fromAsker(session, asker, asked, reached);
    const answering = this.#fromAsked(
      session,
      asked,
      asker,
      () => reached.resolve(STOP),
    );
    // Past the quota, a side that neither closes nor goes on is not waited
    // for longer than this.
    const overtime = reached.promise
      .then(() => sleep(this.#limits.quotaDrainMs, session.signal))
      .then(() => QUOTA_REACHED);
    const first = await Promise.race([asking, answering, overtime]);
    if (first !== DRAINED) return first;
    // All the asked end sent is through: the asker is told the end after
    // it, and the session ends when the asker leaves (closing while its
    // bytes are unread would reset the connection, and the kernel could
    // drop what the asker has not read yet).
    await halfClose(asker.conn);
    return await Promise.race([asking.then(() => QUOTA_REACHED), overtime]);
  }

  /**
   * Copies the asker's bytes (requests) to the asked end until the quota
   * (resolving `reached` if this way reaches it), then half-closes the
   * asked end and reads the asker's bytes only to drop them; resolves when
   * the asker closes.
   */
  async #fromAsker(
    session: Session,
    from: End,
    to: End,
    reached: PromiseWithResolvers<typeof STOP>,
  ): Promise<string> {
    const { sessionQuota } = this.#limits;
    let read = from.firstRead;
    for (;;) {
      const got = await Promise.race([reached.promise, read]);
      if (got === STOP) break;
      if (got === null) return `${from.who} closed`;
      const pass = Math.min(got, sessionQuota - session.bytes);
      if (pass > 0) await this.#pass(session, from, to, pass);
      read = from.conn.read(from.buffer);
      if (session.bytes >= sessionQuota) reached.resolve(STOP);
    }
    await halfClose(to.conn);
    for (;;) {
      if (await read === null) return `${from.who} closed`;
      read = from.conn.read(from.buffer);
    }
  }

  /**
   * Copies the asked end's bytes (answers) to the asker: up to the quota,
   * then (calling `quota`) up to the drain more, until the asked end
   * closes; DRAINED if it closed after the quota.
   */
  async #fromAsked(
    session: Session,
    from: End,
    to: End,
    quota: () => void,
  ): Promise<string | typeof DRAINED> {
    const { sessionQuota, quotaDrain } = this.#limits;
    const most = sessionQuota + quotaDrain;
    let read = from.firstRead;
    for (;;) {
      const got = await read;
      if (got === null) {
        return session.bytes >= sessionQuota ? DRAINED : `${from.who} closed`;
      }
      await this.#pass(session, from, to, Math.min(got, most - session.bytes));
      if (session.bytes >= sessionQuota) quota();
      if (session.bytes >= most) return QUOTA_REACHED;
      read = from.conn.read(from.buffer);
    }
  }

  /** Moves `count` bytes of `from`'s buffer to `to`, within the rates. */
  async #pass(session: Session, from: End, to: End, count: number) {
    session.bytes += count; // counted before the waits: the other way sees it
    await from.limiter.take(count, session.signal);
    await this.#total.take(count, session.signal);
    await writeAllAsync(to.conn, from.buffer.subarray(0, count));
    this.#bytes += count;
  }

  /**
   * Ends `session` and logs `why`: both ends closed, its places freed.
   * False if it had ended already.
   */
  end(session: Session, why: string): boolean {
    if (session.ended) return false;
    session.dispose();
    this.#sessions.delete(session);
    for (const host of session.hosts) this.#hosts.remove(host);
    if (session.paired) {
      this.#log(`Relay session ended after ${session.bytes} bytes: ${why}`);
    } else this.#log(`Relay: ${why}`);
    return true;
  }

  /** Stops the shared rate limit; call once every session has ended. */
  close(): void {
    this.#total.close();
  }
}

/** Tells the other side this one sends nothing more; a socket gone is no error. */
async function halfClose(conn: Deno.TcpConn): Promise<void> {
  try {
    await conn.closeWrite();
  } catch {
    // Closed or reset already: the reads say so.
  }
}
