/**
 * The first step of `peer doctor`: connecting to every tracker given, all
 * at once, asking each something only a tracker answers (its counters: a
 * p2p peer completes the same encrypted handshake, then refuses), and
 * keeping the connection to the first one that answered for the checks
 * that follow.
 *
 * @module
 */

import {
  type TrackerAddress,
  TrackerClient,
} from "../discovery/tracker_client.ts";
import {
  connectFailure,
  TrackerError,
  TrackerUnreachableError,
} from "../discovery/tracker_errors.ts";
import type { Trackers } from "../discovery/tracker_group.ts";
import { formatAddress } from "../net/connection.ts";
import { CONNECT_TIMEOUT_MS } from "../protocol/limits.ts";
import {
  HandshakeRefusedError,
  PlainPeerError,
} from "../secure/secret_stream.ts";

/** Whether one tracker answered, and how fast; or why not. */
export interface TrackerCheck {
  /** Its address. */
  tracker: string;
  /** Ms to connect to it and finish the encryption handshake, if it answered. */
  ms?: number;
  /** Why it could not be used, in a few words ("connection refused"). */
  error?: string;
  /**
   * True when something answered at the address but could not be used as
   * the tracker (a p2p peer; a team tracker without the team's secret).
   */
  reached?: boolean;
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
   * When none answered: why the first one could not be used, as a
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
  let client: TrackerClient;
  try {
    client = await TrackerClient.connect(tracker);
  } catch (error) {
    const cause = error instanceof TrackerUnreachableError
      ? error.cause
      : error;
    check.error = connectFailure(cause, CONNECT_TIMEOUT_MS);
    if (cause instanceof HandshakeRefusedError) check.reached = true;
    if (cause instanceof PlainPeerError) check.reached = true;
    return { check, sentence: message(error) };
  }
  const ms = Math.round(performance.now() - started);
  try {
    await client.stats();
  } catch (error) {
    // A tracker that answers with a refusal of its own (too busy) is one.
    if (!(error instanceof TrackerError) || error.code === "bad-request") {
      client.close();
      check.error = notTracker(error);
      check.reached = true;
      return { check, sentence: message(error) };
    }
  }
  check.ms = ms;
  return { check, client };
}

/** Why what answered the handshake is no tracker to use, in a few words. */
function notTracker(error: unknown): string {
  if (error instanceof TrackerError) return "it is a p2p peer, not a tracker";
  const detail = /stopped responding: (.*?)\.?$/.exec(message(error))?.[1];
  return detail ?? "it stopped answering";
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
