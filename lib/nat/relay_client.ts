/**
 * The side of a relayed connection that connects: a peer told by the tracker
 * to meet its partner at a relay opens the connection here, says which end it
 * is and shows the token, and waits for the relay to pair it. What it gets
 * back is a plain socket to the partner, through the relay, on which the two
 * peers then run their own encrypted protocol.
 *
 * @module
 */

import { type Address, formatAddress } from "../net/connection.ts";
import { describeError } from "../net/describe_error.ts";
import { markRelayed } from "../net/relayed_socket.ts";
import { CONNECT_TIMEOUT_MS } from "../protocol/limits.ts";
import { closeQuietly } from "../util/close_quietly.ts";
import { writeAllAsync } from "../util/write_all.ts";
import {
  checkToken,
  encodeHello,
  PAIR_TIMEOUT_MS,
  type RelayRole,
  RelayStatus,
} from "./_relay_wire.ts";

/**
 * Ms {@linkcode openRelayed} waits in all, by default: the connect, then the
 * relay's wait for the partner (its default {@linkcode PAIR_TIMEOUT_MS}).
 */
export const OPEN_RELAYED_TIMEOUT_MS = CONNECT_TIMEOUT_MS + PAIR_TIMEOUT_MS;

/** Why a relayed connection could not be opened. */
export type RelayFailure =
  | "unknown"
  | "no-partner"
  | "busy"
  | "closed"
  | "timed-out";

/** Options for a {@linkcode RelayError}. */
export interface RelayErrorOptions extends ErrorOptions {
  /** The sentence for the user. @default {the reason's own sentence} */
  message?: string;
}

/**
 * A relayed connection could not be opened: `reason` says why, for code;
 * the message says it as one sentence for the user.
 */
export class RelayError extends Error {
  /** Why, for code. */
  readonly reason: RelayFailure;
  /** The relay that was asked. */
  readonly relay: Address;

  /** An error about `relay` failing for `reason`. */
  constructor(
    reason: RelayFailure,
    relay: Address,
    options: RelayErrorOptions = {},
  ) {
    super(options.message ?? sentence(reason, relay), options);
    this.name = "RelayError";
    this.reason = reason;
    this.relay = relay;
  }
}

/** Options for {@linkcode openRelayed}. */
export interface OpenRelayedOptions {
  /** The relay's address, as the tracker gave it. */
  relay: Address;
  /** The 16-byte token the tracker gave both peers. */
  token: Uint8Array;
  /** Whether this peer asked for the connection or was asked. */
  role: RelayRole;
  /** Ms for the connect and the wait for the partner together. @default {OPEN_RELAYED_TIMEOUT_MS} */
  timeoutMs?: number;
  /** Gives up at once (rejecting with the abort reason) when aborted. */
  signal?: AbortSignal;
}

/**
 * Connects to the relay, presents the token as `role` and waits until the
 * partner is there too; resolves to the socket, on which every byte from
 * now on is the partner's (marked as relayed: `net/relayed_socket.ts`).
 * Throws a {@linkcode RelayError} if the relay cannot be reached, refuses,
 * or the partner does not come.
 *
 * @example
 * ```ts
 * const conn = await openRelayed({ relay, token, role: "asker" });
 * // run the encrypted peer protocol over `conn`
 * ```
 */
export async function openRelayed(
  options: OpenRelayedOptions,
): Promise<Deno.TcpConn> {
  const { relay, token, role, signal } = options;
  checkToken(token);
  signal?.throwIfAborted();
  // One controller for the connect attempt; the socket, once there, is
  // closed instead, which ends a pending write or read.
  const attempt = new AbortController();
  let conn: Deno.TcpConn | undefined;
  const stop = (reason?: unknown) => {
    attempt.abort(reason);
    if (conn) closeQuietly(conn);
  };
  const timer = setTimeout(
    () => stop(),
    options.timeoutMs ?? OPEN_RELAYED_TIMEOUT_MS,
  );
  const onAbort = () => stop(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    conn = await reach(relay, attempt.signal);
    await writeAllAsync(conn, encodeHello({ role, token }));
    await expectPaired(conn, relay);
    attempt.signal.throwIfAborted();
    markRelayed(conn, relay);
    return conn;
  } catch (error) {
    if (conn) closeQuietly(conn);
    signal?.throwIfAborted();
    if (attempt.signal.aborted) throw new RelayError("timed-out", relay);
    if (error instanceof RelayError) throw error;
    throw new RelayError("closed", relay, { cause: error });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/** Opens the TCP connection; a failure is a "closed" error naming the cause. */
async function reach(
  relay: Address,
  signal: AbortSignal,
): Promise<Deno.TcpConn> {
  try {
    return await Deno.connect({
      hostname: relay.host,
      port: relay.port,
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw error;
    const why = describeError(error);
    throw new RelayError("closed", relay, {
      cause: error,
      message: `Cannot reach the relay at ${formatAddress(relay)}: ${
        why.charAt(0).toLowerCase() + why.slice(1)
      }. Is it running?`,
    });
  }
}

/**
 * Reads the one status byte (no more: what follows is the partner's) and
 * throws unless it says paired.
 */
async function expectPaired(
  conn: Deno.TcpConn,
  relay: Address,
): Promise<void> {
  const status = new Uint8Array(1);
  const got = await conn.read(status);
  if (got === null) throw new RelayError("closed", relay);
  switch (status[0]) {
    case RelayStatus.paired:
      return;
    case RelayStatus.unknown:
      throw new RelayError("unknown", relay);
    case RelayStatus.noPartner:
      throw new RelayError("no-partner", relay);
    case RelayStatus.busy:
      throw new RelayError("busy", relay);
    default:
      throw new RelayError("closed", relay, {
        message: `The relay at ${
          formatAddress(relay)
        } answered in a way this version does not understand: update, or use another relay.`,
      });
  }
}

/** The user's sentence for each failure. */
function sentence(reason: RelayFailure, relay: Address): string {
  const at = `The relay at ${formatAddress(relay)}`;
  switch (reason) {
    case "unknown":
      return `${at} was not expecting this connection, or waited too long for it: ask for the connection again.`;
    case "no-partner":
      return `${at} waited for the other peer, but it did not come: it may be offline, try again later.`;
    case "busy":
      return `${at} is busy: try again later.`;
    case "timed-out":
      return `${at} did not answer in time: check your connection and try again.`;
    case "closed":
      return `${at} closed the connection: try again later.`;
  }
}
