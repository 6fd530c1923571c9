/**
 * `peer doctor` (and `doctor` at the prompt): one line per check of what
 * stands between this machine and other peers, each saying what to do when
 * it is not fine; with several trackers, one line for each. Exits 1 when
 * no tracker can be used (the address, the port and the relay cannot be
 * checked then): those lines go to stderr, the LAN and DHT lines, checked
 * anyway, to stdout. LAN discovery or the DHT turned off (`--no-lan`,
 * `--no-dht`, or their environment variables) is said in its line.
 *
 * @module
 */

import {
  DHT_CHECK_MS,
  type DoctorReport,
  LAN_CHECK_MS,
  NO_SUCH_HOST,
  runDoctor,
} from "../app/doctor.ts";
import type { DiscoveryOff, ServeFlags } from "./flags.ts";
import { dhtFrom, discoveryOff, lanFrom, trackersFrom } from "./flags.ts";
import { FAILURE_EXIT_CODE } from "./errors.ts";
import { toJsonLine } from "./format.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { VERSION } from "../protocol/version.ts";
import { DEFAULT_PEER_PORT, TRACKER_ENV } from "../protocol/limits.ts";

/** Runs `peer doctor`; resolves to the exit code. */
export async function doctor(flags: ServeFlags): Promise<number> {
  const [tracker, ...moreTrackers] = trackersFrom(flags);
  const report = await runDoctor({
    tracker,
    moreTrackers,
    port: flags.port,
    host: flags.host,
    portMapping: flags.portMapping,
    ...(lanFrom(flags) ? { lan: {} } : {}),
    dht: dhtFrom(flags),
  });
  const failed = report.trackerMs === undefined;
  const trackerLines = trackerCheckLines(report);
  const off = discoveryOff(flags);
  if (flags.json) {
    const offFields = {
      ...(off.lan ? { lanOff: off.lan } : {}),
      ...(off.dht ? { dhtOff: off.dht } : {}),
    };
    if (!failed) {
      console.log(toJsonLine({ ...report, ...offFields, version: VERSION }));
      return 0;
    }
    // As every command's --json failure ends: the sentence, its exit code.
    const error = trackerLines.at(-1)!;
    console.error(error);
    console.log(toJsonLine({
      ...report,
      ...offFields,
      error,
      exitCode: FAILURE_EXIT_CODE,
      version: VERSION,
    }));
  } else if (failed) {
    for (const line of trackerLines) console.error(line);
    for (const line of discoveryLines(report, off)) console.log(line);
  } else {
    for (const line of doctorLines(report, off)) console.log(line);
  }
  return failed ? FAILURE_EXIT_CODE : 0;
}

/**
 * The lines of a report, one per check (and one per tracker).
 *
 * @example
 * ```ts
 * doctorLines({
 *   tracker: "10.0.0.5:5000",
 *   trackers: [{ tracker: "10.0.0.5:5000", ms: 12 }],
 *   trackerMs: 12,
 *   port: 6000,
 *   …
 * });
 * // ["Tracker 10.0.0.5:5000: reachable, encrypted (connected in 12 ms).", …]
 * ```
 */
export function doctorLines(
  report: DoctorReport,
  off: DiscoveryOff = {},
): string[] {
  return [...trackerCheckLines(report), ...discoveryLines(report, off)];
}

/**
 * The lines of the checks that need a tracker; when none could be used,
 * why, the last line summing up.
 */
