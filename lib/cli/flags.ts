/**
 * What the `peer` commands share: their parsed flags, which tracker they
 * use, how they log, and the serving peer node of `share` and `get`.
 *
 * @module
 */

import {
  resolveTrackers,
  slowDownloadWarning,
  slowUploadWarning,
} from "./args.ts";
import type { Trackers } from "../discovery/tracker_group.ts";
import type { OutputFlags } from "./program.ts";
import type { Address } from "../net/connection.ts";
import type { TrackerAddress } from "../discovery/tracker_client.ts";
import type { PeerReachability } from "../app/peer_node.ts";
import type { PortMappingMethod } from "../nat/port_mapping.ts";
import { formatAddress } from "../net/connection.ts";
import { toJsonLine } from "./format.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { join } from "node:path";
import { dataDir } from "../app/data_dir.ts";
import type { PeerNodeOptions } from "../app/peer_node_types.ts";
import {
  DHT_NODES_FILE,
  NO_DHT_ENV,
  NO_LAN_ENV,
  TEAM_SECRET_ENV,
  TRACKER_ENV,
} from "../protocol/limits.ts";
import { peerTeamKey } from "./team_secret.ts";
import type { FileMeta } from "../protocol/messages.ts";
import { PeerNode } from "../app/peer_node.ts";
import type { ProgressLine } from "./progress.ts";
import {
  type TrackerTrouble,
  troubleTeller,
} from "../discovery/tracker_trouble.ts";
import { logTime } from "./log_time.ts";

export { logTime };

/** Longest wait for unregistering and closing after Ctrl-C. */
export const SHUTDOWN_TIMEOUT_MS = 5_000;

/** Flags of every command that talks to a tracker. */
export interface TrackerFlags extends OutputFlags {
  tracker?: string;
  json?: boolean;
  /** The team secret's file (`--secret-file`). @default {$P2P_TEAM_SECRET} */
  secretFile?: string;
}
/** Flags of the commands that serve pieces. */
export interface ServeFlags extends TrackerFlags {
  port: number;
  host: string;
  /** False with `--no-port-mapping`. */
  portMapping?: boolean;
  /** False with `--no-lan`. */
  lan?: boolean;
  /** False with `--no-dht`. */
  dht?: boolean;
  /** `--dht-bootstrap`: nodes to join the DHT through (see `parseDhtBootstrap`). */
  dhtBootstrap?: string[];
}
/** Bandwidth and fairness flags. */
export interface LimitFlags {
  uploadLimit?: number;
  downloadLimit?: number;
  uploadSlots?: number;
}
/** Flags of `peer share`. */
export interface ShareFlags extends ServeFlags, LimitFlags {
  pieceSize?: number;
  /** Share privately: only holders of the link find and get it. */
  private?: boolean;
  /** Share the files given as one folder of this name. */
  as?: string;
}
/** How long `peer get` waits for a peer by default: the session's default. */
export { DEFAULT_WAIT_MS } from "../app/session_types.ts";

/** Flags of `peer get`. */
export interface GetFlags extends ServeFlags, LimitFlags {
  out: string;
  force?: boolean;
  seed?: boolean;
  /** Ms to wait for a peer. @default {DEFAULT_WAIT_MS} */
  wait?: number;
  /** The saved file's name or path (`-o`). @default {the file's own name} */
  output?: string;
}
/** Flags of the prompt (`peer` with no command). */
export interface PromptFlags extends ServeFlags, LimitFlags {
  out: string;
}
/** Flags of `peer ui`. */
export interface UiFlags extends PromptFlags {
  /** Port the page is served on. */
  uiPort: number;
  /** Address the page is served on. */
  uiHost?: string;
  /** False with `--no-open`. */
  open: boolean;
}

/**
 * Warns on stderr, in one sentence each, of an `--upload-limit` so low that
 * downloads from this peer get a piece seconds apart (see
 * `SLOW_UPLOAD_LIMIT`; with `--piece-size`, for pieces of that size) and of
 * a `--download-limit` so
 * low that progress comes a piece at a time, seconds apart (see
 * `SLOW_DOWNLOAD_LIMIT`), for a command that downloads (one with `--out`:
 * `share` takes the flag but receives nothing); quiet with `--quiet`. The
 * limits are still used as given.
 */
export function warnOfSlowLimits(
  flags: LimitFlags & OutputFlags & { pieceSize?: number; out?: string },
): void {
  if (flags.quiet) return;
  const warnings = [
    flags.uploadLimit === undefined
      ? undefined
      : slowUploadWarning(flags.uploadLimit, flags.pieceSize),
    flags.downloadLimit === undefined || flags.out === undefined
      ? undefined
      : slowDownloadWarning(flags.downloadLimit),
  ];
  for (const warning of warnings) if (warning) console.error(warning);
}

