/**
 * How a download link reaches its peer: straight to it, or, for a peer
 * behind a router that drops incoming connections, through the tracker's
 * relay. A peer the tracker marked unreachable goes to the relay at once;
 * any other is tried straight first, and goes to the relay when that fails
 * before the peer answered at all. Either way the encryption handshake runs
 * end to end with the peer: the relay carries only ciphertext.
 *
 * @module
 */

import {
  type Address,
  connect,
  type Connection,
  type ConnectionOptions,
  formatAddress,
  openSecure,
} from "../net/connection.ts";
import { CONNECT_TIMEOUT_MS } from "../protocol/limits.ts";
import type { PeerAddress } from "../protocol/messages.ts";
import { describeConnectFailure, RouteError } from "./link_failure.ts";

/** How a link reached its peer: straight, or through the tracker's relay. */
export type LinkRoute = "direct" | "relayed";

/**
 * Opens a socket to the peer at `address` through the tracker's relay (the
 * link runs the encryption handshake over it). Rejects with a sentence for
 * the user when the tracker offers no relay or the peer does not come.
 */
export type MeetFunction = (
  address: Address,
  signal: AbortSignal,
) => Promise<Deno.Conn>;

/** Options for {@linkcode openRoute}. */
export interface OpenRouteOptions {
  /** Ends the attempt, whichever route it is on. */
  signal: AbortSignal;
  /** A private share's pre-shared key. @default {none} */
  psk?: Uint8Array;
  /** Ms to connect straight to the peer. @default {CONNECT_TIMEOUT_MS} */
  connectMs?: number;
  /** Frame limits of the connection. */
  limits?: ConnectionOptions;
  /** The way through the relay. @default {none: straight only} */
  meet?: MeetFunction;
  /** Receives a line when the relay is tried after a failed connect. */
  log?: (line: string) => void;
}

/** Connects to the peer at `address` by the first route that works. */
export async function openRoute(
  address: Address | PeerAddress,
  options: OpenRouteOptions,
): Promise<{ conn: Connection; route: LinkRoute }> {
  const { signal, psk, limits, meet } = options;
  const marked = (address as PeerAddress).reachable === false;
  let direct: unknown;
  if (!meet || !marked) {
    try {
      const conn = await connect(address, {
        signal,
        psk,
        limits,
        timeoutMs: options.connectMs ?? CONNECT_TIMEOUT_MS,
      });
      return { conn, route: "direct" };
    } catch (error) {
      if (!meet || signal.aborted || !unreached(error)) throw error;
      direct = error;
      options.log?.(
        `${formatAddress(address)} ${
          describeConnectFailure(error)
        }; asking the tracker to relay.`,
      );
    }
  }
  let raw: Deno.Conn;
  try {
    raw = await meet(address, signal);
  } catch (error) {
    if (signal.aborted) throw error;
    throw new RouteError(direct, error);
  }
  const conn = await openSecure(raw, { signal, psk, limits });
  return { conn, route: "relayed" };
}

/**
 * True if connecting failed before the peer was reached at all (timed out,
 * refused, no route): worth trying the relay. Failures after that (a
 * refused key, an old peer) would fail the same way through it.
 */
function unreached(error: unknown): boolean {
  return error instanceof Deno.errors.TimedOut ||
    error instanceof Deno.errors.ConnectionRefused ||
    error instanceof Deno.errors.ConnectionReset ||
    (error instanceof Error && /unreachable|no route/i.test(error.message));
}
