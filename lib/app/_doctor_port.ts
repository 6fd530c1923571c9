/**
 * The port `peer doctor` checks: a listener of its own there, so the
 * tracker finds something to connect back to; and when the port is taken,
 * whether by a p2p peer (which answers the tracker itself) or by another
 * program (then the port cannot be used, whatever the router does).
 *
 * @module
 */

import { connect } from "../net/connection.ts";
import { type Listener, ListenError, startListener } from "../net/listener.ts";
import {
  HandshakeRefusedError,
  PlainPeerError,
} from "../secure/secret_stream.ts";

/**
 * How long whatever holds the port gets to answer as a p2p peer would
 * (connect and encryption handshake, each): on this machine it answers at
 * once or not at all.
 */
export const PORT_OWNER_PROBE_MS = 2_000;

/** Where {@linkcode listenForCheck} listens. */
export interface PortCheckOptions {
  /** The port checked. */
  port: number;
  /** The interface to bind. @default {"0.0.0.0"} */
  host?: string;
}

/** What {@linkcode listenForCheck} found. */
export interface PortCheck {
  /**
   * A listener for the tracker to connect back to: on the port, or, when
   * another program holds the port, on a free one (for the address check
   * alone). None when a p2p peer holds the port (it answers the tracker)
   * or the port could not be listened on for another reason.
   */
  listener?: Listener;
  /** True if another program, not a p2p peer, holds the port. */
  inUse?: boolean;
}

/**
 * Listens on the port checked, or finds out who holds it; the caller
 * closes the listener. Throws the `ListenError` of a host that cannot be
 * listened on (not an address of this machine, say).
 */
export async function listenForCheck(
  options: PortCheckOptions,
): Promise<PortCheck> {
  const host = options.host ?? "0.0.0.0";
  try {
    return { listener: listen(host, options.port) };
  } catch (error) {
    if (!(error instanceof ListenError)) throw error;
    const cause = error.cause;
    // A port below 1024 without the rights to it: the tracker is asked
    // about the port anyway, as a share started with them could use it.
    if (cause instanceof Deno.errors.PermissionDenied) return {};
    // Anything else is the host's fault (not an address of this machine, a
    // name that does not resolve): a share there would fail the same way.
    if (!(cause instanceof Deno.errors.AddrInUse)) throw error;
  }
  if (await peerAnswers(host, options.port)) return {};
  return { listener: listen(host, 0), inUse: true };
}

function listen(host: string, port: number): Listener {
  return startListener({ host, port, serve: async () => {} });
}

/** True if a p2p peer (or tracker) answers on `port` of this machine. */
async function peerAnswers(host: string, port: number): Promise<boolean> {
  const local = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  try {
    (await connect({ host: local, port }, {
      timeoutMs: PORT_OWNER_PROBE_MS,
      handshakeMs: PORT_OWNER_PROBE_MS,
    })).close();
    return true;
  } catch (error) {
    return error instanceof HandshakeRefusedError ||
      error instanceof PlainPeerError;
  }
}
