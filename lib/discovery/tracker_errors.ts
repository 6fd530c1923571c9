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

/** The tracker could not be reached, or stopped answering; the message is for the user. */
export class TrackerUnreachableError extends Error {
  /** The tracker's address. */
  readonly address: Address;

  /** Creates an error about the tracker at `address`. */
  constructor(address: Address, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TrackerUnreachableError";
    this.address = address;
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

/** Why a connect failed, in a few words. */
export function connectFailure(error: unknown, timeoutMs: number): string {
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
  if (error instanceof Deno.errors.NotFound) return "host not found";
  if (error instanceof Deno.errors.PermissionDenied) {
    return "network access not permitted";
  }
  const text = error instanceof Error ? error.message : String(error);
  return userText(text).replace(/\.$/, "");
}

/** Text from the network made safe to print: no control characters, bounded. */
export function userText(text: string): string {
  // deno-lint-ignore no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?").trim();
  const short = clean.length > 300 ? `${clean.slice(0, 300)}…` : clean;
  if (short === "") return "The tracker refused the request.";
  return /[.!?…]$/.test(short) ? short : `${short}.`;
}
