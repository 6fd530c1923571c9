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
import { settleWithin } from "../util/settle_within.ts";
import type { TrackerAddress } from "./tracker_types.ts";

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

/**
 * Asks every tracker `question` over a connection of its own, all at once;
 * resolves with the answers of those that gave one, in the order they came,
 * once all did or {@linkcode ASK_GRACE_MS} after the first. Rejects with the
 * first tracker's error only when none answered.
 */
export async function askEvery<T>(
  trackers: Trackers,
  question: (client: TrackerClient) => Promise<T>,
): Promise<T[]> {
  const answers: T[] = [];
  const { promise: firstAnswer, resolve: answered } = Promise
    .withResolvers<void>();
  const attempts = trackers.map(async (tracker) => {
    const client = await TrackerClient.connect(tracker);
    try {
      answers.push(await question(client));
      answered();
    } finally {
      client.close();
    }
  });
  const all = Promise.allSettled(attempts);
  await Promise.race([all, firstAnswer]);
  if (answers.length > 0) {
    await settleWithin(all, ASK_GRACE_MS);
    return [...answers];
  }
  throw ((await all)[0] as PromiseRejectedResult).reason;
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
