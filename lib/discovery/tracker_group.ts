/**
 * Several trackers used as one: a link or `--tracker` may name up to
 * `MAX_LINK_TRACKERS`. Every question goes to all of them at once; the
 * answers that come are merged, and a tracker that is down costs nothing
 * but its own answer. Only when none answers does the first one's error
 * reach the caller.
 *
 * @module
 */

import { formatAddress } from "../net/connection.ts";
import type { FileList, FileSummary } from "../protocol/messages.ts";
import { TrackerClient } from "./tracker_client.ts";
import { TrackerUnreachableError } from "./tracker_errors.ts";
import { settleWithin } from "../util/settle_within.ts";
import type { TrackerAddress } from "./tracker_types.ts";
import { noTrackerAnswered, type TrackerTrouble } from "./tracker_trouble.ts";

/**
 * Every tracker in use, the first one first: it is the one that also meets
 * peers that cannot be reached directly (NAT traversal, its relay).
 */
export type Trackers = readonly [TrackerAddress, ...TrackerAddress[]];

/** `tracker` and `more` as one list, without repeats (by address). */
export function trackersOf(
  tracker: TrackerAddress,
  more: readonly TrackerAddress[] = [],
): Trackers {
  const seen = new Set([formatAddress(tracker)]);
  const rest = more.filter((t) => {
    const key = formatAddress(t);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return [tracker, ...rest];
}

/**
 * How long, after the first tracker answered, the others are waited for:
 * a tracker that hangs must not hold up the answer.
 */
export const ASK_GRACE_MS = 1_000;

/** Options for {@linkcode askEvery}. */
export interface AskEveryOptions {
  /**
   * Called for each tracker that failed while another answered (its
   * answer is missing from the result), as soon as it failed.
   */
  onTrouble?: (trouble: TrackerTrouble) => void;
}

/**
 * Asks every tracker `question` over a connection of its own, all at once;
 * resolves with the answers of those that gave one, in the order they came,
 * once all did or {@linkcode ASK_GRACE_MS} after the first. A tracker that
 * failed while another answered goes to `options.onTrouble`. When none
 * answered it rejects with {@linkcode noTrackerAnswered}: one tracker's own
 * error, or one naming each.
 */
export async function askEvery<T>(
  trackers: Trackers,
  question: (client: TrackerClient) => Promise<T>,
  options: AskEveryOptions = {},
): Promise<T[]> {
  const answers: T[] = [];
  const troubles: TrackerTrouble[] = [];
  const done = new Set<TrackerAddress>();
  /** Once an answer came: a failure is told of at once. */
  let telling = false;
  const { promise: firstAnswer, resolve: answered } = Promise
    .withResolvers<void>();
  const attempts = trackers.map(async (tracker) => {
    try {
      const client = await TrackerClient.connect(tracker);
      try {
        answers.push(await question(client));
        done.add(tracker);
        answered();
      } finally {
        client.close();
      }
    } catch (error) {
      troubles.push({ tracker, error });
      done.add(tracker);
      if (telling) options.onTrouble?.({ tracker, error });
    }
  });
  const all = Promise.all(attempts);
  await Promise.race([all, firstAnswer]);
  if (answers.length > 0) {
    // Those that failed before the first answer are told of now.
    telling = true;
    for (const trouble of troubles) options.onTrouble?.(trouble);
    await settleWithin(all, ASK_GRACE_MS);
    telling = false;
    for (const tracker of trackers.filter((t) => !done.has(t))) {
      options.onTrouble?.({ tracker, error: tooSlow(tracker) });
    }
    return [...answers];
  }
  throw noTrackerAnswered(inTrackerOrder(trackers, troubles));
}

/** Why a tracker still asked when the others' answers were taken is left out. */
function tooSlow(tracker: TrackerAddress): TrackerUnreachableError {
  return new TrackerUnreachableError(
    tracker,
    `Tracker at ${
      formatAddress(tracker)
    } stopped responding: it did not answer within ${
      ASK_GRACE_MS / 1000
    } s of the others.`,
  );
}

/** `troubles` in the order their trackers are listed in `trackers`. */
function inTrackerOrder(
  trackers: Trackers,
  troubles: readonly TrackerTrouble[],
): [TrackerTrouble, ...TrackerTrouble[]] {
  const order = (trouble: TrackerTrouble) => trackers.indexOf(trouble.tracker);
  return [...troubles].sort((a, b) => order(a) - order(b)) as [
    TrackerTrouble,
    ...TrackerTrouble[],
  ];
}

/**
 * Lists from several trackers as one, each file once (in the order first
 * seen): where several list a file, with the most peers (and partial
 * holders) any of them counts, as they may count the same peers. Its
 * `more` is the most any one tracker left out (at least that many files
 * are missing; the trackers may have left out the same ones), absent if
 * none did.
 */
export function mergeFileLists(
  lists: readonly (readonly FileSummary[] & { more?: number })[],
): FileList {
  const merged = new Map<string, FileSummary>();
  for (const list of lists) {
    for (const file of list) {
      const known = merged.get(file.id);
      if (!known) {
        merged.set(file.id, { ...file });
        continue;
      }
      known.peers = Math.max(known.peers, file.peers);
      const partial = Math.max(known.partial ?? 0, file.partial ?? 0);
      if (partial > 0) known.partial = partial;
    }
  }
  const files: FileList = [...merged.values()];
  const more = Math.max(0, ...lists.map((list) => list.more ?? 0));
  if (more > 0) files.more = more;
  return files;
}
