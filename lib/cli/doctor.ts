/**
 * `peer doctor` (and `doctor` at the prompt): one line per check of what
 * stands between this machine and other peers, each saying what to do when
 * it is not fine. Exits 1 only when the tracker cannot be reached (nothing
 * else can be checked then).
 *
 * @module
 */

import { type DoctorReport, runDoctor } from "../app/doctor.ts";
import type { ServeFlags } from "./flags.ts";
import { trackerOf } from "./flags.ts";
import { toJsonLine } from "./format.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { VERSION } from "../protocol/version.ts";
import { TRACKER_ENV } from "../protocol/limits.ts";

/** Runs `peer doctor`; resolves to the exit code. */
export async function doctor(flags: ServeFlags): Promise<number> {
  const report = await runDoctor({
    tracker: trackerOf(flags),
    port: flags.port,
    host: flags.host,
    portMapping: flags.portMapping,
  });
  if (flags.json) {
    console.log(toJsonLine({ ...report, version: VERSION }));
  } else if (report.trackerMs === undefined) {
    // Nothing else could be checked: the one line is the error.
    console.error(doctorLines(report)[0]);
  } else {
    for (const line of doctorLines(report)) console.log(line);
  }
  return report.trackerMs === undefined ? 1 : 0;
}

/**
 * The lines of a report, one per check.
 *
 * @example
 * ```ts
 * doctorLines({ tracker: "10.0.0.5:5000", port: 6000, trackerMs: 12, … });
 * // ["Tracker 10.0.0.5:5000: reachable, encrypted (connected in 12 ms).", …]
 * ```
 */
export function doctorLines(report: DoctorReport): string[] {
  const tracker = terminalSafe(report.tracker);
  if (report.trackerMs === undefined) {
    return [
      terminalSafe(
        report.trackerError ??
          `Cannot reach tracker at ${tracker}: set --tracker or ${TRACKER_ENV}.`,
      ),
    ];
  }
  const lines = [
    `Tracker ${tracker}: reachable, encrypted (connected in ${report.trackerMs} ms).`,
  ];
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
  lines.push(relayLine(report));
  return lines;
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
