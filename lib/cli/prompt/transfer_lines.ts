/**
 * A session's running transfers as the prompt shows them: one line each for
 * `status`, or a live bar.
 *
 * @module
 */

import type { Transfer } from "../../app/transfers.ts";
import { CHECKING_NOTE } from "../resumed.ts";
import { terminalSafe } from "../../util/terminal_safe.ts";
import { formatDuration } from "../format.ts";
import {
  BAR_WIDTH,
  describe,
  fitBarLine,
  formatBarLine,
  type ProgressState,
} from "../progress.ts";

/**
 * One line for `status` and plain progress: name, percent, bytes, speed,
 * ETA, peers; `waiting for a sharer (4m 58s left)` instead while nobody
 * shares the file yet (its size unknown).
 */
export function describeTransfer(transfer: Transfer): string {
  const state = transferProgress(transfer);
  return transfer.started
    ? describe(state, state.bytesPerSecond ?? transfer.bytesPerSecond)
    : `${terminalSafe(state.label)}  ${notStarted(transfer)}`;
}

/** A live bar line for `transfer`, fitted into `columns`. */
export function transferBar(
  transfer: Transfer,
  columns: number,
  color: boolean,
): string {
  const state = transferProgress(transfer);
  if (transfer.started) return formatBarLine(state, { columns, color });
  // The name cut in the middle; what it waits for kept whole, shorter when
  // the terminal is narrow.
  return fitBarLine(
    `[${"-".repeat(BAR_WIDTH)}]`,
    terminalSafe(state.label),
    [`  ${notStarted(transfer)}`, `  ${notStarted(transfer, true)}`],
    columns,
  );
}

/**
 * What a transfer does while its size is unknown, e.g.
 * `waiting for a sharer (4m 58s left)` (`short`: `waiting (4m 58s left)`)
 * or `starting…`.
 */
function notStarted(transfer: Transfer, short = false): string {
  return transfer.waiting ? waitingFor(transfer, short) : "starting…";
}

/**
 * `waiting for a sharer (4m 58s left)`, as `peer get` says it (`waiting for
 * the tracker` while none can be reached); `short`: `waiting (4m 58s left)`.
 */
function waitingFor(transfer: Transfer, short = false): string {
  const left = transfer.waitLeftMs;
  const what = transfer.trackersDown ? " for the tracker" : " for a sharer";
  return `waiting${short ? "" : what}${
    left === undefined ? "" : ` (${formatDuration(left)} left)`
  }`;
}

/**
 * The transfer as a progress line's state; while it checks the `.part` an
 * earlier get left, how far that check is.
 */
function transferProgress(transfer: Transfer): ProgressState {
  const verb = transfer.kind === "hash" ? "hashing" : "getting";
  const getting = transfer.kind === "get";
  const check = transfer.checking;
  if (check) {
    const { done, total, bytesPerSecond } = check;
    const label = `#${transfer.number} ${verb} ${transfer.name}`;
    return { label, note: CHECKING_NOTE, done, total, bytesPerSecond };
  }
  // Every peer left mid-way: said after the name, the bar stays where it is.
  const waiting = transfer.started && transfer.waiting
    ? waitingFor(transfer)
    : undefined;
  return {
    label: `#${transfer.number} ${verb} ${transfer.name}`,
    note: waiting,
    done: transfer.done,
    total: transfer.total,
    bytesPerSecond: transfer.bytesPerSecond,
    peers: getting ? transfer.peers ?? 0 : undefined,
    routes: getting ? transfer.routes : undefined,
    found: getting ? transfer.found : undefined,
  };
}
