/**
 * What a get is asked for, typed into the prompt, the command line or the
 * web page: a share link (public or private) or a file ID; and what it
 * then looks up, at which tracker.
 *
 * @module
 */

import { type Address, formatAddress } from "../net/connection.ts";
import type { TrackerAddress } from "../discovery/tracker_client.ts";
import { parseShareLink, type ShareLink } from "../protocol/share_link.ts";
import { parseFileId } from "./file_id.ts";

/** What to get: a file by ID from the usual tracker, or what a link says. */
export type GetTarget =
  | { kind: "id"; id: string }
  | { kind: "link"; link: ShareLink };

/** Starts like a link's scheme: no file ID starts with "p" or holds "/". */
const LINK_LIKE = /^\s*p2p|\//i;

/**
 * True if `text` is meant as a share link (it starts with `p2p`, in any
 * case, or holds a `/`), even a damaged one: it is then read as a link, so
 * that a mistake in it is reported as one.
 */
export function isLinkText(text: string): boolean {
  return LINK_LIKE.test(text);
}

/**
 * Reads a typed link or file ID. Throws a `ShareLinkError` for a damaged
 * link and a {@linkcode UsageError} for a bad ID, each one sentence.
 *
 * @example
 * ```ts
 * parseGetTarget("9F86D081884C7D65"); // { kind: "id", id: "9f86d081884c7d65" }
 * parseGetTarget("p2p://10.0.0.5:5000/v1/pub/" + "ab".repeat(32)).kind; // "link"
 * ```
 */
export function parseGetTarget(text: string): GetTarget {
  if (isLinkText(text)) return { kind: "link", link: parseShareLink(text) };
  return { kind: "id", id: parseFileId(text) };
}

/** The tracker a link names first: the one a get asks. */
export function linkTracker(link: ShareLink): Address {
  const [first] = link.trackers;
  return { host: first.host, port: first.port };
}

/** What a get in a session looks up, and where: see {@linkcode lookupOf}. */
export interface SessionLookup {
  /** The ID (or prefix), or a private link's short ID. */
  id: string;
  /** A private link's secret. */
  secret?: Uint8Array;
  /** The tracker to ask (with the session's team key). */
  tracker: TrackerAddress;
  /** More trackers to ask with it (a link's others, or the session's). */
  moreTrackers: TrackerAddress[];
  /** True when the saved file is served: the link names the session's tracker. */
  serve: boolean;
}

/**
 * What a get of `wanted` looks up, and where: an ID at the session's
 * trackers (`own` and `ownMore`), or a link's file at the trackers it names
 * (with the session's team key). The file is served once saved only when that is the
 * session's tracker, with which its node registers what it shares.
 */
export function lookupOf(
  wanted: string | ShareLink,
  own: TrackerAddress,
  ownMore: readonly TrackerAddress[] = [],
): SessionLookup {
  if (typeof wanted === "string") {
    return {
      id: wanted,
      tracker: own,
      moreTrackers: [...ownMore],
      serve: true,
    };
  }
  const withKey = (address: Address): TrackerAddress =>
    own.psk
      ? { host: address.host, port: address.port, psk: own.psk }
      : { host: address.host, port: address.port };
  const [tracker, ...moreTrackers] = wanted.trackers.map(withKey);
  const serve = formatAddress(tracker) === formatAddress(own);
  return wanted.kind === "public"
    ? { id: wanted.id, tracker, moreTrackers, serve }
    : {
      id: wanted.shortId,
      secret: wanted.secret,
      tracker,
      moreTrackers,
      serve,
    };
}
