/**
 * TCP hole punching: two peers, each behind a router that drops what it
 * did not ask for, connect to each other at the same moment from fixed
 * local ports (a TCP simultaneous open). Each side's SYN opens its own
 * router's mapping; the other side's SYN, or its retransmission, then finds
 * that mapping and gets through, and the kernels complete the connection.
 * It works through routers that keep the source port (Linux MASQUERADE does
 * when the port is free, as most home routers do); not through one that
 * picks a random port for each connection, whose mapping the other side
 * cannot guess.
 *
 * The tracker tells both peers the other's public address and punch port
 * and when to start; {@linkcode punch} does the rest. `Deno.connect` cannot
 * choose its local port, so the connect goes through `node:net`, and the
 * socket comes back wrapped as a `Deno.TcpConn` for the secret stream and
 * `Connection` to run over unchanged.
 *
 * @module
 */

import { connect as nodeConnect, type Socket } from "node:net";
import { type Address, formatAddress } from "../net/connection.ts";
import { sleep } from "../util/sleep.ts";
import { NodeSocketConn } from "./_node_socket.ts";

/** Ms {@linkcode punch} keeps trying from its start, by default. */
export const PUNCH_TIMEOUT_MS = 5_000;

/**
 * Furthest ahead a start time may be, in ms: a later one (a bad clock, a
 * bad tracker) is refused rather than holding the peer for hours.
 */
export const MAX_START_DELAY_MS = 30_000;

/**
 * Ms between an attempt that failed at once and the next. Over a real
 * network a refusal takes a round trip, which paces the attempts anyway; on
 * one machine it comes back at once, and two attempts overlap (the only way
 * a simultaneous open happens where nothing drops the SYNs) by luck, so the
 * more attempts the sooner.
 */
export const RETRY_DELAY_MS = 1;

/**
 * Failures that say the other side is there but not connecting yet (it
 * refused or reset), or that this side's port is still held by the last
 * attempt: worth trying again until the time is up. Any other failure
 * (no route, a bad address) would fail the same way again.
 */
const RETRY_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EADDRINUSE",
  "EHOSTUNREACH",
  "ETIMEDOUT",
]);

/** Why a punch failed: the time ran out, or an attempt failed for good. */
export type PunchFailure = "timed-out" | "failed";

/** Options for a {@linkcode PunchError}. */
export interface PunchErrorOptions extends ErrorOptions {
  /** Connection attempts made. @default {0} */
  attempts?: number;
  /** The local port punched from, named when it was in use. */
  localPort?: number;
}

/**
 * No direct connection could be opened through the routers: `reason` says
 * why, for code (the relay is the usual next step); the message says it as
 * one sentence for the user.
 */
export class PunchError extends Error {
  /** Why, for code. */
  readonly reason: PunchFailure;
  /** The address punched to. */
  readonly remote: Address;
  /** Connection attempts made. */
  readonly attempts: number;

  /** An error about punching to `remote` failing for `reason`. */
  constructor(
    reason: PunchFailure,
    remote: Address,
    options: PunchErrorOptions = {},
  ) {
    super(
      `Could not open a direct connection to ${
        formatAddress(remote)
      } through the routers (${why(reason, options)}).`,
      options,
    );
    this.name = "PunchError";
    this.reason = reason;
    this.remote = remote;
    this.attempts = options.attempts ?? 0;
  }
}

/** Options for {@linkcode punch}. */
export interface PunchOptions {
  /** The local port to connect from: the one the other side was told. */
  localPort: number;
  /** The other side's public address and punch port. */
  remote: Address;
  /** When to start, in `Date.now()` ms. @default {now} */
  startAt?: number;
  /** Ms to keep trying, from the start. @default {PUNCH_TIMEOUT_MS} */
  timeoutMs?: number;
  /** Stops at once (rejecting with the abort reason), closing any socket. */
  signal?: AbortSignal;
}

/**
 * A free local TCP port to punch from: a listener takes one and lets it go.
 * (The port a listener holds cannot be punched from: binding it again
 * fails.) Another program could take it in between; the punch then fails.
 */
export function choosePunchPort(): number {
  const listener = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  try {
    return (listener.addr as Deno.NetAddr).port;
  } finally {
    listener.close();
  }
}

/**
 * Waits until `startAt`, then connects from `localPort` to `remote`,
 * trying again after quick failures, until connected or the time is up.
 * Resolves to the socket as a `Deno.TcpConn`; rejects with a
 * {@linkcode PunchError}, with a RangeError for bad options, or with the
 * abort reason.
 *
 * @example
 * ```ts
 * const localPort = choosePunchPort();
 * // …tell the tracker, learn the other side's address and the start…
 * const conn = await punch({ localPort, remote, startAt });
 * const connection = await openSecure(conn);
 * ```
 */
