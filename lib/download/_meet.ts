/**
 * How one download reaches peers that cannot be reached directly, with its
 * tracker's help. One tracker connection serves the whole download (opened
 * at the first need, opened again if it broke); for each peer it asks the
 * tracker to `connect` them, offering a hole punch from a port of its own.
 * If the peer takes the offer, both connect to each other at once through
 * their routers (TCP simultaneous open); if that fails or was not taken,
 * they meet at the relay with the token both were given. The link then
 * runs its encryption handshake over the socket, end to end with the peer.
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
import { choosePunchPort, punch } from "../nat/hole_punch.ts";
import type { MeetFunction } from "../swarm/link_route.ts";

/** The relay route of one download's links (see `swarm/link_route.ts`). */
export class Meetings {
  #tracker: TrackerAddress;
  #client?: Promise<TrackerClient>;
  #closed = false;

  /** Meetings arranged by the tracker at `tracker`. */
  #log?: (line: string) => void;

  constructor(tracker: TrackerAddress, log?: (line: string) => void) {
    this.#tracker = tracker;
    this.#log = log;
  }

  /**
   * A socket to the peer at `address`, punched or through the relay;
   * rejects with a sentence for the user if the tracker cannot arrange it
   * or the peer does not come.
   */
  meet: MeetFunction = async (address: Address, signal: AbortSignal) => {
    if (this.#closed) throw new Error("The download has ended.");
    const pending = this.#connection();
    const client = await pending;
    const localPort = choosePunchPort();
    let meeting;
    try {
      meeting = await client.meet(address, { punch: localPort });
    } catch (error) {
      if (error instanceof TrackerUnreachableError) {
        client.close();
        if (this.#client === pending) this.#client = undefined;
      }
      throw error;
    }
    if (meeting.punch !== undefined) {
      const remote = { host: address.host, port: meeting.punch };
      try {
        return {
          conn: await punch({ localPort, remote, signal }),
          route: "punched",
        };
      } catch (error) {
        signal.throwIfAborted();
        this.#log?.(`${message(error)} Meeting at the relay instead.`);
      }
    }
    const conn = await openRelayed({
      relay: meeting.relay,
      token: meeting.token,
      role: "asker",
      signal,
    });
    return { conn, route: "relayed" };
  };

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

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
