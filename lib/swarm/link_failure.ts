/**
 * What a download link says when it could not connect, in words that
 * follow the peer's address ("10.0.0.7:6000 could not be reached …"): the
 * difference between a host that never answers and one that refuses tells
 * the user whether a firewall, a NAT or a stopped sharer is in the way.
 * The system's own wording ("Connection reset by peer (os error 104)") is
 * put in plain words, here and once connected (`describeLinkError`).
 *
 * @module
 */

import { HandshakeTimeoutError } from "../net/secure_transport.ts";
import { describeError, plainSystemText } from "../net/describe_error.ts";
import {
  HandshakeRefusedError,
  PlainPeerError,
  RecordBoundsError,
} from "../secure/secret_stream.ts";
import { AuthenticationError } from "../secure/noise.ts";

/** A link's failure when the other end closed the connection cleanly. */
export const PEER_CLOSED = "peer closed the connection";

/**
 * No route reached the peer: the direct connect's failure (none if the
 * tracker had marked the peer unreachable) and the relay's.
 */
export class RouteError extends Error {
  /** Why connecting straight to the peer failed; undefined if not tried. */
  readonly direct: unknown;
  /** Why the relay did not join the two. */
  readonly relay: unknown;

  /** Creates the error from both failures. */
  constructor(direct: unknown, relay: unknown) {
    super(relay instanceof Error ? relay.message : String(relay), {
      cause: relay,
    });
    this.name = "RouteError";
    this.direct = direct;
    this.relay = relay;
  }
}

/**
 * Why a connect failed, in words that follow the peer's address: a time-out
 * means packets went unanswered (a firewall or a router in the way), a
 * refusal that the machine answered but nothing listens there.
 */
export function describeConnectFailure(error: unknown): string {
  if (error instanceof RouteError) {
    const relay = clause(error.relay);
    return error.direct === undefined
      ? `could not be reached: the tracker cannot connect to it either (a router or firewall is in the way), and the relay did not join you: ${relay}`
      : `${
        describeConnectFailure(error.direct)
      }; the relay did not join you either: ${relay}`;
  }
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
      : error.reason === "no-key-expected"
      ? "takes no secret, but this link carries one"
      : "speaks another version of p2p's encryption: one of you needs to upgrade";
  }
  if (error instanceof PlainPeerError) {
    return "runs an older p2p that does not encrypt: it needs to upgrade";
  }
  if (error instanceof Deno.errors.UnexpectedEof) {
    // "Connection closed inside a record": it hung up mid-handshake.
    return "closed the connection during the encryption handshake (the sharer may have stopped)";
  }
  if (error instanceof TypeError) {
    // "Not a p2p secure connection": its answer was not p2p's handshake.
    return "is not a p2p peer (something else answers on that port)";
  }
  return `could not be reached (${describeError(error)})`;
}

/**
 * Why a link failed once connected, in words that follow the peer's
 * address ("10.0.0.7:6000 reset the connection"): the system's socket
 * errors in plain words, any other error its message.
 */
export function describeLinkError(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionReset) {
    return "reset the connection";
  }
  if (error instanceof Deno.errors.ConnectionAborted) {
    return "dropped the connection";
  }
  if (
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.UnexpectedEof
  ) return "closed the connection";
  if (error instanceof RecordBoundsError) {
    return "sent data that is not p2p's (a damaged connection, or not a p2p peer)";
  }
  if (error instanceof AuthenticationError) {
    return "sent data that failed its integrity check (damaged or altered on the way)";
  }
  return plainSystemText(
    error instanceof Error ? error.message : String(error),
  );
}

/** An error's sentence as a clause: no capital first, no full stop last. */
function clause(error: unknown): string {
  const text = error instanceof Deno.errors.UnexpectedEof
    ? describeError(error)
    : plainSystemText(error instanceof Error ? error.message : String(error));
  return (text.charAt(0).toLowerCase() + text.slice(1)).replace(/\.$/, "");
}

/**
 * What a peer's refusal of a `hello` says, in words that follow its
 * address ("10.0.0.7:6000 does not have this file (yet), …"), where the
 * wire's code and message ("not-shared: File 9f86… is not shared here")
 * would mean nothing to a user.
 */
export function describeRefusal(
  reply: { code: string; message?: string },
): string {
  return reply.code === "not-shared"
    ? "does not have this file (yet), or no longer shares it"
    : `refused the request (${reply.message || reply.code})`;
}
