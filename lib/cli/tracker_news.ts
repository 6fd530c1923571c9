/**
 * What `peer share` says of its trackers: which ones it is served through
 * (only those that took its registrations), one that could not be used
 * from the start, one that stops answering and comes back (once each, on
 * stderr, through the command's tracker-trouble teller), and a link that
 * only works on this machine because it names the default tracker there.
 * With `--json`, fields of the share line and, with `--verbose`,
 * `{"event":"tracker",…}` lines instead.
 *
 * @module
 */

import type { PeerNode } from "../app/peer_node.ts";
import type { TrackerAddress } from "../discovery/tracker_types.ts";
import {
  type TrackerChange,
  type TrackerTrouble,
  troubleReason,
} from "../discovery/tracker_trouble.ts";
import type { Trackers } from "../discovery/tracker_group.ts";
import { isLoopbackHost } from "../net/address.ts";
import { formatAddress } from "../net/connection.ts";
import { TRACKER_ENV } from "../protocol/limits.ts";
import { notRegisteredEnd, type TrackerFlags } from "./flags.ts";
import { toJsonLine } from "./format.ts";

/** Tells of a tracker, once per trouble (`Serving.tellTrouble`). */
export type TroubleTell = (trouble: TrackerTrouble, then: string) => void;

/**
 * Where a node's files are found without a tracker, in words ("on the
 * local network", "in the DHT", "on the local network and in the DHT"), or
 * undefined when nowhere. The local network is not used by a node serving
 * on a loopback address.
 */
export function placesOf(
  node: Pick<PeerNode, "lan" | "dht" | "address">,
): string | undefined {
  const lan = node.lan !== undefined && !isLoopbackHost(node.address.host);
  const places = [
    ...(lan ? ["on the local network"] : []),
    ...(node.dht ? ["in the DHT"] : []),
  ];
  return places.length === 0 ? undefined : places.join(" and ");
}

/**
 * The line `peer share` prints once everything is shared: through which
 * trackers it is served, or where else, until one answers.
 *
 * @example
 * ```ts
 * servingSentence("0.0.0.0:6881", [], "on the local network");
 * // "Serving on 0.0.0.0:6881 on the local network only, until a tracker
 * //  answers. Press Ctrl-C to stop."
 * ```
 */
export function servingSentence(
  address: string,
  registered: readonly TrackerAddress[],
  places: string | undefined,
): string {
  const through = registered.length > 0
    ? ` via tracker${registered.length > 1 ? "s" : ""} ${
      registered.map(formatAddress).join(", ")
    }.`
    : places
    ? ` ${places} only, until a tracker answers.`
    : `: no tracker has its files yet.`;
  return `Serving on ${address}${through} Press Ctrl-C to stop.`;
}

/**
 * How a note on `tracker`, which does not have this peer's files, ends:
 * the others have them, or where else the files are found until it is
 * back.
 */
function withoutEnd(
  tracker: TrackerAddress,
  node: Pick<PeerNode, "trackers" | "lan" | "dht" | "address">,
  first: TrackerAddress,
): string {
  const others = node.trackers.registeredWith().filter((t) => t !== tracker);
  if (others.length > 0) return notRegisteredEnd(tracker === first);
  const places = placesOf(node);
  return places
    ? `: sharing ${places} only until it is back.`
    : ": no one new can find this peer's files until it is back.";
}

/**
 * Tells, once each, of the trackers that could not be reached: call when
 * everything is shared (which trackers took it is known only then).
 */
export function tellUnreachable(
  node: Pick<PeerNode, "trackers" | "lan" | "dht" | "address">,
  trackers: Trackers,
  tell: TroubleTell,
  unreachable: ReadonlyMap<TrackerAddress, unknown>,
): void {
  for (const [tracker, error] of unreachable) {
    tell({ tracker, error }, withoutEnd(tracker, node, trackers[0]));
  }
}

/** Options for {@linkcode watchTrackers}. */
export interface TrackerNewsOptions {
  /** The trackers the node registers with, the first first. */
  trackers: Trackers;
  /** Output flags: `--json --verbose` events, nothing more with `--json` or `--quiet`. */
  flags: TrackerFlags;
  /** The command's tracker-trouble teller. */
  tell: TroubleTell;
}

/** What {@linkcode watchTrackers} keeps. */
export interface TrackerNews extends Disposable {
  /** Trackers that could not be reached and have not answered since. */
  readonly unreachable: ReadonlyMap<TrackerAddress, unknown>;
  /** Tell of each change from now on (before, only keep track). */
  start(): void;
}

/**
 * Watches `node`'s trackers: keeps those that cannot be reached, and once
 * started tells of one that stops answering or comes back (registered
 * again), once per change; with `--json --verbose`, one
 * `{"event":"tracker","tracker":"…","registered":false,"reason":"…"}` line
 * on stdout per change instead.
 */
export function watchTrackers(
  node: Pick<PeerNode, "trackers" | "lan" | "dht" | "address">,
  options: TrackerNewsOptions,
): TrackerNews {
  const unreachable = new Map<TrackerAddress, unknown>();
  let started = false;
  const { flags, tell, trackers } = options;
  const watching = node.trackers.watch((change: TrackerChange) => {
    const { tracker, now, error } = change;
    if (now === "unreachable") unreachable.set(tracker, error);
    else unreachable.delete(tracker);
    if (!started || change.was === undefined) return;
    if (!flags.json) tellTurn(change, node, trackers[0], tell);
    else if (flags.verbose) console.log(trackerEvent(change));
  });
  return {
    unreachable,
    start: () => started = true,
    [Symbol.dispose]: () => watching[Symbol.dispose](),
  };
}

/**
 * Tells of `change` through `tell` when it is news: a tracker that had the
 * registrations stopped answering, or one told of is back (registered
 * again); `first` is the tracker that meets peers behind NATs.
 */
export function tellTurn(
  change: TrackerChange,
  node: Pick<PeerNode, "trackers" | "lan" | "dht" | "address">,
  first: TrackerAddress,
  tell: TroubleTell,
): void {
  const { tracker, now, was, error } = change;
  if (was === undefined) return;
  if (now === "registered") {
    tell({ tracker, error, turn: "back" }, ": it has this peer's files again.");
  } else {
    tell({ tracker, error, turn: "lost" }, withoutEnd(tracker, node, first));
  }
}

/** The `tracker` event of `--json --verbose`. */
export function trackerEvent(change: TrackerChange): string {
  return toJsonLine({
    event: "tracker",
    tracker: formatAddress(change.tracker),
    registered: change.now === "registered",
    ...(change.now === "unreachable"
      ? { reason: troubleReason(change.error) }
      : {}),
  });
}

/**
 * The note for a link that works only on this machine: it names the
 * default tracker (no `--tracker`, no P2P_TRACKER) on a loopback address;
 * undefined otherwise.
 */
export function localLinkNote(
  trackers: Trackers,
  flags: Pick<TrackerFlags, "tracker">,
  env: string | undefined = readEnv(TRACKER_ENV),
): string | undefined {
  const chosen = flags.tracker !== undefined || Boolean(env?.trim());
  if (chosen || !trackers.every((tracker) => isLoopbackHost(tracker.host))) {
    return undefined;
  }
  return `This link names the tracker at ${
    trackers.map(formatAddress).join(", ")
  }, on this machine, so it works only here: to share with other machines, run a tracker they can reach and give it with --tracker HOST:PORT.`;
}

/** One environment variable, or undefined (also without permission). */
function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}
