/**
 * What `peer get` says while it waits before the file is found: nobody
 * shares it yet, or no tracker can be reached and they are asked again
 * (and the LAN and the DHT looked in meanwhile).
 *
 * @module
 */

import type { DownloadProgress, TrackersDown } from "../download/download.ts";
import { formatDuration } from "./format.ts";

/** What the get is, for its waiting words. */
export interface WaitContext {
  /** How many trackers it asks. */
  trackers: number;
  /** True for a private link's get (its file's name is not known). */
  private?: boolean;
  /** Where else it looks, if anywhere. */
  node?: { lan?: unknown; dht?: unknown };
}

/**
 * The waiting line's words before the time left, for progress `p` that
 * waits with nothing known of the file: "ID 3f2a…: the tracker cannot be
 * reached; asking again" or "ID 3f2a… is not shared yet: waiting for a
 * sharer".
 */
export function waitingFor(p: DownloadProgress, context: WaitContext): string {
  if (p.trackersDown) {
    return `${context.private ? "This link's file" : p.name}: the ${
      context.trackers > 1 ? "trackers cannot" : "tracker cannot"
    } be reached; asking again`;
  }
  return `${
    context.private
      ? "This link's file is not shared now"
      : `${p.name} is not shared yet`
  }: waiting for a sharer`;
}

/**
 * What a get does while no tracker can be asked, said after the trackers'
 * error: asks them again and looks on the LAN and in the DHT, for as long
 * as `how` says.
 */
export function whileDown(how: TrackersDown, context: WaitContext): string {
  const where = [
    context.node?.lan ? "on the local network" : "",
    context.node?.dht ? "in the DHT" : "",
  ].filter(Boolean);
  const again = `Asking ${
    context.trackers > 1 ? "them" : "it"
  } again every few seconds`;
  if (how.retryMs > 0 && how.lookMs > 0) {
    return `${again} and looking ${where.join(" and ")} meanwhile, for up to ${
      formatDuration(how.retryMs)
    } (--wait).`;
  }
  if (how.retryMs > 0) {
    const shortId = how.shortId
      ? `; a short ID cannot be looked up ${
        where.join(" or ")
      }, only the full ID or the link can`
      : "";
    return `${again}, for up to ${
      formatDuration(how.retryMs)
    } (--wait)${shortId}.`;
  }
  return `Looking ${where.join(" and ")} instead, for ${
    formatDuration(how.lookMs)
  }.`;
}
