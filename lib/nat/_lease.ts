/**
 * What every port-mapping protocol gives back, so that the mapping's owner
 * renews and removes it the same way whichever protocol made it.
 *
 * @module
 */

import type { Address } from "../net/connection.ts";

/** How a mapping was made: UPnP IGD, NAT-PMP (RFC 6886) or PCP (RFC 6887). */
export type PortMappingMethod = "upnp" | "nat-pmp" | "pcp";

/** Where a gateway was asked, and by whom. */
export interface MappingRequest {
  /** The local TCP port to map. */
  internalPort: number;
  /** Seconds of lease to ask for. */
  lifetimeSeconds: number;
  /** Where to say what happened, one line at a time. */
  log: (line: string) => void;
}

/** One mapping a gateway granted. */
export interface Lease {
  /** The protocol that made it. */
  readonly method: PortMappingMethod;
  /** The public address and port that reach the local port. */
  readonly external: Address;
  /** Seconds the gateway granted; 0 when it lasts until removed. */
  readonly lifetimeSeconds: number;
  /**
   * Asks for the same mapping again, before it expires; resolves to the
   * lease as now granted (the port may differ after a gateway restart).
   * Rejects with an Error saying why if the gateway does not grant it.
   */
  renew(signal: AbortSignal): Promise<Lease>;
  /** Deletes the mapping; rejects with an Error saying why if that fails. */
  remove(signal: AbortSignal): Promise<void>;
}
