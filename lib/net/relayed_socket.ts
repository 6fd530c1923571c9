/**
 * Which sockets reach their peer through a relay: the socket's other end
 * is then the relay, not the peer. The side that opens one through a relay
 * (`nat/relay_client.ts`) marks it; the side that serves it
 * (`net/listener.ts`, `swarm/peer_server.ts`) reads the mark, so it names
 * the peer and says "via the relay" ({@linkcode viaRelay}) rather than
 * naming the relay's port as the peer.
 *
 * @module
 */

import { type Address, formatAddress } from "./connection.ts";

const relays = new WeakMap<Deno.Conn, Address>();

/** Marks `conn` as reaching its peer through the relay at `relay`. */
export function markRelayed(conn: Deno.Conn, relay: Address): void {
  relays.set(conn, relay);
}

/** The relay `conn` reaches its peer through, or undefined for a direct socket. */
export function relayOf(conn: Deno.Conn): Address | undefined {
  return relays.get(conn);
}

/**
 * A peer the relay at `relay` joins to this one, as logs name it: its host
 * (the tracker's word; the socket's other end is the relay) and the relay.
 *
 * @example
 * ```ts
 * viaRelay("198.51.100.4", { host: "203.0.113.1", port: 5001 });
 * // "198.51.100.4 via the relay at 203.0.113.1:5001"
 * ```
 */
export function viaRelay(host: string, relay: Address): string {
  return `${host} via the relay at ${formatAddress(relay)}`;
}
