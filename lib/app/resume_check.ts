/**
 * A session's get while it checks the `.part` an earlier get left (every
 * piece already there is hashed again before any peer is asked: seconds
 * for a large one), for the prompt and the web page to show, as `peer get`
 * shows it from the download's reports (`DownloadProgress.checking`). Kept
 * beside each {@linkcode Transfer}, for the session's gets only.
 *
 * @module
 */

import type { DownloadProgress } from "../download/types.ts";
import type { Transfer } from "./transfers.ts";
import { rateOver } from "../util/speed_meter.ts";

/** A resumed `.part` being checked. */
export interface PartCheck {
  /** The `.part`, when the download said. */
  partPath?: string;
  /** Bytes of it checked so far. */
  done: number;
  /** Bytes to check in all. */
  total: number;
  /** Bytes checked a second, since the check started. */
  bytesPerSecond: number;
}

/** What is known of one transfer's check. */
interface CheckState {
  /** The check going on now, if one is. */
  now?: PartCheck;
  /** Resolved when the check starts. */
  started: PromiseWithResolvers<PartCheck>;
  /** When it started (performance.now()). */
  since?: number;
}

const checks = new WeakMap<Transfer, CheckState>();

function stateOf(transfer: Transfer): CheckState {
  let state = checks.get(transfer);
  if (!state) {
    state = { started: Promise.withResolvers() };
    checks.set(transfer, state);
  }
  return state;
}

/**
 * Records the download's `progress` in `transfer`
 * (`Transfer.updateFromDownload`), and the check of a resumed `.part`
 * while it goes on.
 */
export function followDownload(
  transfer: Transfer,
  progress: DownloadProgress,
): void {
  const state = stateOf(transfer);
  const { checking, partPath } = progress;
  state.now = undefined;
  if (checking) {
    const now = performance.now();
    state.since ??= now;
    const bytesPerSecond = rateOver(checking.done, now - state.since);
    state.now = { ...checking, partPath, bytesPerSecond };
    state.started.resolve(state.now);
  }
  transfer.updateFromDownload(progress);
}

/** How far `transfer`'s check of a resumed `.part` is, while it goes on. */
export function checkingOf(transfer: Transfer): PartCheck | undefined {
  return checks.get(transfer)?.now;
}

/**
 * Resolves when `transfer` starts checking the `.part` an earlier get left,
 * with what it checks; never for a get that starts afresh.
 */
export function checkStarted(transfer: Transfer): Promise<PartCheck> {
  return stateOf(transfer).started.promise;
}
