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
 * The error for a file that several trackers were asked for and none of
 * those that answered (`by`) knows, naming those that could not be used:
 * a public file by its `id`, a private share (no `id`) by its link.
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
      : `No file with ID ${id} is known to ${which}${also}.`,
    { unknownId: true },
  );
}
