/**
 * Which errors carry a sentence written for the user, and words for those
 * that do not but mean something the user can act on (a handshake refused):
 * the command line, the prompt and the web page all show them as they are.
 *
 * @module
 */

import {
  HandshakeRefusedError,
  PlainPeerError,
} from "../secure/secret_stream.ts";

/** Errors whose message is already a sentence for the user (exit 1 or 130). */
export const USER_ERRORS: ReadonlySet<string> = new Set([
  "SaidError",
  "DownloadError",
  "TrackerError",
  "TrackerUnreachableError",
  "ShareError",
  "StoppedError",
  "OutDirError",
]);

/**
 * A failure whose sentence was shown already, before what the command did
 * about it (`peer share` says why it stops, then that it unregisters): exit
 * 1 with nothing more said. Its stack is its cause's, for `--verbose`.
 */
export class SaidError extends Error {
  /** Creates the error for `cause`, whose sentence was shown. */
  constructor(cause?: unknown) {
    super("", { cause });
    this.name = "SaidError";
    if (cause instanceof Error && cause.stack) this.stack = cause.stack;
  }
}

/**
 * Errors whose message is a sentence for the user about what they typed
 * (exit 2): a `TrackerRequestError` is a request over a protocol limit,
 * such as a search text too long; a `ShareLinkError` a damaged share link.
 */
export const USAGE_ERRORS: ReadonlySet<string> = new Set([
  "UsageError",
  "TrackerRequestError",
  "ShareLinkError",
]);

/**
 * An encrypted handshake that failed where nothing put it in words (the
 * tracker client and download links do): what it means, and what to do.
 */
export function handshakeFailure(
  error: HandshakeRefusedError | PlainPeerError,
): string {
  if (error instanceof PlainPeerError) {
    return "The other side runs an older p2p that does not encrypt connections: it needs to upgrade.";
  }
  switch (error.reason) {
    case "key-required":
      return "The other side accepts only connections that prove a secret: use its share link, or the team's secret (--secret-file).";
    case "unknown-key":
      return "The other side does not know the secret given: check the share link or the team's secret.";
    case "no-key-expected":
      return "The other side takes no secret: leave out the team's secret (--secret-file) for it.";
    default:
      return "The other side speaks another version of p2p's encryption: one of you needs to upgrade.";
  }
}

/**
 * The sentence to show the user for `error`, or undefined when it is
 * unexpected (a bug or an unusual system error): the message of an error
 * written for the user, or what a refused handshake means.
 */
export function userSentence(error: unknown): string | undefined {
  if (
    error instanceof Error &&
    (USER_ERRORS.has(error.name) || USAGE_ERRORS.has(error.name))
  ) {
    return error.message;
  }
  if (
    error instanceof HandshakeRefusedError || error instanceof PlainPeerError
  ) {
    return handshakeFailure(error);
  }
  return undefined;
}