function trackerCheckLines(report: DoctorReport): string[] {
  const tracker = terminalSafe(report.tracker);
  const several = report.trackers.length > 1;
  if (report.trackerMs === undefined) {
    const error = terminalSafe(
      report.trackerError ??
        `Cannot reach tracker at ${tracker}: set --tracker or ${TRACKER_ENV}.`,
    );
    if (!several) return [error];
    return [
      ...trackerLines(report),
      `No tracker could be used: is one of them running? Set --tracker or ${TRACKER_ENV}.`,
    ];
  }
  const lines = trackerLines(report);
  const [first] = report.trackers;
  const firstDown = several && first.ms === undefined;
  if (firstDown) {
    lines.push(
      `Hole punching and the relay will not work while the first tracker, ${
        terminalSafe(first.tracker)
      }, is down: they go through it. Until it is back, peers connect to each other only directly. The checks below ask ${tracker} instead.`,
    );
  }
  if (report.observed === undefined) {
    lines.push(
      `It did not answer the reachability check: ${
        terminalSafe(report.trackerError ?? "no answer")
      }`,
    );
    return lines;
  }
  const observed = terminalSafe(report.observed);
  lines.push(natLine(report, observed), reachLine(report));
  if (report.mapping !== undefined) lines.push(mappingLine(report));
  // Only the first tracker's relay is used, and only it was checked.
  if (!firstDown) lines.push(relayLine(report));
  return lines;
}

/**
 * The lines of the checks that need no tracker: LAN discovery, the DHT;
 * for one that `off` names, that it is off and by what, not checked.
 */
export function discoveryLines(
  report: DoctorReport,
  off: DiscoveryOff = {},
): string[] {
  return [
    ...(off.lan
      ? [`LAN discovery: off (${offBy(off.lan)}), not checked.`]
      : report.lan
      ? [lanLine(report.lan)]
      : []),
    ...(off.dht
      ? [`DHT: off (${offBy(off.dht)}), not checked.`]
      : report.dht
      ? [dhtLine(report.dht)]
      : []),
  ];
}

/** `--no-lan` as it is, `P2P_NO_LAN is set` for a variable. */
function offBy(what: string): string {
  return what.startsWith("--") ? what : `${what} is set`;
}

/** One line per tracker: reached and how fast, or why not. */
function trackerLines(report: DoctorReport): string[] {
  return report.trackers.map((check) => {
    const tracker = terminalSafe(check.tracker);
    return check.ms === undefined
      ? `Tracker ${tracker}: could not be ${
        check.reached ? "used" : "reached"
      }: ${terminalSafe(check.error ?? "no answer")}.`
      : `Tracker ${tracker}: reachable, encrypted (connected in ${check.ms} ms).`;
  });
}

function natLine(report: DoctorReport, observed: string): string {
  switch (report.nat) {
    case "none":
      return `Address: ${observed}, as the tracker sees it too: no NAT router in between.`;
    case "port-preserving":
      return `Address: the tracker sees ${observed} (this machine is ${
        terminalSafe(report.local ?? "?")
      }): behind a NAT router that keeps ports.`;
    default:
      return `Address: the tracker sees ${observed} (this machine is ${
        terminalSafe(report.local ?? "?")
      }): behind a NAT router that changes ports, so peers behind other routers can reach you only through the relay.`;
  }
}

function reachLine(report: DoctorReport): string {
  if (report.portInUse) {
    return `Port ${report.port} is in use by another program on this machine: choose another with --port, or stop that program.`;
  }
  const { port } = report;
  // --port 0: a share picks another free port, one no router forwards.
  const which = report.portPicked
    ? `${port} (a free port picked for this check, as --port 0 does; a share picks another)`
    : `${port}`;
  if (report.reachable) {
    return `Reachable from outside on port ${which}: yes, peers can connect to you.`;
  }
  const forward = report.portPicked
    ? `share on a fixed port (--port ${DEFAULT_PEER_PORT}) and forward that TCP port on your router to this machine`
    : `forward TCP port ${port} on your router to this machine`;
  return `Reachable from outside on port ${which}: no. Peers will reach you by hole punching or through the tracker's relay; to let them connect directly, ${forward}.`;
}

