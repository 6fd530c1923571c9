/**
 * Share links: one string that carries everything a getter needs to find a
 * file, as pure code. Versioned, so a later format can be told apart and
 * named instead of misread:
 *
 * ```text
 * public:  p2p://HOSTS/v1/pub/<64 lowercase hex file ID>
 * private: p2p://HOSTS/v1/priv/<secret, 22 chars base64url>/<16 hex short ID>
 * HOSTS:   host:port[,host:port…]   (IPv6 in brackets: [::1]:5000)
 * ```
 *
 * A private link's secret is the root of every key of that share (see
 * `lib/secure/share_keys.ts`); its short ID is only for display, and the
 * getter checks it against the file ID inside the opened metadata. Parsing
 * throws a {@linkcode ShareLinkError} whose message is one sentence a user
 * can act on.
 *
 * @module
 */

import { FULL_ID_CHARS, MIN_ID_PREFIX } from "./limits.ts";
import { isIpv4 } from "../util/ipv4.ts";

/** Bytes of a private share's secret: 128 bits. */
export const SHARE_SECRET_BYTES = 16;
/** Most trackers one link may name. */
export const MAX_LINK_TRACKERS = 8;
/** Longest link accepted or made, in characters. */
export const MAX_LINK_CHARS = 2048;
/** The link format this module writes (and the newest it reads). */
export const SHARE_LINK_VERSION = 1;
/** What every share link starts with (read case-insensitively). */
export const SHARE_LINK_SCHEME = "p2p://";

/** Hex chars of a short ID, as `lib/cli/format.ts`'s `shortId` prints it. */
const SHORT_ID_CHARS = MIN_ID_PREFIX;
/** Characters of the secret in base64url without padding. */
const SECRET_CHARS = Math.ceil(SHARE_SECRET_BYTES * 4 / 3);
/** Longest host name (DNS). */
const MAX_HOST_CHARS = 253;
/** Longest value quoted back in an error message. */
const MAX_QUOTED_CHARS = 40;
/** Newest version number worth reading as one (6 digits). */
const MAX_VERSION_DIGITS = 6;

/** One tracker a link names. */
export interface ShareLinkTracker {
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  /** TCP port, 1 to 65535. */
  port: number;
}

/** What a share link says. */
export type ShareLink =
  | {
    /** Link format version. */
    version: 1;
    /** Trackers that know the file, 1 to MAX_LINK_TRACKERS. */
    trackers: ShareLinkTracker[];
    /** A public share: anyone with the ID may get it. */
    kind: "public";
    /** The full file ID, 64 lowercase hex chars. */
    id: string;
  }
  | {
    /** Link format version. */
    version: 1;
    /** Trackers that know the file, 1 to MAX_LINK_TRACKERS. */
    trackers: ShareLinkTracker[];
    /** A private share: only holders of the secret may find and get it. */
    kind: "private";
    /** SHARE_SECRET_BYTES random bytes. */
    secret: Uint8Array;
    /** The file ID's first 16 hex chars, for display. */
    shortId: string;
  };

/** A link that cannot be read; the message is one sentence for the user. */
export class ShareLinkError extends Error {
  /** An error with `message`, one plain sentence. */
  constructor(message: string) {
    super(message);
    this.name = "ShareLinkError";
  }
}

const FULL_ID = new RegExp(`^[0-9a-f]{${FULL_ID_CHARS}}$`, "i");
const SHORT_ID = new RegExp(`^[0-9a-f]{${SHORT_ID_CHARS}}$`, "i");
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const PRINTABLE = /^[\x21-\x7e]*$/;
const VERSION = new RegExp(
  `^v([1-9][0-9]{0,${MAX_VERSION_DIGITS - 1}})$`,
  "i",
);
const PORT = /^[1-9][0-9]{0,4}$/;
const IPV6_CHARS = /^[0-9A-Fa-f:.]+$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const DIGITS = /^[0-9]+$/;

/** A fresh random share secret of SHARE_SECRET_BYTES bytes. */
export function generateShareSecret(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(SHARE_SECRET_BYTES));
}

/** True if `text` starts like a share link (`p2p://`, any case). */
export function looksLikeShareLink(text: string): boolean {
  return unwrapped(text).slice(0, SHARE_LINK_SCHEME.length).toLowerCase() ===
    SHARE_LINK_SCHEME;
}

/** Pairs a pasted link may come wrapped in (mail, chat, quotes). */
const WRAPPERS: readonly (readonly [string, string])[] = [
  ["<", ">"],
  ['"', '"'],
  ["'", "'"],
  ["`", "`"],
  ["‹", "›"],
  ["«", "»"],
  ["“", "”"],
  ["‘", "’"],
];

/** `text` trimmed, and out of one pair of wrappers it came in, if any. */
function unwrapped(text: string): string {
  const trimmed = text.trim();
  for (const [open, close] of WRAPPERS) {
    if (
      trimmed.length > open.length + close.length &&
      trimmed.startsWith(open) && trimmed.endsWith(close)
    ) {
      return trimmed.slice(open.length, -close.length).trim();
    }
  }
  return trimmed;
}