/**
 * The tracker addresses from `--tracker`, else the environment, else the
 * default (several, separated by commas: see `resolveTrackers`); each with
 * the team key when a team secret is given.
 */
export function trackersFrom(flags: TrackerFlags): Trackers {
  const [first, ...more] = resolveTrackers({
    flag: flags.tracker,
    env: Deno.env.get(TRACKER_ENV),
  }).map((address) => withTeamKey(address, flags));
  return [first, ...more];
}

/**
 * What turned LAN discovery or the DHT off, each named when it is: the
 * flag (`--no-lan`, `--no-dht`) or the environment variable.
 */
export interface DiscoveryOff {
  /** `--no-lan`, or `P2P_NO_LAN`. @default {on} */
  lan?: string;
  /** `--no-dht`, or `P2P_NO_DHT`. @default {on} */
  dht?: string;
}

/**
 * Which of LAN discovery and the DHT `flags` or the environment turn off,
 * and by what: the flag when it was given, else {@linkcode NO_LAN_ENV} or
 * {@linkcode NO_DHT_ENV} when set to anything but empty.
 */
export function discoveryOff(
  flags: Pick<ServeFlags, "lan" | "dht">,
): DiscoveryOff {
  const lan = offBy(flags.lan, "--no-lan", NO_LAN_ENV);
  const dht = offBy(flags.dht, "--no-dht", NO_DHT_ENV);
  return { ...(lan ? { lan } : {}), ...(dht ? { dht } : {}) };
}

/**
 * What turned LAN discovery or the DHT off, from whether each is `on` (as
 * {@linkcode lanFrom} and {@linkcode dhtFrom} answer) when the flags are
 * not known, as for a prompt not started by `peer`: for each that is off,
 * its environment variable when set, else its flag.
 */
export function offFrom(
  on: { lan?: boolean; dht?: PeerNodeOptions["dht"] },
): DiscoveryOff {
  const byEnv = discoveryOff({});
  return {
    ...(on.lan ? {} : { lan: byEnv.lan ?? "--no-lan" }),
    ...(on.dht ? {} : { dht: byEnv.dht ?? "--no-dht" }),
  };
}

/** `flag` when its value is false, else `env` when it is set. */
function offBy(
  value: boolean | undefined,
  flag: string,
  env: string,
): string | undefined {
  if (value === false) return flag;
  return readEnv(env) ? env : undefined;
}

/** Whether LAN discovery is on: unless {@linkcode discoveryOff} says it is off. */
export function lanFrom(flags: Pick<ServeFlags, "lan">): boolean {
  return discoveryOff({ lan: flags.lan }).lan === undefined;
}

/** One environment variable, or undefined (also without permission). */
function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * The DHT's options, or undefined when {@linkcode discoveryOff} says it is
 * off: `--dht-bootstrap` nodes (else the public routers), `--host` when it
 * names one address, and the routing table kept in the peer's data folder.
 */
export function dhtFrom(
  flags: Pick<ServeFlags, "dht" | "dhtBootstrap" | "host">,
): PeerNodeOptions["dht"] {
  if (discoveryOff({ dht: flags.dht }).dht) return undefined;
  const data = dataDir();
  return {
    // A peer told to serve on one address keeps its DHT node there too.
    ...(flags.host && flags.host !== "0.0.0.0" ? { host: flags.host } : {}),
    ...(flags.dhtBootstrap === undefined
      ? {}
      : { bootstrap: flags.dhtBootstrap }),
    ...(data === undefined ? {} : { nodesFile: join(data, DHT_NODES_FILE) }),
  };
}

/** The first of {@linkcode trackersFrom}. */
export function trackerOf(flags: TrackerFlags): TrackerAddress {
  return trackersFrom(flags)[0];
}

/**
 * `address` with the team key from `--secret-file`, else from the secret in
 * P2P_TEAM_SECRET; as it is when neither is given. Throws a `UsageError`
 * for a secret that cannot be read or is too short.
 */
export function withTeamKey(
  address: Address,
  flags: Pick<TrackerFlags, "secretFile">,
): TrackerAddress {
  const psk = peerTeamKey({
    file: flags.secretFile,
    env: Deno.env.get(TEAM_SECRET_ENV),
  });
  return psk ? { host: address.host, port: address.port, psk } : address;
}

/**
 * A logger for `--verbose`: each line goes to stderr after the local time
 * (`12:34:56.789 Connected to 10.0.0.7:6000: it has all 80 pieces.`),
 * clearing the progress line first. Undefined without `--verbose`, so that
 * nothing builds a line nobody reads.
 */
