/**
 * `peer list` and `peer search`: every tracker asked at once, each file
 * listed once whichever tracker knows it; a tracker that does not answer
 * is named on stderr (or, with `--json`, in `unanswered`).
 *
 * @module
 */

import { askEvery, mergeFileLists } from "../discovery/tracker_group.ts";
import {
  type TrackerTrouble,
  troubleNote,
  troubleReason,
} from "../discovery/tracker_trouble.ts";
import { formatAddress } from "../net/connection.ts";
import { VERSION } from "../protocol/version.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { type TrackerFlags, trackersFrom } from "./flags.ts";
import { formatFileTable, toJsonLine } from "./format.ts";

/**
 * Prints the files the trackers know (as a table, or one JSON line with
 * `--json`); with `text`, only those whose name has every word of it.
 */
export async function listFiles(
  flags: TrackerFlags,
  text?: string,
): Promise<void> {
  const troubles: TrackerTrouble[] = [];
  // Every tracker at once; each file once, whichever lists it.
  const files = mergeFileLists(
    await askEvery(
      trackersFrom(flags),
      (client) => text === undefined ? client.list() : client.search(text),
      { onTrouble: (trouble) => troubles.push(trouble) },
    ),
  );
  if (flags.json) {
    // `more` (only when over 0): how many files the trackers left out;
    // `unanswered` (only when some did not answer): which, and why.
    const more = files.more ? { more: files.more } : {};
    const unanswered = troubles.length > 0
      ? {
        unanswered: troubles.map((trouble) => ({
          tracker: formatAddress(trouble.tracker),
          reason: troubleReason(trouble.error),
        })),
      }
      : {};
    console.log(
      toJsonLine({ files, ...more, ...unanswered, version: VERSION }),
    );
  } else {
    const table = formatFileTable(files, { search: text !== undefined });
    for (const line of table) console.log(line);
    for (const trouble of troubles) {
      console.error(
        terminalSafe(
          troubleNote(trouble, ": files only it knows are not listed."),
        ),
      );
    }
  }
}
