/**
 * `peer get --seed` after the file is saved: seeding it until stopped, and
 * what is said when it stops. With `--json`, a
 * `{"event":"seeding",…}` line after the result gives the link and the
 * address, and a `{"event":"stopped",…}` line the stop.
 *
 * @module
 */

import type { DownloadResult } from "../download/download.ts";
import { ShareError } from "../app/peer_node.ts";
import { formatAddress } from "../net/connection.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { toJsonLine } from "./format.ts";
import type { GetFlags, Serving } from "./flags.ts";
import type { ProgressLine } from "./progress.ts";
import { showServing } from "./serving_line.ts";
import { tellReachabilityAfter } from "./_json_events.ts";
import type { StopSignal } from "./stop_signal.ts";

/** What {@linkcode seedUntilStopped} seeds with, and what stops it. */
export interface Seeding {
  /** The node serving the saved file. */
  node: Serving["node"];
  /** Yields a shared file that can no longer be served. */
  lost: Serving["lost"];
  /** Ctrl-C or SIGTERM. */
  stop: StopSignal;
  /** The line the serving status is shown on. */
  progress: ProgressLine;
  /** The command's flags (`--quiet`, `--json`). */
  flags: GetFlags;
  /** Whether the share is private (its link carries the secret). */
  isPrivate: boolean;
}

/**
 * Seeds the saved file until Ctrl-C or SIGTERM (then says so, in share's
 * words about the tracker) or until it can no longer be shared (thrown).
 */
export async function seedUntilStopped(
  result: DownloadResult,
  seeding: Seeding,
): Promise<void> {
  const { node, lost, stop, progress, flags, isPrivate } = seeding;
  const name = terminalSafe(result.meta.name);
  const talk = !flags.quiet && !flags.json;
  const link = node.shareLink(result.meta.id, isPrivate);
  if (flags.json) {
    console.log(seedingEvent(result, { node, link, isPrivate }));
  } else if (talk) {
    console.error(
      `Seeding on ${formatAddress(node.address)}${
        link ? ` (share this link: ${link})` : ""
      }. Press Ctrl-C to stop.`,
    );
  }
  let reason: string | undefined;
  {
    // With --json --verbose, events come after the seeding line.
    using _reachability = tellReachabilityAfter(node, flags);
    using _serving = showServing(node, flags, progress);
    reason = await Promise.race([
      stop.stopped.then(() => undefined),
      lost.getReader().read().then((next) => next.value?.reason),
    ]);
  }
  if (reason !== undefined) {
    throw new ShareError(`Stopped seeding ${name}: ${reason}.`);
  }
  progress.clear();
  if (flags.json) console.log(stoppedEvent(result, node));
  else if (talk) console.error(stoppedSeedingLine(name, node));
}

/** Where and how {@linkcode seedingEvent} says a saved file is seeded. */
export interface SeedingPlace {
  /** The node seeding it. */
  node: Pick<Serving["node"], "address" | "trackers">;
  /** The link to pass on, if the node has one for it. */
  link?: string;
  /** Whether the share is private (the link carries the secret). */
  isPrivate: boolean;
}

/**
 * The line `peer get --seed --json` prints after its result once it seeds,
 * with the same fields as `peer share --json` gives a shared file:
 * `{"event":"seeding","id":"…","name":"a.bin","link":"p2p://…","private":false,"address":"0.0.0.0:6000","registeredWith":["10.0.0.5:5000"]}`
 * (no `link` if the node has none for it).
 */
export function seedingEvent(
  result: Pick<DownloadResult, "meta">,
  place: SeedingPlace,
): string {
  const { node, link, isPrivate } = place;
  return toJsonLine({
    event: "seeding",
    id: result.meta.id,
    name: result.meta.name,
    ...(link ? { link } : {}),
    private: isPrivate,
    address: formatAddress(node.address),
    registeredWith: node.trackers.registeredWith().map(formatAddress),
  });
}

/**
 * The line `peer get --seed --json` prints when stopped while seeding:
 * `{"event":"stopped","id":"…","name":"a.bin","unregisteringFrom":["10.0.0.5:5000"]}`,
 * the trackers told it leaves (none when none had it).
 */
export function stoppedEvent(
  result: Pick<DownloadResult, "meta">,
  node: Pick<Serving["node"], "trackers">,
): string {
  return toJsonLine({
    event: "stopped",
    id: result.meta.id,
    name: result.meta.name,
    unregisteringFrom: node.trackers.registeredWith().map(formatAddress),
  });
}

/**
 * What `peer get --seed` says when stopped while seeding: as `peer share`,
 * whether trackers are told it leaves.
 */
function stoppedSeedingLine(name: string, node: Serving["node"]): string {
  const registered = node.trackers.registeredWith().length;
  return registered === 0
    ? `Stopped seeding ${name}.`
    : `Stopped seeding ${name}: unregistering from the tracker${
      registered > 1 ? "s" : ""
    }.`;
}
