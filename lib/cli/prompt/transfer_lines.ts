/**
 * A session's running transfers as the prompt shows them: one line each for
 * `status`, or a live bar.
 *
 * @module
 */

import type { Transfer } from "../../app/transfers.ts";
import { terminalSafe } from "../../util/terminal_safe.ts";
import {
  BAR_WIDTH,
  describe,
  formatBarLine,
  type ProgressState,
} from "../progress.ts";

/** One line for `status` and plain progress: name, percent, bytes, speed, ETA, peers. */
export function describeTransfer(transfer: Transfer): string {
  const state = transferProgress(transfer);
  return transfer.started
    ? describe(state, transfer.bytesPerSecond)
    : `${terminalSafe(state.label)}  starting…`;
}

/** A live bar line for `transfer`, fitted into `columns`. */
export function transferBar(
  transfer: Transfer,
  columns: number,
  color: boolean,
): string {
  const state = transferProgress(transfer);
  if (transfer.started) return formatBarLine(state, { columns, color });
  const label = terminalSafe(state.label);
  const room = Math.max(10, columns - BAR_WIDTH - 4);
  const text = `${label}  starting…`;
  const fitted = [...text].length <= room
    ? text
    : `${[...text].slice(0, room - 1).join("")}…`;
  return `[${"-".repeat(BAR_WIDTH)}] ${fitted}`;
}

/** The transfer as a progress line's state. */
function transferProgress(transfer: Transfer): ProgressState {
  const verb = transfer.kind === "hash" ? "hashing" : "getting";
  const getting = transfer.kind === "get";
  return {
    label: `#${transfer.number} ${verb} ${transfer.name}`,
    done: transfer.done,
    total: transfer.total,
    bytesPerSecond: transfer.bytesPerSecond,
    peers: getting ? transfer.peers ?? 0 : undefined,
    routes: getting ? transfer.routes : undefined,
    found: getting ? transfer.found : undefined,
  };
}
