/**
 * The first step of `peer doctor`: connecting to every tracker given, all
 * at once, and keeping the connection to the first one that answered for
 * the checks that follow.
 *
 * @module
 */

import {
  type TrackerAddress,
  TrackerClient,
} from "../discovery/tracker_client.ts";
import {
  connectFailure,
  TrackerUnreachableError,
} from "../discovery/tracker_errors.ts";
import type { Trackers } from "../discovery/tracker_group.ts";
import { formatAddress } from "../net/connection.ts";
import { CONNECT_TIMEOUT_MS } from "../protocol/limits.ts";

/** Whether one tracker answered, and how fast; or why not. */
export interface TrackerCheck {
  /** Its address. */
  tracker: string;
  /** Ms to connect to it and finish the encryption handshake, if it answered. */
  ms?: number;
  /** Why it could not be reached, in a few words ("connection refused"). */
  error?: string;
}

/** What {@linkcode checkTrackers} found. */
export interface TrackersChecked {
  /** One check per tracker, in the order given. */
  checks: TrackerCheck[];
  /** A connection to the first tracker that answered; none if none did. */
  client?: TrackerClient;
  /** The index of that tracker (0 when none answered). */
  index: number;
  /**
   * When none answered: why the first one could not be reached, as a
   * sentence that says what to do.
   */
  error?: string;
}

/**
 * Connects to every tracker at once; closes every connection but the
 * first one that succeeded, which the caller closes.
 */
export async function checkTrackers(
  trackers: Trackers,
): Promise<TrackersChecked> {
  const results = await Promise.all(trackers.map(attempt));
  const index = Math.max(0, results.findIndex((result) => result.client));
  const client = results[index].client;
  for (const result of results) {
    if (result.client !== client) result.client?.close();
  }
  return {
    checks: results.map((result) => result.check),
    index,
    ...(client ? { client } : { error: results[0].sentence }),
  };
}

async function attempt(
  tracker: TrackerAddress,
): Promise<{ check: TrackerCheck; client?: TrackerClient; sentence?: string }> {
  const check: TrackerCheck = { tracker: formatAddress(tracker) };
  const started = performance.now();
  try {
    const client = await TrackerClient.connect(tracker);
    check.ms = Math.round(performance.now() - started);
    return { check, client };
  } catch (error) {
    check.error = connectFailure(
      error instanceof TrackerUnreachableError ? error.cause : error,
      CONNECT_TIMEOUT_MS,
    );
    const sentence = error instanceof Error ? error.message : String(error);
    return { check, sentence };
  }
}
