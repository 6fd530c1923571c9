/**
 * `peer doctor`: what stands between this machine and other peers, checked
 * one step at a time. Can each tracker be reached? Then, asking the first
 * one that answers: at what address does it see this machine? Is there a
 * NAT router in between, and does it keep ports (hole punching needs
 * that)? Is the port free, and can the tracker connect back to it? Does
 * the tracker offer a relay, and can it be reached (only the first
 * tracker's relay is ever used, so only its relay is checked)? And, with
 * no tracker at all: can this peer find others on the local network (LAN
 * discovery), and do the DHT's bootstrap nodes answer? Each answer is
 * data; `cli/doctor.ts` turns them into one line each with what to do.
 *
 * @module
 */

import {
  type Reachability,
  type TrackerAddress,
  TrackerClient,
} from "../discovery/tracker_client.ts";
import { trackersOf } from "../discovery/tracker_group.ts";
import { type Address, dial, formatAddress } from "../net/connection.ts";
import { closeQuietly } from "../util/close_quietly.ts";
import { CONNECT_TIMEOUT_MS } from "../protocol/limits.ts";
import { mapPort, type PortMappingMethod } from "../nat/port_mapping.ts";
import { checkTrackers, type TrackerCheck } from "./_doctor_trackers.ts";
import { listenForCheck, type PortCheck } from "./_doctor_port.ts";
import {
  checkDht,
  checkLan,
  type DhtCheck,
  type DhtCheckOptions,
  type LanCheck,
  type LanCheckWhere,
} from "./_doctor_finders.ts";

export type { TrackerCheck } from "./_doctor_trackers.ts";
export type {
  DhtCheck,
  DhtCheckOptions,
  LanCheck,
  LanCheckWhere,
  PingedNode,
} from "./_doctor_finders.ts";
export { DHT_CHECK_MS, LAN_CHECK_MS, NO_SUCH_HOST } from "./_doctor_finders.ts";

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
  /**
   * The tracker the checks were made with: the first one that answered
   * (the first one given when none did).
   */
  tracker: string;
  /** Every tracker given, in order, each reached or not. */
  trackers: TrackerCheck[];
  /** Ms to connect to `tracker` and finish the encryption handshake. */
  trackerMs?: number;
  /**
   * Why `tracker` could not be reached or stopped answering (a sentence);
   * when no tracker was reached, the first one's.
   */
  trackerError?: string;
  /** This machine's address on the way to the tracker. */
  local?: string;
  /** This machine's address as the tracker sees it. */
  observed?: string;
  /** Whether a NAT sits in between, and of what kind. */
  nat?: NatKind;
  /** The port checked for reaching this peer from outside. */
  port: number;
  /**
   * True when asked to check port 0: `port` is a free port picked for the
   * check, as `--port 0` picks one; a share picks another.
   */
  portPicked?: boolean;
  /**
   * True if another program on this machine (not a p2p peer) holds the
   * port: then whether it can be reached and forwarded is not checked.
   */
  portInUse?: boolean;
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
  /** The tracker's relay, if it offers one (checked on the first tracker only). */
  relay?: string;
  /** True if the relay accepted a connection; undefined if there is none. */
  relayOk?: boolean;
  /** LAN discovery's check; undefined when it is off (not checked). */
  lan?: LanCheck;
  /** The DHT's check; undefined when it is off (not checked). */
  dht?: DhtCheck;
}

/** Options for {@linkcode runDoctor}. */
export interface DoctorOptions {
  /**
   * The first tracker: the one that puts peers behind routers in touch and
   * runs the relay.
   */
  tracker: TrackerAddress;
  /** More trackers, each checked for whether it answers. @default {none} */
  moreTrackers?: readonly TrackerAddress[];
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
  /** Check LAN discovery, in this group. @default {not checked} */
  lan?: LanCheckWhere;
  /** Check that these DHT bootstrap nodes answer. @default {not checked} */
  dht?: DhtCheckOptions;
}

/**
 * Runs every check it can and reports what it found; never throws for a
 * network failure (that is a finding). Throws the `ListenError` of a
 * `host` that cannot be listened on (not an address of this machine), as
 * a share there would, before anything is sent.
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const check = options.serving ? {} : await listenForCheck(options);
  try {
    const report: DoctorReport = { tracker: "", trackers: [], port: 0 };
    if (check.inUse) report.portInUse = true;
    // Port 0: the one the check listener got (unless it stands in for a
    // port in use).
    report.port = check.inUse
      ? options.port
      : check.listener?.address.port ?? options.port;
    if (options.port === 0 && !options.serving) report.portPicked = true;
    const [, lan, dht] = await Promise.all([
      withTrackers(report, check, options),
      options.lan && checkLan(report.port || 1, options.lan),
      options.dht && checkDht(options.dht),
    ]);
    if (lan) report.lan = lan;
    if (dht) report.dht = dht;
    return report;
  } finally {
    await check.listener?.close();
  }
}

/**
 * The checks that need a tracker, into `report`: which trackers answer,
 * then, asking the first that did, the address, the port and the relay.
 */
async function withTrackers(
  report: DoctorReport,
  check: PortCheck,
  options: DoctorOptions,
): Promise<void> {
  const trackers = trackersOf(options.tracker, options.moreTrackers);
  const { checks, client, index, error } = await checkTrackers(trackers);
  report.tracker = formatAddress(trackers[index]);
  report.trackers = checks;
  if (!client) {
    report.trackerError = error;
    return;
  }
  report.trackerMs = checks[index].ms;
  try {
    await askTracker(report, client, {
      probePort: check.listener?.address.port ?? report.port,
      mapping: options.portMapping !== false,
      relay: index === 0,
    });
  } catch (error) {
    report.trackerError = message(error);
  } finally {
    client.close();
  }
}

/**
 * The checks that ask the tracker `client` talks to: the address it sees
 * this machine at, whether it can connect back to `probePort` (the port
 * checked, or a stand-in when that one is in use: for the address alone),
 * the router's port mapping when not, and the relay when `relay`.
 */
async function askTracker(
  report: DoctorReport,
  client: TrackerClient,
  options: { probePort: number; mapping: boolean; relay: boolean },
): Promise<void> {
  const reach = await client.reach(options.probePort);
  describeReach(report, reach, client.local);
  if (!report.portInUse && !reach.reachable && options.mapping) {
    report.mapping = await tryMapping(client, report.port);
  }
  if (options.relay && reach.relay) {
    report.relay = formatAddress(reach.relay);
    report.relayOk = await answers(reach.relay);
  }
}

function describeReach(
  report: DoctorReport,
  reach: Reachability,
  local: Address,
): void {
  report.local = local.host;
  report.observed = reach.observed.host;
  // A stand-in's answer says nothing about the port in use.
  if (!report.portInUse) report.reachable = reach.reachable;
  report.nat = reach.observed.host === local.host
    ? "none"
    : reach.observed.port === local.port
    ? "port-preserving"
    : "port-changing";
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
