/**
 * When some of several trackers fail: the words for one that could not be
 * used (to tell the user, though the others served), and the one error for
 * a question none of them answered, naming each and why. With one tracker
 * its own error is kept as it is. Also the news of a tracker that had a
 * peer's registrations: it stopped answering, or it is back.
 *
 * @module
 */

import { formatAddress } from "../net/connection.ts";
import { TRACKER_ENV } from "../protocol/limits.ts";
import {
  TrackerError,
  TrackerUnreachableError,
  userText,
} from "./tracker_errors.ts";
import type { TrackerAddress } from "./tracker_types.ts";

/** A tracker that failed a question, and its error. */
export interface TrackerTrouble {
  /** The tracker. */
  tracker: TrackerAddress;
  /** What it failed with (unused when it is `back`). */
  error: unknown;
  /**
   * What became of it, when it is news of a tracker that had this peer's
   * registrations: it stopped answering (`lost`), or it answers again
   * after trouble told of (`back`). @default {it failed a question}
   */
  turn?: "lost" | "back";
}

/** Whether a tracker has this peer's registrations now. */
export type TrackerStanding = "registered" | "unreachable";

/** A tracker's standing changing, as the announcer keeping it saw. */
export interface TrackerChange {
  /** The tracker. */
  tracker: TrackerAddress;
  /**
   * `registered`: it took or renewed the registrations (registering again
   * what it had forgotten); `unreachable`: it could not be reached.
   */
  now: TrackerStanding;
  /** Its standing before; undefined the first time it was asked. */
  was?: TrackerStanding;
  /** Why it could not be reached, when `now` is `unreachable`. */
  error?: unknown;
}

/** The end of a "cannot reach" sentence that names the flag to set. */
export const RUNNING_HINT = ` Is it running? Set --tracker or ${TRACKER_ENV}.`;

/**
 * Why a tracker failed, in a few words and without a final period:
 * "connection refused", "it did not answer within 10 s", or what the
 * tracker said when it refused.
 */
export function troubleReason(error: unknown): string {
  if (error instanceof TrackerUnreachableError) {
    // "Cannot reach tracker at X: why." / "Tracker at X stopped responding: why."
    const message = error.message.endsWith(RUNNING_HINT)
      ? error.message.slice(0, -RUNNING_HINT.length)
      : error.message;
    const colon = message.indexOf(": ");
    const why = colon < 0 ? message : message.slice(colon + 2);
    return withoutPeriod(why);
  }
  if (error instanceof TrackerError) {
    return withoutPeriod(userText(error.message));
  }
  return withoutPeriod(
    userText(error instanceof Error ? error.message : String(error)),
  );
}

/**
 * One tracker that could not be used, as a sentence for the user:
 * "The tracker at 10.0.0.5:5000 could not be used (connection refused)"
 * followed by `then`, which says what it means for what the user did; for
 * a tracker `lost`, "… stopped answering (connection refused)"; `back`,
 * "The tracker at 10.0.0.5:5000 is back".
 */
export function troubleNote(trouble: TrackerTrouble, then: string): string {
  const at = `The tracker at ${formatAddress(trouble.tracker)}`;
  if (trouble.turn === "back") return `${at} is back${then}`;
  const what = trouble.turn === "lost"
    ? "stopped answering"
    : "could not be used";
  return `${at} ${what} (${troubleReason(trouble.error)})${then}`;
}

/**
 * A teller that says `troubleNote(trouble, then)` through `say`, once per
 * tracker, whatever met its trouble first (a download, a registration);
 * a tracker `back` is told of only after its trouble was, and its next
 * trouble is told again.
 */
export function troubleTeller(
  say: (line: string) => void,
): (trouble: TrackerTrouble, then: string) => void {
  const told = new Set<TrackerAddress>();
  return (trouble, then) => {
    if (trouble.turn === "back") {
      if (!told.delete(trouble.tracker)) return;
    } else {
      if (told.has(trouble.tracker)) return;
      told.add(trouble.tracker);
    }
    say(troubleNote(trouble, then));
  };
}

/**
 * The one error for a question no tracker answered: with one tracker its
 * own; with several a {@linkcode TrackerUnreachableError} naming each and
 * why ("Cannot reach any of the 2 trackers: 10.0.0.5:5000 (connection
 * refused), 10.0.0.6:5000 (…)."), with the running hint when one of them
 * may simply not be running.
 */
export function noTrackerAnswered(
  troubles: readonly [TrackerTrouble, ...TrackerTrouble[]],
): unknown {
  if (troubles.length === 1) return troubles[0].error;
  const each = troubles.map((trouble) =>
    `${formatAddress(trouble.tracker)} (${troubleReason(trouble.error)})`
  );
  const mayBeDown = troubles.some((trouble) =>
    trouble.error instanceof TrackerUnreachableError &&
    trouble.error.message.endsWith(RUNNING_HINT)
  );
  return new TrackerUnreachableError(
    troubles[0].tracker,
    `Cannot reach any of the ${troubles.length} trackers: ${each.join(", ")}.${
      mayBeDown
        ? " Are they running? Set --tracker or " + TRACKER_ENV + "."
        : ""
    }`,
    { cause: troubles[0].error },
  );
}

function withoutPeriod(text: string): string {
  return text.replace(/\.$/, "");
}
