/**
 * What `get` is asked for: a share link (public or private) or a file ID,
 * typed as an argument, read from standard input (`-`), or taken from
 * {@linkcode LINK_ENV} when no argument is given, which keeps a private
 * link out of the process list other local users can read.
 *
 * @module
 */

import { type Address, formatAddress } from "../net/connection.ts";
import type { TrackerAddress } from "../discovery/tracker_client.ts";
import { LINK_ENV } from "../protocol/limits.ts";
import {
  MAX_LINK_CHARS,
  parseShareLink,
  type ShareLink,
} from "../protocol/share_link.ts";
import { parseFileId, UsageError } from "./args.ts";

/** What to get: a file by ID from the usual tracker, or what a link says. */
export type GetTarget =
  | { kind: "id"; id: string }
  | { kind: "link"; link: ShareLink };

/** The argument of `get` that means "read it from standard input". */
export const STDIN_ARG = "-";

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

/** Where `get` finds its link or ID besides its argument. */
export interface GetTargetSources {
  /** The value of {@linkcode LINK_ENV}, if set. */
  env?: string;
  /** Standard input, read when the argument is `-`. */
  stdin?: ReadableStream<Uint8Array>;
}

/**
 * The link or ID `get` was given: `arg`, or with `-` the first non-empty
 * line of standard input, or with no argument {@linkcode LINK_ENV}.
 */
export async function readGetTarget(
  arg: string | undefined,
  sources: GetTargetSources,
): Promise<GetTarget> {
  if (arg === STDIN_ARG) {
    const line = await firstLine(sources.stdin);
    if (line === undefined) {
      throw new UsageError(
        'Standard input held no link or file ID: pipe the link into "peer get -".',
      );
    }
    return parseGetTarget(line);
  }
  if (arg !== undefined) return parseGetTarget(arg);
  const env = sources.env?.trim();
  if (!env) {
    throw new UsageError(
      `Missing the link or file ID: give it after "get", "-" to read it from standard input, or set ${LINK_ENV}.`,
    );
  }
  return parseGetTarget(env);
}

/** The tracker a link names first: the one a get asks. */
export function linkTracker(link: ShareLink): Address {
  const [first] = link.trackers;
  return { host: first.host, port: first.port };
}

/**
 * The first non-empty line of `stream`, trimmed; undefined at the end of
 * input. Stops reading once it has the line; a first line longer than any
 * link is refused.
 */
async function firstLine(
  stream: ReadableStream<Uint8Array> | undefined,
): Promise<string | undefined> {
  if (!stream) return undefined;
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    for (;;) {
      const lines = text.split(/\r?\n/);
      const done = lines.slice(0, -1).find((line) => line.trim() !== "");
      if (done !== undefined) return done.trim();
      const pending = lines.at(-1)!;
      if (pending.trim().length > MAX_LINK_CHARS) {
        throw new UsageError(
          "The first line of standard input is too long to be a link or file ID.",
        );
      }
      const { value, done: ended } = await reader.read();
      if (ended) return pending.trim() || undefined;
      text = pending + value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** What a get in a session looks up, and where: see {@linkcode lookupOf}. */
export interface SessionLookup {
  /** The ID (or prefix), or a private link's short ID. */
  id: string;
  /** A private link's secret. */
  secret?: Uint8Array;
  /** The tracker to ask (with the session's team key). */
  tracker: TrackerAddress;
  /** True when the saved file is served: the link names the session's tracker. */
  serve: boolean;
}

/**
 * What a get of `wanted` looks up, and where: an ID at the session's
 * tracker `own`, or a link's file at the tracker it names (with the
 * session's team key). The file is served once saved only when that is the
 * session's tracker, with which its node registers what it shares.
 */
export function lookupOf(
  wanted: string | ShareLink,
  own: TrackerAddress,
): SessionLookup {
  if (typeof wanted === "string") {
    return { id: wanted, tracker: own, serve: true };
  }
  const named = linkTracker(wanted);
  const tracker: TrackerAddress = own.psk ? { ...named, psk: own.psk } : named;
  const serve = formatAddress(named) === formatAddress(own);
  return wanted.kind === "public"
    ? { id: wanted.id, tracker, serve }
    : { id: wanted.shortId, secret: wanted.secret, tracker, serve };
}
