/**
 * How one download reaches peers that cannot be reached directly: through
 * its tracker's relay. One tracker connection serves the whole download
 * (opened at the first need, opened again if it broke); for each peer it
 * asks the tracker to `connect` them, then meets the peer at the relay with
 * the token both were given. The link then runs its encryption handshake
 * over that socket, end to end with the peer.
 *
 * @module
 */

import {
  type TrackerAddress,
  TrackerClient,
  TrackerUnreachableError,
} from "../discovery/tracker_client.ts";
import type { Address } from "../net/connection.ts";
import { openRelayed } from "../nat/relay_client.ts";

/** The relay route of one download's links (see `swarm/link_route.ts`). */
export class Meetings {
  #tracker: TrackerAddress;
  #client?: Promise<TrackerClient>;
  #closed = false;

  /** Meetings arranged by the tracker at `tracker`. */
  constructor(tracker: TrackerAddress) {
    this.#tracker = tracker;
  }

  /**
   * A socket to the peer at `address` through the relay; rejects with a
   * sentence for the user if the tracker cannot arrange it or the peer
   * does not come.
   */
  async meet(address: Address, signal: AbortSignal): Promise<Deno.Conn> {
    if (this.#closed) throw new Error("The download has ended.");
    const pending = this.#connection();
    const client = await pending;
    let meeting;
    try {
      meeting = await client.meet(address);
    } catch (error) {
      if (error instanceof TrackerUnreachableError) {
        client.close();
        if (this.#client === pending) this.#client = undefined;
      }
      throw error;
    }
    return await openRelayed({
      relay: meeting.relay,
      token: meeting.token,
      role: "asker",
      signal,
    });
  }

  /** Closes the tracker connection. */
  close(): void {
    this.#closed = true;
    this.#client?.then((client) => client.close(), () => {});
    this.#client = undefined;
  }

  #connection(): Promise<TrackerClient> {
    if (this.#client) return this.#client;
    const pending = TrackerClient.connect(this.#tracker).then((client) => {
      if (this.#closed) client.close();
      return client;
    });
    pending.catch(() => {
      if (this.#client === pending) this.#client = undefined;
    });
    return this.#client = pending;
  }
}
