/**
 * `peer doctor`: what stands between this machine and other peers, checked
 * one step at a time against the tracker. Can the tracker be reached? At
 * what address does it see this machine? Is there a NAT router in between,
 * and does it keep ports (hole punching needs that)? Can the tracker connect
 * back to this peer's port? Does the tracker offer a relay, and can it be
 * reached? Each answer is data; `cli/doctor.ts` turns them into one line
 * each with what to do.
 *
 * @module
 */

import {
  type Reachability,
  type TrackerAddress,
  TrackerClient,
} from "../discovery/tracker_client.ts";
import { type Address, dial, formatAddress } from "../net/connection.ts";
import { type Listener, startListener } from "../net/listener.ts";
import { closeQuietly } from "../util/close_quietly.ts";
import { CONNECT_TIMEOUT_MS } from "../protocol/limits.ts";
import { mapPort, type PortMappingMethod } from "../nat/port_mapping.ts";

/** What lies between this machine and the tracker. */
export type NatKind =
  /** The tracker sees the address this machine has: no NAT. */
  | "none"
  /** A NAT that kept the source port: hole punching can work through it. */
  | "port-preserving"
  /** A NAT that changed the source port: hole punching will not work. */
  | "port-changing";

/** Everything `doctor` found; a step not reached is undefined. */
export interface DoctorReport {
  /** The tracker asked. */
  tracker: string;
  /** Ms to connect to it and finish the encryption handshake. */
  trackerMs?: number;
  /** Why it could not be reached (a sentence), if it could not. */
  trackerError?: string;
  /** This machine's address on the way to the tracker. */
  local?: string;
  /** This machine's address as the tracker sees it. */
  observed?: string;
  /** Whether a NAT sits in between, and of what kind. */
  nat?: NatKind;
  /** The port checked for reaching this peer from outside. */
  port: number;
  /** True if the tracker could connect to that port. */
  reachable?: boolean;
  /**
   * What the router did when asked to forward the port (only asked when
   * not reachable): the forward, and whether the tracker got through it;
   * null if no router here maps ports; undefined if not asked.
   */
  mapping?: {
    method: PortMappingMethod;
    external: string;
    reachable: boolean;
  } | null;
  /** The tracker's relay, if it offers one. */
  relay?: string;
  /** True if the relay accepted a connection; undefined if there is none. */
  relayOk?: boolean;
}

/** Options for {@linkcode runDoctor}. */
export interface DoctorOptions {
  /** The tracker to check against. */
  tracker: TrackerAddress;
  /** The port other peers would reach this one on. */
  port: number;
  /** The interface a check listener binds to. @default {"0.0.0.0"} */
  host?: string;
  /**
   * True when a peer of this process already serves `port` (the prompt):
   * no listener of the doctor's own is needed. @default {false}
   */
  serving?: boolean;
  /** Ask the router to forward the port if it is not reachable. @default {true} */
  portMapping?: boolean;
}

/**
 * Runs every check it can and reports what it found; never throws for a
 * network failure (that is a finding).
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const report: DoctorReport = {
    tracker: formatAddress(options.tracker),
    port: options.port,
  };
  const started = performance.now();
  let client: TrackerClient;
  try {
    client = await TrackerClient.connect(options.tracker);
  } catch (error) {
    report.trackerError = message(error);
    return report;
  }
  report.trackerMs = Math.round(performance.now() - started);
  const listener = options.serving ? undefined : listenQuietly(options);
  // Port 0: the one the check listener got.
  report.port = listener?.address.port ?? options.port;
  try {
    const reach = await client.reach(report.port);
    describeReach(report, reach, client.local);
    if (!reach.reachable && options.portMapping !== false) {
      report.mapping = await tryMapping(client, report.port);
    }
    if (reach.relay) {
      report.relay = formatAddress(reach.relay);
      report.relayOk = await answers(reach.relay);
    }
  } catch (error) {
    report.trackerError = message(error);
  } finally {
    client.close();
    await listener?.close();
  }
  return report;
}

function describeReach(
  report: DoctorReport,
  reach: Reachability,
  local: Address,
): void {
  report.local = local.host;
  report.observed = reach.observed.host;
  report.reachable = reach.reachable;
  report.nat = reach.observed.host === local.host
    ? "none"
    : reach.observed.port === local.port
    ? "port-preserving"
    : "port-changing";
}

/**
 * A listener on the port being checked, so the tracker finds something to
 * connect to; none if the port is taken (a peer of this machine already
 * serves it, and answers the tracker itself).
 */
function listenQuietly(options: DoctorOptions): Listener | undefined {
  try {
    return startListener({
      host: options.host ?? "0.0.0.0",
      port: options.port,
      serve: async () => {},
    });
  } catch {
    return undefined;
  }
}

/**
 * Asks the router to forward `port`, checks with the tracker that it
 * works, and removes the forward again.
 */
async function tryMapping(
  client: TrackerClient,
  port: number,
): Promise<DoctorReport["mapping"]> {
  const mapping = await mapPort({ port });
  if (!mapping) return null;
  try {
    const through = await client.reach(mapping.external.port, {
      mapped: true,
    });
    return {
      method: mapping.method,
      external: formatAddress(mapping.external),
      reachable: through.reachable,
    };
  } finally {
    await mapping.close();
  }
}

/** True if a TCP connection to `address` opens. */
async function answers(address: Address): Promise<boolean> {
  try {
    closeQuietly(await dial(address, { timeoutMs: CONNECT_TIMEOUT_MS }));
    return true;
  } catch {
    return false;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