/**
 * Writes `link` as text. Throws a `TypeError` if it holds values no link
 * can carry (a bad host, port, ID or secret; too many trackers; too long).
 *
 * @example
 * ```ts
 * formatShareLink({
 *   version: 1,
 *   trackers: [{ host: "::1", port: 5000 }],
 *   kind: "public",
 *   id: "ab".repeat(32),
 * }); // "p2p://[::1]:5000/v1/pub/abab…"
 * ```
 */
export function formatShareLink(link: ShareLink): string {
  const hosts = link.trackers.map(formatTracker).join(",");
  const tail = link.kind === "public"
    ? `pub/${link.id}`
    : `priv/${encodeSecret(link.secret)}/${link.shortId}`;
  const text = `${SHARE_LINK_SCHEME}${hosts}/v${link.version}/${tail}`;
  try {
    const read = parseShareLink(text);
    // Read in any case, written in lowercase only: one spelling per link.
    const same = read.kind === "public"
      ? link.kind === "public" && read.id === link.id
      : link.kind === "private" && read.shortId === link.shortId;
    if (!same) throw new ShareLinkError("its file ID is not in lowercase");
  } catch (error) {
    throw new TypeError(
      `Cannot make a share link of these values (${(error as Error).message})`,
      { cause: error },
    );
  }
  return text;
}

/**
 * Reads a share link; surrounding whitespace and one `/` at its end are
 * ignored, and the scheme may be in any case, as may a whole public link
 * (its file ID is hex). Throws a {@linkcode ShareLinkError} saying in one
 * sentence what is wrong with it.
 *
 * @example
 * ```ts
 * const link = parseShareLink("p2p://10.0.0.5:5000/v1/pub/" + "ab".repeat(32));
 * link.kind; // "public"
 * ```
 */
export function parseShareLink(text: string): ShareLink {
  const link = withoutTrailingSlash(unwrapped(text));
  checkShape(link);
  const [hosts, version = "", kind = "", ...rest] = link
    .slice(SHARE_LINK_SCHEME.length)
    .split("/");
  if (hosts === "") fail("This share link is cut short: it names no tracker.");
  checkVersion(version);
  const trackers = parseTrackers(hosts);
  checkNoQuery(rest);
  // A link in capitals (a QR code's alphanumeric mode, some chat apps) is
  // the same public link: its ID is hex. A private one's secret is not.
  if (kind.toLowerCase() === "pub") {
    return { version: 1, trackers, kind: "public", id: parsePublic(rest) };
  }
  if (kind === "priv") {
    return { version: 1, trackers, kind: "private", ...parsePrivate(rest) };
  }
  if (kind.toLowerCase() === "priv") {
    fail(
      "This private share link was changed to capital letters, which spoils its secret; copy it exactly as its sharer printed it.",
    );
  }
  if (kind === "") {
    fail(
      "This share link is cut short: it does not say whether the share is public or private.",
    );
  }
  fail(
    `This share link is damaged: ${quote(kind)} should say "pub" or "priv".`,
  );
}

function checkShape(link: string): void {
  if (link === "") fail("The share link is empty.");
  if (!looksLikeShareLink(link)) {
    fail(
      `This is not a share link: a share link starts with "${SHARE_LINK_SCHEME}".`,
    );
  }
  if (link.length > MAX_LINK_CHARS) {
    fail(
      `This share link is too long: a share link has at most ${MAX_LINK_CHARS} characters.`,
    );
  }
  if (!PRINTABLE.test(link)) {
    fail(
      "This share link has spaces or other characters a share link never contains.",
    );
  }
}

function checkVersion(version: string): void {
  if (version === "") {
    fail("This share link is cut short: it ends after the tracker address.");
  }
  const match = VERSION.exec(version);
  if (!match) {
    fail(
      `This share link is damaged: ${
        quote(version)
      } should be its version, like "v${SHARE_LINK_VERSION}".`,
    );
  }
  if (Number(match[1]) > SHARE_LINK_VERSION) {
    fail(
      `This share link is from a newer version of p2p (${version}); upgrade to open it.`,
    );
  }
}

function parsePublic(rest: string[]): string {
  const [id = "", ...extra] = rest;
  if (id === "") fail("This share link is cut short: it has no file part.");
  if (!FULL_ID.test(id)) {
    fail(
      `This share link's file ID is damaged (it should be ${FULL_ID_CHARS} characters of 0-9 and a-f).`,
    );
  }
  checkNoExtra(extra);
  return id.toLowerCase();
}

function parsePrivate(
  rest: string[],
): { secret: Uint8Array; shortId: string } {
  const [secretText = "", shortId = "", ...extra] = rest;
  if (secretText === "") {
    fail("This share link is cut short: it has no secret.");
  }
  const secret = decodeSecret(secretText);
  if (shortId === "") {
    fail("This share link is cut short: it has no file part.");
  }
  if (!SHORT_ID.test(shortId)) {
    fail(
      `This share link's file ID is damaged (it should be ${SHORT_ID_CHARS} characters of 0-9 and a-f).`,
    );
  }
  checkNoExtra(extra);
  return { secret, shortId: shortId.toLowerCase() };
}

