/**
 * What goes wrong talking to a tracker, as errors whose messages are one
 * sentence for the user: a refusal (with the tracker's code), a tracker that
 * cannot be reached or stopped answering, a request the client will not
 * send; and the words for why a connect failed.
 *
 * @module
 */

import type { Address } from "../net/connection.ts";
import {
  HandshakeRefusedError,
  PlainPeerError,
} from "../secure/secret_stream.ts";
import { HandshakeTimeoutError } from "../net/secure_transport.ts";
import { MAX_SEARCH_CHARS, TEAM_SECRET_ENV } from "../protocol/limits.ts";
import { describeError, isLookupFailure } from "../net/describe_error.ts";
import type { ErrorCode, FileList, Message } from "../protocol/messages.ts";

/** The tracker refused a request; `code` says why, the message is for the user. */
export class TrackerError extends Error {
  /** The tracker's error code. */
  readonly code: ErrorCode;
  /**
   * For `ambiguous`: the files the ID prefix matches, as the tracker named
   * them (with `more`); absent from older trackers.
   */
  readonly candidates?: FileList;

  /** Creates an error from a tracker's `error` reply. */
  constructor(code: ErrorCode, message: string, candidates?: FileList) {
    super(message);
    this.name = "TrackerError";
    this.code = code;
    if (candidates) this.candidates = candidates;
  }
}

/** Options for {@linkcode TrackerUnreachableError}. */
export interface TrackerUnreachableErrorOptions extends ErrorOptions {
  /**
   * Asking again later may succeed: the tracker could not be reached or
   * its connection broke (it may be restarting, the network may come
   * back), rather than something there refusing or not being a tracker.
   * @default {false}
   */
  transient?: boolean;
}

/** The tracker could not be reached, or stopped answering; the message is for the user. */
export class TrackerUnreachableError extends Error {
  /** The tracker's address. */
  readonly address: Address;
  /** True if asking again later may succeed (see the options). */
  readonly transient: boolean;

  /** Creates an error about the tracker at `address`. */
  constructor(
    address: Address,
    message: string,
    options?: TrackerUnreachableErrorOptions,
  ) {
    super(message, options);
    this.name = "TrackerUnreachableError";
    this.address = address;
    this.transient = options?.transient ?? false;
  }
}

/**
 * A request the client refuses to send because it breaks a protocol limit
 * (a search text too long); the message is for the user, whose input it was.
 */
export class TrackerRequestError extends RangeError {
  /** Creates an error with a message for the user. */
  constructor(message: string) {
    super(message);
    this.name = "TrackerRequestError";
  }
}

/**
 * Checks a search text against MAX_SEARCH_CHARS, the most a tracker
 * accepts; throws a {@linkcode TrackerRequestError} saying the limit.
 */
export function checkSearchText(text: string): void {
  if (text.length > MAX_SEARCH_CHARS) {
    throw new TrackerRequestError(
      `The search text has ${text.length} characters, over the limit of ${MAX_SEARCH_CHARS}: search for a shorter part of the name.`,
    );
  }
}

/**
 * True for the `error` a peer server answers a tracker request with: it
 * wants `hello` first, or its frame limits (no binary part, a small JSON
 * part) refuse the request before reading it. A tracker words its own
 * refusals differently (`Bad request: …`, `A tracker does not answer …`),
 * so neither can come from one.
 */
export function isPeerRefusal(
  reply: Extract<Message, { type: "error" }>,
): boolean {
  return reply.code === "bad-request" &&
    /^(Expected "hello", got |Frame )/.test(reply.message);
}

/**
 * Why a connect failed, in a few words; `host`, the name connected to,
 * is named when it cannot be looked up.
 */
export function connectFailure(
  error: unknown,
  timeoutMs: number,
  host?: string,
): string {
  if (error instanceof HandshakeRefusedError) {
    // "no-key-expected" is never retried without the key: anyone on the
    // path can send it, so a retry would let someone posing as the team's
    // tracker have the client talk to it with no key proved (a downgrade).
    // Only the user leaves the key out.
    return error.reason === "key-required"
      ? `it is a team tracker and needs the team's secret (--secret-file or ${TEAM_SECRET_ENV})`
      : error.reason === "unknown-key"
      ? "the team secret given does not match this tracker's"
      : error.reason === "no-key-expected"
      ? `it is an open tracker and takes no team secret: leave out --secret-file (or unset ${TEAM_SECRET_ENV}) for it`
      : "it speaks another version of p2p's encryption; one of you needs to upgrade";
  }
  if (error instanceof PlainPeerError) {
    return "it runs an older p2p that does not encrypt; upgrade the tracker";
  }
  if (error instanceof TypeError) {
    // The handshake's answer was not p2p's (a web server, say).
    return "it is not a p2p tracker; something else answers on that port";
  }
  if (error instanceof Deno.errors.UnexpectedEof) {
    return "it closed the connection during the encryption handshake, as something other than a p2p tracker would, such as a tracker's relay port";
  }
  if (error instanceof Deno.errors.ConnectionRefused) {
    return "connection refused";
  }
  if (error instanceof HandshakeTimeoutError) {
    return `no answer to the encryption handshake within ${
      error.limitMs / 1000
    } s (is it a p2p tracker?)`;
  }
  if (error instanceof Deno.errors.TimedOut) {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  if (error instanceof Deno.errors.NotFound || isLookupFailure(error)) {
    return host === undefined
      ? "cannot find the host name"
      : `cannot find the host name "${userText(host).replace(/\.$/, "")}"`;
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return "network access not permitted";
  }
  return userText(describeError(error)).replace(/\.$/, "");
}

/**
 * True if `error`, a connect's failure, came from something that answered
 * at the address: it refused the handshake, or it is not a p2p tracker.
 * Something runs there, so "Is it running?" is no advice.
 */
export function connectReached(error: unknown): boolean {
  return error instanceof HandshakeRefusedError ||
    error instanceof PlainPeerError || error instanceof TypeError ||
    error instanceof Deno.errors.UnexpectedEof ||
    error instanceof HandshakeTimeoutError;
}

/**
 * True if connecting again later may get past `error`, a connect's
 * failure: nothing answered (refused, timed out, a network down), as when
 * the tracker is not running yet or restarting. Not for a name that cannot
 * be looked up, nor something there that is not the tracker asked for.
 */
export function connectMayPass(error: unknown): boolean {
  return !connectReached(error) && !isLookupFailure(error) &&
    !(error instanceof Deno.errors.NotFound) &&
    !(error instanceof Deno.errors.PermissionDenied) &&
    !(error instanceof Deno.errors.NotCapable);
}

/** Text from the network made safe to print: no control characters, bounded. */
export function userText(text: string): string {
  // deno-lint-ignore no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?").trim();
  const short = clean.length > 300 ? `${clean.slice(0, 300)}…` : clean;
  if (short === "") return "The tracker refused the request.";
  return /[.!?…]$/.test(short) ? short : `${short}.`;
}
