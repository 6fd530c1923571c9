/**
 * Whether other peers can reach this one, and the way in for those that
 * cannot: once something is registered, the tracker is asked to connect
 * back (`reach`). If it cannot, the router is asked to forward the port
 * (PCP, NAT-PMP, UPnP); when the tracker then gets through the forwarded
 * port, registrations move to it (removed again at close). The answer is
 * kept and reported once. Each peer the
 * tracker then sends (`incoming`) is met: by a hole punch when it offered
 * one and this peer's router keeps ports (this peer says its punch port and
 * connects to the other's at once), else, or when the punch fails, at the
 * relay. The socket is served like any accepted connection (the encryption
 * handshake runs end to end over it).
 *
 * @module
 */

import type { AnnouncerGroup } from "../discovery/announcer_group.ts";
import type { Incoming, Reachability } from "../discovery/tracker_client.ts";
import type { PortMapping, PortMappingMethod } from "../nat/port_mapping.ts";
import type { Address } from "../net/connection.ts";
import type { PeerServer } from "../swarm/peer_server.ts";

/**
 * Relay meetings being opened at once: more requests than this are let go
 * (the tracker limits how fast any one peer may ask; this bounds them all).
 */
export const MAX_MEETINGS_OPENING = 16;

/** What the tracker said of reaching this peer, and the router's forward if it took one. */
export interface PeerReachability extends Reachability {
  /** The port the router forwards to this peer, if one made it reachable. */
  mapping?: { method: PortMappingMethod; external: Address };
}

/** Options for {@linkcode Reach}. */
export interface ReachOptions {
  /** Serves what the relay joins to this peer. */
  server: PeerServer;
  /** Ask the router to forward the server's port when needed. @default {true} */
  portMapping?: boolean;
  /** Called once with the tracker's answer. */
  onReachability?: (reachability: PeerReachability) => void;
  /** Receives one line per notable event. */
  log?: (line: string) => void;
}

/** This peer's reachability, and its meetings at the relay. */
export class Reach {
  #options: ReachOptions;
  #checking?: Promise<void>;
  #known?: PeerReachability;
  #mapping?: PortMapping;
  #closed = false;
  #opening = 0;

  /** Nothing is asked until {@linkcode check}. */
  constructor(options: ReachOptions) {
    this.#options = options;
  }

  /** The tracker's answer, once it came. */
  get known(): PeerReachability | undefined {
    return this.#known;
  }

  /** Asks the tracker through `announcer`, once (again only if that failed). */
  check(announcer: AnnouncerGroup): void {
    this.#checking ??= this.#find(announcer).then((reachability) => {
      this.#known = reachability;
      // A peer that already stopped (a get that finished) says nothing.
      if (!this.#closed) this.#options.onReachability?.(reachability);
    }, (error) => {
      this.#options.log?.(
        `Could not ask the tracker whether others can reach this peer: ${
          message(error)
        }`,
      );
      this.#checking = undefined;
    });
  }

  /** Removes the router's forward, if there is one. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#mapping?.close();
  }

  /** The tracker's answer; behind a router, after asking it to forward the port. */
  async #find(announcer: AnnouncerGroup): Promise<PeerReachability> {
    const first = await announcer.reach();
    if (
      first.reachable || this.#options.portMapping === false || this.#closed
    ) return first;
    const { log, server } = this.#options;
    // Loaded only when the tracker cannot reach this peer.
    const { mapPort } = await import("../nat/port_mapping.ts");
    const mapping = await mapPort({ port: server.address.port, log });
    if (!mapping) return first;
    if (this.#closed) {
      await mapping.close();
      return first;
    }
    const { external, method } = mapping;
    const through = await announcer.reach({ port: external.port, mapped: true })
      .catch(() => undefined);
    if (!through?.reachable) {
      log?.(
        `The router forwards port ${external.port} (${method}), but the tracker cannot connect through it.`,
      );
      await mapping.close();
      return first;
    }
    this.#mapping = mapping;
    await announcer.movePort(external.port);
    return { ...through, mapping: { method, external } };
  }

  /**
   * Meets the peer the tracker sent, punched or at the relay, and serves
   * it; `announcer` carries this peer's answer to a punch offer.
   */
  incoming(incoming: Incoming, announcer: AnnouncerGroup): void {
    const { log, server } = this.#options;
    if (this.#opening >= MAX_MEETINGS_OPENING) {
      log?.(`Too many meetings at once; not meeting ${incoming.host}.`);
      if (incoming.punch !== undefined) {
        announcer.offerPunch(incoming.token).catch(() => {});
      }
      return;
    }
    this.#opening++;
    this.#meet(incoming, announcer)
      .then(
        (raw) => server.adopt(raw, { host: incoming.host, port: 0 }),
        (error) => log?.(`Could not meet ${incoming.host}: ${message(error)}`),
      )
      .finally(() => this.#opening--);
  }

  async #meet(
    incoming: Incoming,
    announcer: AnnouncerGroup,
  ): Promise<Deno.Conn> {
    // Loaded only when a peer is sent to meet this one.
    const [{ openRelayed }, { choosePunchPort, punch }] = await Promise.all([
      import("../nat/relay_client.ts"),
      import("../nat/hole_punch.ts"),
    ]);
    if (incoming.punch !== undefined) {
      const canPunch = this.#known?.keepsPorts === true;
      const localPort = canPunch ? choosePunchPort() : undefined;
      // Said at once: the other peer's answer waits for it. This peer
      // dials at once too, so its router lets the other's packets in
      // by the time they come.
      const said = announcer.offerPunch(incoming.token, localPort);
      said.catch(() => {});
      if (localPort !== undefined) {
        try {
          return await punch({
            localPort,
            remote: { host: incoming.host, port: incoming.punch },
          });
        } catch (error) {
          this.#options.log?.(
            `${message(error)} Meeting ${incoming.host} at the relay instead.`,
          );
        }
      } else {
        await said.catch(() => {});
      }
    }
    return await openRelayed({
      relay: incoming.relay,
      token: incoming.token,
      role: "asked",
    });
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
