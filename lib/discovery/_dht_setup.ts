/**
 * Setting up a DHT node: its options checked, the permissions it needs,
 * and its UDP socket bound (to any free port when the usual one is taken).
 *
 * @module
 */

import type { Socket } from "node:dgram";
import { bindUdp, type DhtEndpoint } from "./_dht_guard.ts";
import { isValidHost } from "../net/address.ts";

/** The UDP port BitTorrent clients use for the DHT. */
export const DHT_UDP_PORT = 6881;
/** The public routers a node with no saved nodes starts from. */
export const DHT_BOOTSTRAP: readonly string[] = [
  "router.bittorrent.com:6881",
  "router.utorrent.com:6881",
  "dht.transmissionbt.com:6881",
];

/** Options for `DhtDiscovery.start`. */
export interface DhtOptions {
  /** The TCP port this peer serves on, announced to others. */
  port: number;
  /**
   * The UDP port of the DHT node; 0 for any. When the default is taken,
   * any free port is used instead. @default {DHT_UDP_PORT}
   */
  udpPort?: number;
  /** The local IPv4 address to bind. @default {"0.0.0.0"} */
  host?: string;
  /** Nodes to start from, as `host:port`; `[]` for none. @default {DHT_BOOTSTRAP} */
  bootstrap?: readonly string[];
  /**
   * A JSON file (in the peer's data folder) the routing table is saved to
   * on close and started from; a missing or unreadable one is ignored.
   */
  nodesFile?: string;
  /** Ms between announcements of offered keys. @default {DHT_REANNOUNCE_MS} */
  reannounceMs?: number;
  /** Receives one line per notable event (DHT off, announcements failing). */
  log?: (line: string) => void;
}

/** The bootstrap nodes as endpoints; throws a RangeError for options wrong in themselves. */
export function checkOptions(options: DhtOptions): DhtEndpoint[] {
  const ports = [["port", options.port, 1], ["udpPort", options.udpPort, 0]];
  for (const [name, port, least] of ports as [string, number, number][]) {
    if (port === undefined && name === "udpPort") continue;
    if (!Number.isInteger(port) || port < least || port > 65535) {
      throw new RangeError(
        `DHT discovery ${name} ${port} is not ${least} to 65535.`,
      );
    }
  }
  const interval = options.reannounceMs;
  if (interval !== undefined && !(interval >= 1 && interval < 2 ** 31)) {
    throw new RangeError(
      `DHT reannounce interval ${interval} ms is out of range.`,
    );
  }
  return (options.bootstrap ?? DHT_BOOTSTRAP).map(bootstrapNode);
}

/**
 * A bootstrap node written `host:port` (an IPv4 address or a name, port 1
 * to 65535: bittorrent-dht has no IPv6) as an endpoint; a RangeError for
 * anything else.
 *
 * @example
 * ```ts
 * bootstrapNode("router.bittorrent.com:6881"); // { host: "router.bittorrent.com", port: 6881 }
 * bootstrapNode("[::1]:6881"); // throws RangeError
 * ```
 */
export function bootstrapNode(entry: string): DhtEndpoint {
  const match = /^([^:\s]+):(\d{1,5})$/.exec(entry);
  const port = Number(match?.[2]);
  if (!match || !isValidHost(match[1]) || port < 1 || port > 65535) {
    throw new RangeError(
      `DHT bootstrap node "${entry}" is not host:port (IPv4 or a name).`,
    );
  }
  return { host: match[1], port };
}

/** What is missing for the DHT to run, or undefined; never prompts. */
export function missingPermission(): string | undefined {
  const net = Deno.permissions.querySync({ name: "net" }).state;
  const env = Deno.permissions.querySync({ name: "env" }).state;
  if (net !== "granted" && env !== "granted") {
    return "--allow-net and --allow-env";
  }
  if (net !== "granted") return "--allow-net (all hosts)";
  if (env !== "granted") return "--allow-env (bittorrent-dht reads it)";
  return undefined;
}

/**
 * A socket bound to `host`:`udpPort`; to any free port when the default
 * port is taken (another client on this machine); undefined after a log
 * line when it cannot be bound.
 */
export async function bindSocket(
  host: string,
  udpPort: number | undefined,
  log: (line: string) => void,
): Promise<Socket | undefined> {
  const port = udpPort ?? DHT_UDP_PORT;
  try {
    return await bindUdp(port, host);
  } catch (error) {
    if (
      udpPort === undefined &&
      (error as { code?: string }).code === "EADDRINUSE"
    ) {
      log(`DHT UDP port ${port} is taken; using any free port instead.`);
      return bindSocket(host, 0, log);
    }
    log(
      `DHT discovery is off: cannot bind UDP ${host}:${port}: ${
        message(error)
      }.`,
    );
    return undefined;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
