/**
 * Where a node's files are made known: with every tracker (an
 * {@linkcode AnnouncerGroup}) and, when they are on, on the local network
 * and in the DHT under each file's discovery key (a private share's from
 * its lookup key, never its ID). With either on, a share stands even when
 * no tracker answers: the trackers get it at a renewal once one is back.
 *
 * @module
 */

import type { AnnouncerGroup } from "../discovery/announcer_group.ts";
import type { Registration } from "../discovery/announcer.ts";
import { dirname } from "node:path";
import { discoveryKey, LanDiscovery } from "../discovery/lan.ts";
import type { DhtDiscovery } from "../discovery/dht.ts";
import type { PeerNodeOptions } from "./peer_node_types.ts";
import {
  type RegisterOptions,
  TrackerUnreachableError,
} from "../discovery/tracker_client.ts";

/** What offers keys without a tracker: the LAN, the DHT. */
export interface KeyOffers {
  /** Offers `key` (a discovery key) until withdrawn. */
  offer(key: string): unknown;
  /** Stops offering `key`. */
  withdraw(key: string): void;
}

/** See the module documentation. */
export class Registrations {
  #announcer: AnnouncerGroup;
  #offers: () => readonly KeyOffers[];

  /** Registers through `announcer`, and with what `offers` gives (LAN, DHT). */
  constructor(
    announcer: AnnouncerGroup,
    offers: () => readonly KeyOffers[],
  ) {
    this.#announcer = announcer;
    this.#offers = offers;
  }

  /**
   * Registers `entry` with the trackers and offers it on the LAN and the
   * DHT. Rejects with the trackers' error when none took it, unless it is
   * offered elsewhere.
   */
  async add(entry: Registration, options: RegisterOptions = {}): Promise<void> {
    const offers = this.#offers();
    const key = discoveryKey(keyOf(entry));
    // These first: they need no tracker, and one that is down takes seconds.
    for (const place of offers) place.offer(key);
    const elsewhere = offers.length > 0;
    try {
      await this.#announcer.add(entry, options, { keepWhenDown: elsewhere });
    } catch (error) {
      // Offered elsewhere, the trackers get it at a renewal once one is back.
      if (!elsewhere || !(error instanceof TrackerUnreachableError)) {
        for (const place of offers) place.withdraw(key);
        throw error;
      }
    }
  }

  /** Withdraws `key` (a file ID or a private share's lookup key) everywhere. */
  async remove(key: string): Promise<void> {
    for (const place of this.#offers()) place.withdraw(discoveryKey(key));
    await this.#announcer.remove(key);
  }
}

function keyOf(entry: Registration): string {
  return "lookup" in entry ? entry.lookup : entry.id;
}

/**
 * Starts what `options` turns on besides the trackers (LAN discovery, the
 * DHT) for a node serving on `port`; each is undefined when off or when the
 * network does not allow it (it says why in `log`).
 */
export async function startFinders(
  options: Pick<PeerNodeOptions, "lan" | "dht" | "log">,
  port: number,
): Promise<{ lan?: LanDiscovery; dht?: DhtDiscovery }> {
  const log = options.log;
  // The data folder the DHT keeps its routing table in may not exist yet.
  const nodesFile = options.dht?.nodesFile;
  if (nodesFile) {
    await Deno.mkdir(dirname(nodesFile), { recursive: true }).catch(() => {});
  }
  const [lan, dht] = await Promise.all([
    options.lan ? LanDiscovery.start({ port, log }) : undefined,
    options.dht ? startDht(options.dht, port, log) : undefined,
  ]);
  return { lan, dht };
}

async function startDht(
  options: NonNullable<PeerNodeOptions["dht"]>,
  port: number,
  log: PeerNodeOptions["log"],
): Promise<DhtDiscovery | undefined> {
  // Loaded only when the DHT is on.
  const { DhtDiscovery } = await import("../discovery/dht.ts");
  return await DhtDiscovery.start({ ...options, port, log });
}
