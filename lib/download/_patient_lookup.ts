/**
 * Asking the trackers for a file while a get waits (`waitMs`): trackers
 * that know no such file yet are asked again every WAIT_POLL_MS (it may be
 * shared meanwhile); when none can be reached they are asked again after
 * TRACKER_RETRY_FIRST_MS, the pause growing up to TRACKER_RETRY_MAX_MS (a
 * tracker restarting, the network coming back). And the one error for a
 * get that found the file nowhere while the trackers were down.
 *
 * @module
 */

import { TrackerUnreachableError } from "../discovery/tracker_errors.ts";
import { sleep } from "../util/sleep.ts";
import { DownloadError } from "./_download_error.ts";
import type { DownloadProgress } from "./types.ts";

/** How often a download waiting for a file to be shared asks the tracker. */
export const WAIT_POLL_MS = 2_000;
/** The first pause before trackers that could not be reached are asked again. */
export const TRACKER_RETRY_FIRST_MS = 2_000;
/** The longest pause between two tries at trackers that cannot be reached. */
export const TRACKER_RETRY_MAX_MS = 5_000;
/** How much the pause between tries at unreachable trackers grows each time. */
const TRACKER_RETRY_GROWTH = 1.5;

/**
 * What a get by a short ID says when the trackers are down: the LAN and
 * the DHT know a file only by a key made from its full ID.
 */
export const SHORT_ID_HINT =
  "A short ID can only be looked up on a tracker; use the full ID or the link.";

/** Options for {@linkcode askPatiently}. */
export interface AskPatientlyOptions {
  /** Ms to keep asking; 0 asks once. */
  waitMs: number;
  /** Stops asking (the pause in between rejects with its reason). */
  signal?: AbortSignal;
  /**
   * True for a failure after which a tracker may answer if asked again
   * (none could be reached), as opposed to an answer or a refusal.
   */
  mayPass: (error: unknown) => boolean;
  /**
   * Called before each pause: `down` while no tracker could be reached,
   * else the file is not known yet. @default {nothing}
   */
  onWaiting?: (down: boolean) => void;
  /**
   * Called with the failure the first time no tracker could be reached and
   * they are to be asked again. @default {nothing}
   */
  onDown?: (error: unknown) => void;
}

/**
 * Runs `ask` until it resolves; while it fails with a file not known yet
 * ({@linkcode DownloadError} `unknownId`) or with trackers that cannot be
 * reached (`mayPass`), runs it again after a pause, for up to `waitMs`.
 * Then, or on any other failure, rejects with the last failure.
 */
export async function askPatiently<T>(
  ask: () => Promise<T>,
  options: AskPatientlyOptions,
): Promise<T> {
  const deadline = performance.now() + options.waitMs;
  let retryMs = TRACKER_RETRY_FIRST_MS;
  let toldDown = false;
  for (;;) {
    try {
      return await ask();
    } catch (error) {
      const unknown = error instanceof DownloadError && error.unknownId;
      const down = !unknown && options.mayPass(error);
      const left = deadline - performance.now();
      if (!(unknown || down) || left <= 0) throw error;
      if (down && !toldDown) {
        toldDown = true;
        options.onDown?.(error);
      }
      options.onWaiting?.(down);
      const pauseMs = down ? retryMs : WAIT_POLL_MS;
      retryMs = down
        ? Math.min(retryMs * TRACKER_RETRY_GROWTH, TRACKER_RETRY_MAX_MS)
        : TRACKER_RETRY_FIRST_MS;
      await sleep(Math.min(pauseMs, left), options.signal);
    }
  }
}

/**
 * The progress of a get by `id` that waits before its file is found, its
 * size unknown: nobody shares it yet, or (`trackersDown`) no tracker can
 * be reached.
 */
export function waitingFor(
  id: string,
  trackersDown: boolean,
): DownloadProgress {
  return {
    name: `ID ${id.slice(0, 16)}`,
    size: 0,
    received: 0,
    bytesPerSecond: 0,
    peers: 0,
    waiting: true,
    trackersDown,
  };
}

/** What else was tried when no tracker could be asked; see {@linkcode foundNowhere}. */
export interface Elsewhere {
  /** Why the LAN and the DHT did not give the file, if they were asked. */
  finders?: unknown;
  /** True if the LAN or the DHT could not be asked for a short ID. */
  shortId?: boolean;
}

/**
 * The error for a get that found its file nowhere: the trackers' `error`,
 * and when none could be reached, what the LAN and the DHT found (nobody
 * on the local network has it, the DHT has no nodes) or why they were not
 * asked (a short ID). Any other error is returned as it is.
 */
export function foundNowhere(error: unknown, elsewhere: Elsewhere): unknown {
  if (!(error instanceof TrackerUnreachableError)) return error;
  const more = [
    elsewhere.finders instanceof DownloadError ? elsewhere.finders.message : "",
    elsewhere.shortId ? SHORT_ID_HINT : "",
  ].filter(Boolean);
  if (more.length === 0) return error;
  return new TrackerUnreachableError(
    error.address,
    [error.message, ...more].join(" "),
    { cause: error.cause, transient: error.transient },
  );
}
