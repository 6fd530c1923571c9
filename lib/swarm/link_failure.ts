/**
 * What a download link says when it could not connect, in words that
 * follow the peer's address ("10.0.0.7:6000 could not be reached …"): the
 * difference between a host that never answers and one that refuses tells
 * the user whether a firewall, a NAT or a stopped sharer is in the way.
 *
 * @module
 */

import { HandshakeTimeoutError } from "../net/secure_transport.ts";
import {
  HandshakeRefusedError,
  PlainPeerError,
} from "../secure/secret_stream.ts";

/**
 * Why a connect failed, in words that follow the peer's address: a time-out
 * means packets went unanswered (a firewall or a router in the way), a
 * refusal that the machine answered but nothing listens there.
 */
export function describeConnectFailure(error: unknown): string {
  if (error instanceof HandshakeTimeoutError) {
    return `took the connection but did not finish the encryption handshake within ${
      error.limitMs / 1000
    } s (it may not be a p2p peer)`;
  }
  if (error instanceof Deno.errors.TimedOut) {
    return "could not be reached (connecting timed out): the sharer may be behind a firewall or NAT";
  }
  if (error instanceof Deno.errors.ConnectionRefused) {
    return "refused the connection: nothing listens on that port (the sharer may have stopped)";
  }
  if (error instanceof HandshakeRefusedError) {
    return error.reason === "unknown-key"
      ? "does not share a file with this link's secret"
      : error.reason === "key-required"
      ? "accepts only connections with a secret"
      : "speaks another version of p2p's encryption: one of you needs to upgrade";
  }
  if (error instanceof PlainPeerError) {
    return "runs an older p2p that does not encrypt: it needs to upgrade";
  }
  const text = error instanceof Error ? error.message : String(error);
  return `could not be reached (${text})`;
}