/**
 * `link` without one `/` at its end, as a link pasted from a browser or
 * a chat may get; `p2p://` itself keeps its slashes.
 */
function withoutTrailingSlash(link: string): string {
  return link.endsWith("/") && !link.endsWith("//") ? link.slice(0, -1) : link;
}

/** Refuses a query or fragment (`?…`, `#…`) after the link's last part. */
function checkNoQuery(rest: string[]): void {
  const last = rest[rest.length - 1] ?? "";
  const at = last.search(/[?#]/);
  if (at >= 0) {
    fail(
      `This share link has something extra at its end (${
        quote(last.slice(at))
      }).`,
    );
  }
}

function checkNoExtra(extra: string[]): void {
  if (extra.length > 0) {
    fail(
      `This share link has something extra at its end (${
        quote("/" + extra.join("/"))
      }).`,
    );
  }
}

function parseTrackers(hosts: string): ShareLinkTracker[] {
  const entries = hosts.split(",");
  if (entries.length > MAX_LINK_TRACKERS) {
    fail(
      `This share link names too many trackers (at most ${MAX_LINK_TRACKERS}).`,
    );
  }
  return entries.map(parseTracker);
}

function parseTracker(entry: string): ShareLinkTracker {
  if (entry === "") fail("This share link has an empty tracker address.");
  const { host, port, bracketed } = splitHostPort(entry);
  if (bracketed ? !isIpv6(host) : !isLinkHost(host)) {
    fail(
      `This share link's tracker address ${
        quote(entry)
      } has no valid host name or IP address.`,
    );
  }
  const number = PORT.test(port) ? Number(port) : NaN;
  if (!(number >= 1 && number <= 65535)) {
    fail(
      `This share link's tracker address ${
        quote(entry)
      } has no port from 1 to 65535.`,
    );
  }
  return { host, port: number };
}

function splitHostPort(
  entry: string,
): { host: string; port: string; bracketed: boolean } {
  if (entry.startsWith("[")) {
    const close = entry.indexOf("]");
    if (close > 0 && entry[close + 1] === ":") {
      const port = entry.slice(close + 2);
      return { host: entry.slice(1, close), port, bracketed: true };
    }
  } else {
    const colons = entry.split(":").length - 1;
    if (colons === 1) {
      const colon = entry.indexOf(":");
      const port = entry.slice(colon + 1);
      return { host: entry.slice(0, colon), port, bracketed: false };
    }
    if (colons > 1) {
      fail(
        `This share link's tracker address ${
          quote(entry)
        } needs brackets around its IPv6 address, like [::1]:5000.`,
      );
    }
  }
  fail(
    `This share link's tracker address ${
      quote(entry)
    } is not written as HOST:PORT.`,
  );
}

/** An IPv4 address or a DNS host name. */
function isLinkHost(host: string): boolean {
  if (host.length === 0 || host.length > MAX_HOST_CHARS) return false;
  if (isIpv4(host)) return true;
  const labels = host.split(".");
  // A last label of digits would be read as a (bad) IPv4 address.
  return labels.every((label) => LABEL.test(label)) &&
    !DIGITS.test(labels[labels.length - 1]);
}

/** An IPv6 address, without a zone (it would mean nothing elsewhere). */
function isIpv6(host: string): boolean {
  if (!host.includes(":") || !IPV6_CHARS.test(host)) return false;
  try {
    new URL(`http://[${host}]/`);
    return true;
  } catch {
    return false;
  }
}

function formatTracker(tracker: ShareLinkTracker): string {
  return tracker.host.includes(":")
    ? `[${tracker.host}]:${tracker.port}`
    : `${tracker.host}:${tracker.port}`;
}

function encodeSecret(secret: Uint8Array): string {
  return secret.toBase64({ alphabet: "base64url", omitPadding: true });
}

function decodeSecret(text: string): Uint8Array {
  if (!BASE64URL.test(text)) {
    fail(
      `This share link's secret is damaged (it should be ${SECRET_CHARS} letters, digits, "-" or "_").`,
    );
  }
  if (text.length !== SECRET_CHARS) {
    fail(
      `This share link's secret is damaged (it should be ${SECRET_CHARS} characters, not ${text.length}).`,
    );
  }
  try {
    // Strict: the unused low bits of the last character must be zero, so
    // each secret has exactly one spelling.
    const padded = text.padEnd(Math.ceil(text.length / 4) * 4, "=");
    return Uint8Array.fromBase64(padded, {
      alphabet: "base64url",
      lastChunkHandling: "strict",
    });
  } catch {
    // Only its last character can be wrong here: a secret that was never
    // made, most likely mistyped or altered.
    fail(
      "This share link's secret is damaged (its last character is not one a secret can end with); copy the link again.",
    );
  }
}

function quote(value: string): string {
  return JSON.stringify(
    value.length > MAX_QUOTED_CHARS
      ? `${value.slice(0, MAX_QUOTED_CHARS)}…`
      : value,
  );
}

function fail(message: string): never {
  throw new ShareLinkError(message);
}
