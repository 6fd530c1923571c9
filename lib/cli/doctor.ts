/**
 * `peer doctor` (and `doctor` at the prompt): one line per check of what
 * stands between this machine and other peers, each saying what to do when
 * it is not fine; with several trackers, one line for each. Exits 1 only
 * when no tracker can be reached (nothing else can be checked then).
 *
 * @module
 */

import { type DoctorReport, runDoctor } from "../app/doctor.ts";
import type { ServeFlags } from "./flags.ts";
import { trackersFrom } from "./flags.ts";
import { toJsonLine } from "./format.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { VERSION } from "../protocol/version.ts";
import { TRACKER_ENV } from "../protocol/limits.ts";

/** Runs `peer doctor`; resolves to the exit code. */
export async function doctor(flags: ServeFlags): Promise<number> {
  const [tracker, ...moreTrackers] = trackersFrom(flags);
  const report = await runDoctor({
    tracker,
    moreTrackers,
    port: flags.port,
    host: flags.host,
    portMapping: flags.portMapping,
  });
  if (flags.json) {
    console.log(toJsonLine({ ...report, version: VERSION }));
  } else if (report.trackerMs === undefined) {
    // Nothing else could be checked: the lines are the error.
    for (const line of doctorLines(report)) console.error(line);
  } else {
    for (const line of doctorLines(report)) console.log(line);
  }
  return report.trackerMs === undefined ? 1 : 0;
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
export function doctorLines(report: DoctorReport): string[] {
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
      `No tracker could be reached: is one of them running? Set --tracker or ${TRACKER_ENV}.`,
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

/** One line per tracker: reached and how fast, or why not. */
function trackerLines(report: DoctorReport): string[] {
  return report.trackers.map((check) => {
    const tracker = terminalSafe(check.tracker);
    return check.ms === undefined
      ? `Tracker ${tracker}: could not be reached: ${
        terminalSafe(check.error ?? "no answer")
      }.`
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
  return report.reachable
    ? `Reachable from outside on port ${report.port}: yes, peers can connect to you.`
    : `Reachable from outside on port ${report.port}: no. Peers will reach you by hole punching or through the tracker's relay; to let them connect directly, forward TCP port ${report.port} on your router to this machine.`;
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
