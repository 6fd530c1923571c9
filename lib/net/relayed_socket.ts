/**
 * Which sockets reach their peer through a relay: the socket's other end
 * is then the relay, not the peer. The side that opens one through a relay
 * (`nat/relay_client.ts`) marks it; the side that serves it
 * (`swarm/peer_server.ts`) reads the mark, so it names the peer and says
 * "via the relay" rather than naming the relay's port as the peer.
 *
 * @module
 */

import type { Address } from "./connection.ts";

const relays = new WeakMap<Deno.Conn, Address>();

/** Marks `conn` as reaching its peer through the relay at `relay`. */
export function markRelayed(conn: Deno.Conn, relay: Address): void {
  relays.set(conn, relay);
}

/** The relay `conn` reaches its peer through, or undefined for a direct socket. */
export function relayOf(conn: Deno.Conn): Address | undefined {
  return relays.get(conn);
}