function mappingLine(report: DoctorReport): string {
  const { mapping } = report;
  if (!mapping) {
    return "Port mapping: no router here answered a request to forward the port (UPnP, NAT-PMP, PCP); turn UPnP on in your router's settings, or forward the port by hand.";
  }
  const how = `${
    mapping.method === "upnp"
      ? "UPnP"
      : mapping.method === "pcp"
      ? "PCP"
      : "NAT-PMP"
  }`;
  return mapping.reachable
    ? `Port mapping: your router forwards ${
      terminalSafe(mapping.external)
    } to this machine when asked (${how}), and the tracker got through it: sharing peers ask for it themselves.`
    : `Port mapping: your router agreed to forward ${
      terminalSafe(mapping.external)
    } (${how}), but the tracker could not get through it (another router in front of it?).`;
}

function relayLine(report: DoctorReport): string {
  if (report.relay === undefined) {
    return report.reachable
      ? "Relay: the tracker offers none (you do not need it)."
      : "Relay: the tracker offers none, so peers that cannot connect to you cannot get your files; ask its owner to run it without --no-relay, or forward your port.";
  }
  const relay = terminalSafe(report.relay);
  return report.relayOk
    ? `Relay: ${relay} is available.`
    : `Relay: ${relay} does not answer; a firewall may block it (the tracker's port + 1 must be open too).`;
}

function lanLine(lan: NonNullable<DoctorReport["lan"]>): string {
  const group = terminalSafe(lan.group);
  const without =
    "peers on your network are found only through the tracker and the DHT";
  if (!lan.joined) {
    return `LAN discovery: cannot join the multicast group ${group} (${
      terminalSafe(lan.error ?? "no reason given")
    }): ${without}.`;
  }
  if (lan.error !== undefined) {
    return `LAN discovery: cannot send to the multicast group ${group} (${
      terminalSafe(lan.error)
    }): ${without}.`;
  }
  return lan.heard
    ? `LAN discovery: this machine sends to and hears the multicast group ${group}: peers on your network find each other even without a tracker.`
    : `LAN discovery: an announcement sent to the multicast group ${group} did not come back within ${
      LAN_CHECK_MS / 1000
    } s: a firewall may drop multicast (UDP port ${
      group.slice(group.lastIndexOf(":") + 1)
    }), and then ${without}.`;
}

function dhtLine(dht: NonNullable<DoctorReport["dht"]>): string {
  const { nodes, answered } = dht;
  if (dht.error !== undefined) {
    return `DHT: cannot open a UDP socket (${
      terminalSafe(dht.error)
    }), so this peer cannot join the DHT; peers are found only through the tracker and the LAN.`;
  }
  if (nodes.length === 0) {
    return 'DHT: no bootstrap nodes given (--dht-bootstrap ""): this peer joins the DHT only through the nodes saved from its last run.';
  }
  const silent = nodes.filter((node) => node.ms === undefined).map((node) =>
    node.error ? `${node.node}: ${node.error}` : node.node
  );
  const which = silent.length > 0
    ? ` (not ${terminalSafe(silent.join(", "))})`
    : "";
  const within = `within ${DHT_CHECK_MS / 1000} s`;
  const count = nodes.length;
  if (nodes.every((node) => node.error === NO_SUCH_HOST)) {
    const names = terminalSafe(nodes.map((node) => node.node).join(", "));
    const unknown = count === 1
      ? "the bootstrap node's name could not be looked up"
      : "none of the bootstrap nodes' names could be looked up";
    return `DHT: ${unknown} (${names}): is this machine online, with a working DNS? Until then peers are found through the tracker and the LAN, and the DHT only through nodes saved from an earlier run.`;
  }
  if (answered === 0) {
    const none = count === 1
      ? "the bootstrap node did not answer"
      : `none of the ${count} bootstrap nodes answered`;
    return `DHT: ${none} ${within}${which}: a firewall may block UDP, or give nodes that answer with --dht-bootstrap; until then peers are found through the tracker and the LAN, and the DHT only through nodes saved from an earlier run.`;
  }
  return `DHT: ${answered} of ${count} bootstrap node${
    count === 1 ? "" : "s"
  } answered ${within}${which}: this peer can join the DHT and find peers without a tracker.`;
}
