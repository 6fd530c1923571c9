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
 * A peer a punch failed to reach is met at the relay, without another
 * punch, for the rest of the download: its links come back after the
 * relay's byte quota or an error, and each punch that fails costs
 * PUNCH_TIMEOUT_MS (5 s) before the relay.
 *
 * @module
 */

import {
  type Meeting,
  type TrackerAddress,
  TrackerClient,
  TrackerUnreachableError,
} from "../discovery/tracker_client.ts";
import { type Address, formatAddress } from "../net/connection.ts";
import type { MeetFunction } from "../swarm/link_route.ts";

/** The relay route of one download's links (see `swarm/link_route.ts`). */
export class Meetings {
  #tracker: TrackerAddress;
  #client?: Promise<TrackerClient>;
  #closed = false;
  /** Peers (by address) a hole punch failed to reach: met at the relay only. */
  #unpunchable = new Set<string>();
  #log?: (line: string) => void;

  /** Meetings arranged by the tracker at `tracker`. */
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
    const { openRelayed, choosePunchPort, punch } = await loadTraversal();
    const peer = formatAddress(address);
    const tryPunch = !this.#unpunchable.has(peer);
    if (!tryPunch) {
      this.#log?.(
        `Meeting ${peer} at the relay: a hole punch to it failed before.`,
      );
    }
    const localPort = tryPunch ? choosePunchPort() : undefined;
    const meeting = await this.#arrange(address, localPort);
    if (localPort !== undefined && meeting.punch !== undefined) {
      const remote = { host: address.host, port: meeting.punch };
      try {
        return {
          conn: await punch({ localPort, remote, signal }),
          route: "punched",
        };
      } catch (error) {
        signal.throwIfAborted();
        this.#unpunchable.add(peer);
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

  /**
   * The tracker's meeting with the peer at `address`, offering a hole
   * punch from `localPort` if given; a tracker connection that broke is
   * dropped, for the next meeting to open another.
   */
  async #arrange(address: Address, localPort?: number): Promise<Meeting> {
    const pending = this.#connection();
    const client = await pending;
    try {
      return await client.meet(
        address,
        localPort === undefined ? {} : { punch: localPort },
      );
    } catch (error) {
      if (error instanceof TrackerUnreachableError) {
        client.close();
        if (this.#client === pending) this.#client = undefined;
      }
      throw error;
    }
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

/**
 * The relay client and the hole punch, loaded at the first meeting: most
 * gets reach every peer straight and never need them (nor `node:net`). The
 * specifiers stay literal so `deno compile` takes the modules along; if
 * one cannot be loaded, the meeting fails like any other.
 */
async function loadTraversal(): Promise<
  & typeof import("../nat/relay_client.ts")
  & typeof import("../nat/hole_punch.ts")
> {
  try {
    const [relay, holePunch] = await Promise.all([
      import("../nat/relay_client.ts"),
      import("../nat/hole_punch.ts"),
    ]);
    return { ...relay, ...holePunch };
  } catch (error) {
    throw new Error(
      `This peer cannot load its relay and hole punch code (${
        message(error).replace(/\.$/, "")
      }). Reinstall peer.`,
      { cause: error },
    );
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
