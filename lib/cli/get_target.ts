/**
 * What `get` is asked for: a share link (public or private) or a file ID,
 * typed as an argument, read from standard input (`-`), or taken from
 * {@linkcode LINK_ENV} when no argument is given, which keeps a private
 * link out of the process list other local users can read.
 *
 * @module
 */

import { LINK_ENV } from "../protocol/limits.ts";
import { MAX_LINK_CHARS, ShareLinkError } from "../protocol/share_link.ts";
import { type GetTarget, parseGetTarget } from "../app/lookup.ts";
import { UsageError } from "../app/usage_error.ts";

/** The argument of `get` that means "read it from standard input". */
export const STDIN_ARG = "-";

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
  return fromEnv(env);
}

/**
 * The target in {@linkcode LINK_ENV}: as {@linkcode parseGetTarget}, but a
 * bad value is said to come from there, since nothing on the command line
 * shows it (`The link in P2P_LINK is not a valid p2p link: its file ID is
 * damaged …`).
 */
function fromEnv(text: string): GetTarget {
  try {
    return parseGetTarget(text);
  } catch (error) {
    if (error instanceof ShareLinkError) {
      throw new ShareLinkError(
        `The link in ${LINK_ENV} is not a valid p2p link: ${
          asClause(error.message)
        }`,
      );
    }
    if (error instanceof UsageError) {
      throw new UsageError(
        `${LINK_ENV} holds no valid share link or file ID: ${
          asClause(error.message)
        }`,
      );
    }
    throw error;
  }
}

/**
 * A link or ID error's sentence, to follow a colon: "This share link's file
 * ID is damaged …" becomes "its file ID is damaged …".
 */
function asClause(sentence: string): string {
  const clause = sentence
    .replace(/^This is not a share link: /, "")
    .replace(/^Th(?:is|e) share link's /, "its ")
    .replace(/^Th(?:is|e) share link /, "it ");
  return clause.charAt(0).toLowerCase() + clause.slice(1);
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
