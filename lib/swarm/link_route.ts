/**
 * How a download link reaches its peer: straight to it, or, for a peer
 * behind a router that drops incoming connections, with the tracker's help
 * (a hole punch through both routers, else its relay). A peer the tracker
 * marked unreachable goes that way at once; any other is tried straight
 * first, and goes that way when that fails before the peer answered at all.
 * Every way, the encryption handshake runs end to end with the peer: the
 * relay carries only ciphertext.
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

/**
 * How a link reached its peer: straight, straight through a port its router
 * forwards at its request, through both routers by a hole punch the
 * tracker arranged, or through the tracker's relay.
 */
export type LinkRoute = "direct" | "mapped" | "punched" | "relayed";

/**
 * Opens a socket to the peer at `address` with the tracker's help: a hole
 * punch, else through its relay (the link runs the encryption handshake
 * over it). Rejects with a sentence for the user when neither works.
 */
export type MeetFunction = (
  address: Address,
  signal: AbortSignal,
) => Promise<{ conn: Deno.Conn; route: "punched" | "relayed" }>;

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
  /** The way with the tracker's help. @default {none: straight only} */
  meet?: MeetFunction;
  /** Receives a line when the tracker's help is sought after a failed connect. */
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
      return {
        conn,
        route: (address as PeerAddress).mapped ? "mapped" : "direct",
      };
    } catch (error) {
      if (!meet || signal.aborted || !unreached(error)) throw error;
      direct = error;
      options.log?.(
        `${formatAddress(address)} ${
          describeConnectFailure(error)
        }; asking the tracker to join us.`,
      );
    }
  }
  let met: Awaited<ReturnType<MeetFunction>>;
  try {
    met = await meet(address, signal);
  } catch (error) {
    if (signal.aborted) throw error;
    throw new RouteError(direct, error);
  }
  const conn = await openSecure(met.conn, { signal, psk, limits });
  return { conn, route: met.route };
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
