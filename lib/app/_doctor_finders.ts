/**
 * The checks of `peer doctor` that need no tracker: can this peer find
 * others on the local network (LAN discovery's multicast group), and can it
 * join the DHT (do its bootstrap nodes answer)?
 *
 * @module
 */

import {
  checkLanDiscovery,
  LAN_GROUP,
  LAN_UDP_PORT,
  type LanCheck,
} from "../discovery/lan.ts";
import {
  DHT_BOOTSTRAP,
  pingDhtNodes,
  type PingedNode,
} from "../discovery/dht.ts";

export type { LanCheck } from "../discovery/lan.ts";
export { NO_SUCH_HOST, type PingedNode } from "../discovery/dht.ts";

/** Ms the LAN check waits for its announcement to come back (at once on a working host). */
export const LAN_CHECK_MS = 1_000;
/** Ms the DHT check waits for the bootstrap nodes to answer. */
export const DHT_CHECK_MS = 3_000;

/** Where the LAN check joins: LAN discovery's own group unless told. */
export interface LanCheckWhere {
  /** The multicast group. @default {LAN_GROUP} */
  group?: string;
  /** Its UDP port. @default {LAN_UDP_PORT} */
  udpPort?: number;
  /** The local IPv4 address whose interface to use. @default {the route to 224.0.0.0/4} */
  interface?: string;
}

/** What the DHT check is to ask. */
export interface DhtCheckOptions {
  /** The nodes to ask, `host:port`. @default {DHT_BOOTSTRAP} */
  bootstrap?: readonly string[];
  /** The local IPv4 address to send from. @default {"0.0.0.0"} */
  host?: string;
}

/** What the DHT check found. */
export interface DhtCheck {
  /** Each node asked, whether it answered and how fast. */
  nodes: PingedNode[];
  /** How many answered within DHT_CHECK_MS. */
  answered: number;
  /** Why no node could be asked at all (no UDP socket), if so. */
  error?: string;
}

/**
 * Joins LAN discovery's group and hears an announcement of its own come
 * back (naming `port`). Never throws.
 */
export function checkLan(
  port: number,
  where: LanCheckWhere = {},
): Promise<LanCheck> {
  return checkLanDiscovery({
    port,
    group: where.group ?? LAN_GROUP,
    udpPort: where.udpPort ?? LAN_UDP_PORT,
    interface: where.interface,
    timeoutMs: LAN_CHECK_MS,
  });
}

/** Pings each bootstrap node; never throws. */
export async function checkDht(options: DhtCheckOptions): Promise<DhtCheck> {
  const bootstrap = options.bootstrap ?? DHT_BOOTSTRAP;
  try {
    const nodes = await pingDhtNodes(bootstrap, {
      host: options.host,
      timeoutMs: DHT_CHECK_MS,
    });
    const answered = nodes.filter((node) => node.ms !== undefined).length;
    return { nodes, answered };
  } catch (error) {
    return {
      nodes: bootstrap.map((node) => ({ node })),
      answered: 0,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}
