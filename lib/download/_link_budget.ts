/**
 * How a download shares out its requests among its links: each link's
 * window (`swarm/request_window.ts`) is capped by its share of the request
 * budget and of the pieces still missing, and the scheduler's endgame is
 * told about what a piece takes one link, until it has learnt the links'
 * pace from the pieces they deliver. So many links on one slow line
 * neither ask for every piece at once nor fetch each twice.
 *
 * @module
 */

import {
  MAX_DOWNLOAD_REQUEST_BYTES,
  PEER_STALL_TIMEOUT_MS,
  REQUESTS_IN_FLIGHT,
} from "../protocol/limits.ts";

/** What the shares depend on, read when a link asks. */
export interface LinkBudget {
  /** Bytes in a full piece. */
  pieceSize: number;
  /** Links open (connecting ones included). */
  links: number;
  /** Links connected and fetching. */
  active: number;
  /** Pieces not yet verified. */
  missing: number;
  /** The download's recent speed, bytes a second. */
  speed: number;
}

/** The most requests one link may keep in flight now. */
export function linkShare(budget: LinkBudget): number {
  const links = Math.max(1, budget.links);
  const bytes = Math.max(
    REQUESTS_IN_FLIGHT,
    Math.floor(MAX_DOWNLOAD_REQUEST_BYTES / budget.pieceSize / links),
  );
  return Math.max(1, Math.min(bytes, Math.floor(budget.missing / links)));
}

/**
 * About how long one piece takes one link now, in ms: what the endgame
 * reckons with until a piece is delivered (`swarm/piece_scheduler.ts`). Before
 * anything arrived nothing is known: PEER_STALL_TIMEOUT_MS, after which a
 * peer that sent nothing is dropped anyway.
 */
export function pieceTimeMs(budget: LinkBudget): number {
  if (budget.speed <= 0 || budget.active === 0) return PEER_STALL_TIMEOUT_MS;
  return budget.pieceSize / (budget.speed / budget.active) * 1000;
}
