/**
 * The sentences for a file no tracker asked knows: a public file by its
 * ID, a private share by its link, naming the trackers that answered so
 * and those that could not be used.
 *
 * @module
 */

import { formatAddress } from "../net/connection.ts";
import {
  type TrackerTrouble,
  troubleNote,
} from "../discovery/tracker_trouble.ts";
import type { TrackerAddress } from "../discovery/tracker_types.ts";
import { DownloadError } from "./_download_error.ts";
import { listed } from "./_peer_pool.ts";

/**
 * The sentence for a private link nobody (with its secret) shares now: to
 * the tracker a stopped sharer and a wrong secret look the same.
 */
export const NO_PRIVATE_SHARER =
  "This link's secret does not match any sharer: nobody shares its file right now, or the link is not the one its sharer printed.";

/**
 * What a get by ID adds when no tracker knows the ID: a private share's ID
 * is printed by its sharer but never told to a tracker, so only its link
 * can fetch it. The same words for every unknown ID; nothing is asked.
 */
export const PRIVATE_ID_HINT =
  "If it was shared privately, only its link (p2p://…/priv/…) can fetch it.";

/**
 * The error for a file that the trackers `by` were asked for and do not
 * know, naming those that could not be used (`troubles`): a public file by
 * its `id`, a private share (no `id`) by its link.
 */
export function notKnown(
  id: string | undefined,
  by: readonly TrackerAddress[],
  troubles: readonly TrackerTrouble[],
): DownloadError {
  const trackers = by.map(formatAddress);
  const which = trackers.length === 1
    ? `the tracker at ${trackers[0]}`
    : `the trackers at ${listed(trackers)}`;
  const unused = troubles.map((trouble) => troubleNote(trouble, ""))
    .map((note) => note.replace(/^The/, "the"));
  const also = unused.length > 0 ? `, and ${listed(unused)}` : "";
  return new DownloadError(
    id === undefined
      ? (unused.length === 0
        ? NO_PRIVATE_SHARER
        : `This link's secret does not match any sharer ${which} knows${also}.`)
      : `No file with ID ${id} is known to ${which}${also}. ${PRIVATE_ID_HINT}`,
    { unknownId: true },
  );
}
