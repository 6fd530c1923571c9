/**
 * Where a node's files are made known: with every tracker (an
 * {@linkcode AnnouncerGroup}) and, when LAN discovery is on, on the local
 * network under each file's discovery key (a private share's from its
 * lookup key, never its ID). With the LAN on, a share stands even when no
 * tracker answers: the trackers get it at a renewal once one is back.
 *
 * @module
 */

import type { AnnouncerGroup } from "../discovery/announcer_group.ts";
import type { Registration } from "../discovery/announcer.ts";
import { discoveryKey, type LanDiscovery } from "../discovery/lan.ts";
import {
  type RegisterOptions,
  TrackerUnreachableError,
} from "../discovery/tracker_client.ts";

/** See the module documentation. */
export class Registrations {
  #announcer: AnnouncerGroup;
  #lan: () => LanDiscovery | undefined;

  /** Registers through `announcer`, and on the LAN `lan` gives, if any. */
  constructor(
    announcer: AnnouncerGroup,
    lan: () => LanDiscovery | undefined,
  ) {
    this.#announcer = announcer;
    this.#lan = lan;
  }

  /**
   * Registers `entry` with the trackers and offers it on the LAN. Rejects
   * with the trackers' error when none took it, unless the LAN is on.
   */
  async add(entry: Registration, options: RegisterOptions = {}): Promise<void> {
    const lan = this.#lan();
    // The LAN first: it needs no tracker, and one that is down takes seconds.
    lan?.offer(discoveryKey(keyOf(entry)));
    try {
      await this.#announcer.add(entry, options, { keepWhenDown: !!lan });
    } catch (error) {
      // With the LAN on, the trackers get it at a renewal once one is back.
      if (!lan || !(error instanceof TrackerUnreachableError)) {
        lan?.withdraw(discoveryKey(keyOf(entry)));
        throw error;
      }
    }
  }

  /** Withdraws `key` (a file ID or a private share's lookup key) everywhere. */
  async remove(key: string): Promise<void> {
    this.#lan()?.withdraw(discoveryKey(key));
    await this.#announcer.remove(key);
  }
}

function keyOf(entry: Registration): string {
  return "lookup" in entry ? entry.lookup : entry.id;
}