export function logger(
  flags: OutputFlags,
  progress?: ProgressLine,
): ((line: string) => void) | undefined {
  if (!flags.verbose) return undefined;
  return (line) => {
    progress?.clear();
    console.error(`${logTime(new Date())} ${terminalSafe(line)}`);
  };
}

/** A shared file that stopped being shareable, and why. */
export interface LostFile {
  meta: FileMeta;
  reason: string;
}

/** What {@linkcode startServing} started, and how to tell of a tracker. */
export interface Serving {
  /** The peer node. */
  node: PeerNode;
  /** Yields each shared file that stops being shareable. */
  lost: ReadableStream<LostFile>;
  /**
   * Tells the user (on stderr, unless `--quiet` or `--json`) that a tracker
   * could not be used, once per tracker whatever asked it: the node's
   * registrations or a download. `then` ends the sentence (see
   * `troubleNote`).
   */
  tellTrouble: (trouble: TrackerTrouble, then: string) => void;
}

/**
 * Starts the peer node `share` and `get` serve from, as the flags say;
 * `lost` yields each shared file that stops being shareable (it changed or
 * vanished), and a tracker that does not take its registrations while
 * another does is told of.
 */
export async function startServing(
  flags: ServeFlags & LimitFlags,
  trackers: Trackers,
  progress: ProgressLine,
): Promise<Serving> {
  const [tracker, ...moreTrackers] = trackers;
  const tellTrouble = troubleTeller((line) => {
    if (flags.quiet || flags.json) return;
    progress.clear();
    console.error(terminalSafe(line));
  });
  let report: (file: LostFile) => void = () => {};
  const lost = new ReadableStream<LostFile>({
    start(controller) {
      report = (file) => controller.enqueue(file);
    },
  });
  const node = await PeerNode.start({
    tracker,
    moreTrackers,
    host: flags.host,
    port: flags.port,
    log: logger(flags, progress),
    onDropped: (meta, reason) => report({ meta, reason }),
    onTrackerTrouble: (trouble) =>
      tellTrouble(trouble, notRegisteredEnd(trouble.tracker === tracker)),
    uploadLimit: flags.uploadLimit,
    uploadSlots: flags.uploadSlots,
    portMapping: flags.portMapping,
    lan: lanFrom(flags),
    dht: dhtFrom(flags),
    onReachability: (reachability) =>
      showReachability(reachability, flags, progress),
  });
  return { node, lost, tellTrouble };
}

/**
 * How a sentence on a tracker that did not take registrations ends (see
 * `troubleNote`); for the `first` tracker, the one that meets peers behind
 * NATs, it says that too.
 */
export function notRegisteredEnd(first: boolean): string {
  return `: the others have this peer's files, and it gets them once it is back.${
    first ? " Until then, peers behind a NAT are not met through it." : ""
  }`;
}

/**
 * Says once how other peers reach this one, when they cannot simply
 * connect: through a port the router forwards at our request, or (not
 * reachable) by hole punching or the relay. With `--json --verbose`, a
 * `{"event":"reachability",…}` line either way.
 */
export function showReachability(
  reachability: PeerReachability,
  flags: TrackerFlags,
  progress?: ProgressLine,
): void {
  const { observed, reachable, mapping } = reachability;
  if (flags.json) {
    if (flags.verbose) {
      console.log(toJsonLine({
        event: "reachability",
        observed: observed.host,
        reachable,
        ...(mapping
          ? {
            mapped: formatAddress(mapping.external),
            method: mapping.method,
          }
          : {}),
      }));
    }
    return;
  }
  const line = reachabilityLine(reachability);
  if (!line || flags.quiet) return;
  progress?.clear();
  console.log(line);
}

/**
 * The sentence for a peer that is not simply reachable: mapped on its
 * router, or not reachable at all; undefined for one that is.
 */
export function reachabilityLine(
  reachability: PeerReachability,
): string | undefined {
  const { mapping, observed, reachable } = reachability;
  if (mapping) {
    return `Reachable from outside at ${
      terminalSafe(`${observed.host}:${mapping.external.port}`)
    }: your router forwards that port to this machine (${
      METHOD_NAMES[mapping.method]
    }) until this peer stops.`;
  }
  if (reachable) return undefined;
  return `Not reachable from outside (the tracker sees this machine as ${
    terminalSafe(observed.host)
  }): peers will reach you by hole punching or through the tracker's relay.`;
}

/** How each way of mapping a port is named to the user. */
const METHOD_NAMES: Record<PortMappingMethod, string> = {
  upnp: "UPnP",
  "nat-pmp": "NAT-PMP",
  pcp: "PCP",
};