export async function punch(options: PunchOptions): Promise<Deno.TcpConn> {
  const { localPort, remote, signal } = options;
  const timeoutMs = options.timeoutMs ?? PUNCH_TIMEOUT_MS;
  const wait = (options.startAt ?? Date.now()) - Date.now();
  checkOptions(options, timeoutMs, wait);
  signal?.throwIfAborted();
  if (wait > 0) await sleep(wait, signal);
  const deadline = performance.now() + timeoutMs;
  let attempts = 0;
  let last: Error | undefined;
  for (;;) {
    const left = deadline - performance.now();
    const timedOut = () =>
      new PunchError("timed-out", remote, {
        attempts,
        cause: last,
        localPort: inUse(last) ? localPort : undefined,
      });
    if (left <= 0) throw timedOut();
    attempts++;
    const outcome = await attempt(remote, localPort, left, signal);
    if (outcome instanceof NodeSocketConn) return outcome;
    if (outcome === undefined) {
      // The last attempt was waiting for an answer: no failure to name.
      last = undefined;
      throw timedOut();
    }
    if (!RETRY_CODES.has(codeOf(outcome))) {
      throw new PunchError("failed", remote, { attempts, cause: outcome });
    }
    last = outcome;
    await sleep(RETRY_DELAY_MS, signal);
  }
}

/**
 * One connect from `localPort`: the conn, the error it failed with, or
 * undefined if it was still going after `ms` (then it is closed). Rejects
 * with the abort reason, closing the socket.
 */
function attempt(
  remote: Address,
  localPort: number,
  ms: number,
  signal?: AbortSignal,
): Promise<NodeSocketConn | Error | undefined> {
  return new Promise((resolve, reject) => {
    // Aborted while the last retry's wait resolved: no socket at all.
    if (signal?.aborted) return reject(signal.reason);
    const socket: Socket = nodeConnect({
      host: remote.host,
      port: remote.port,
      localPort,
      // A Deno.Conn stays writable after the other side's end of stream.
      allowHalfOpen: true,
    });
    const settle = (then: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", abort);
      socket.removeListener("connect", connected);
      socket.removeListener("error", failed);
      then();
    };
    const giveUp = (then: () => void) =>
      settle(() => {
        // Whatever the dropped socket still reports, no one is listening.
        socket.on("error", () => {});
        socket.destroy();
        then();
      });
    // Wrapped at once: the conn's own listeners take over before any
    // event can come without one.
    const connected = () => settle(() => resolve(new NodeSocketConn(socket)));
    const failed = (error: Error) => giveUp(() => resolve(error));
    const abort = () => giveUp(() => reject(signal?.reason));
    const timer = setTimeout(() => giveUp(() => resolve(undefined)), ms);
    socket.once("connect", connected);
    socket.once("error", failed);
    signal?.addEventListener("abort", abort, { once: true });
  });
}

/** Throws a RangeError naming the first bad option. */
function checkOptions(
  options: PunchOptions,
  timeoutMs: number,
  wait: number,
): void {
  checkPort(options.localPort, "local port");
  checkPort(options.remote.port, "remote port");
  if (!(timeoutMs > 0)) {
    throw new RangeError(`Punch timeout ${timeoutMs} ms must be positive.`);
  }
  if (!Number.isFinite(wait) || wait > MAX_START_DELAY_MS) {
    throw new RangeError(
      `Punch start ${options.startAt} is not a time within the next ${MAX_START_DELAY_MS} ms.`,
    );
  }
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new RangeError(`Punch ${what} ${port} must be from 1 to 65535.`);
  }
}

function codeOf(error: Error): string {
  return (error as { code?: string }).code ?? "";
}

function inUse(error: Error | undefined): boolean {
  return error !== undefined && codeOf(error) === "EADDRINUSE";
}

/** The words in the brackets of a {@linkcode PunchError}'s sentence. */
function why(reason: PunchFailure, options: PunchErrorOptions): string {
  if (reason === "timed-out") {
    return options.localPort === undefined
      ? "timed out"
      : `timed out; local port ${options.localPort} is in use`;
  }
  const cause = options.cause instanceof Error ? options.cause : undefined;
  switch (cause && codeOf(cause)) {
    case "ENETUNREACH":
      return "no route to that network";
    case "ENOTFOUND":
      return "no such host";
    case "EADDRNOTAVAIL":
      return "the local address or port is not available";
    case "EACCES":
    case "EPERM":
      return "not permitted";
    default:
      return cause ? codeOf(cause) || cause.message : "failed";
  }
}
