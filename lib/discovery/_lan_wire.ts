/**
 * The wire of LAN discovery: BEP 14 (Local Service Discovery)
 * announcements, encoded and strictly decoded as pure code, and the
 * multicast socket they travel on, joined and left. A datagram is bytes
 * from anyone on the LAN, so decoding reads nothing past
 * {@linkcode MAX_DATAGRAM_BYTES}, accepts only the headers it knows, each
 * once (an Infohash line up to {@linkcode MAX_KEYS_PER_MESSAGE} times),
 * and answers `undefined` for anything else; it never throws.
 *
 * ```text
 * BT-SEARCH * HTTP/1.1\r\n
 * Host: 239.192.152.143:6771\r\n
 * Port: 6000\r\n
 * Infohash: <40 hex>\r\n      (one line per key)
 * cookie: <the sender's cookie>\r\n
 * \r\n
 * \r\n
 * ```
 *
 * @module
 */

import { createSocket, type Socket } from "node:dgram";
import { settleWithin } from "../util/settle_within.ts";

/** Largest datagram decoded; a larger one is dropped unread. */
export const MAX_DATAGRAM_BYTES = 1400;
/**
 * Most keys (Infohash lines) in one datagram: 20 lines of 52 bytes, with
 * the other lines at their longest, stay under {@linkcode MAX_DATAGRAM_BYTES}.
 */
export const MAX_KEYS_PER_MESSAGE = 20;
/** Most characters of a cookie (printable ASCII). */
export const MAX_COOKIE_CHARS = 64;

/** Most ms {@linkcode leaveGroup} waits for the socket to close. */
export const SOCKET_CLOSE_TIMEOUT_MS = 1_000;

/** One announcement: "the peer at `port` has (or wants) `keys`". */
export interface LanMessage {
  /** The Host header: the group and UDP port, as `239.192.152.143:6771`. */
  host: string;
  /** The sender's TCP port (1..65535). */
  port: number;
  /** Keys announced: 40 lowercase hex each, 1 to MAX_KEYS_PER_MESSAGE. */
  keys: string[];
  /** The sender's cookie, by which it knows its own datagrams. */
  cookie: string;
}

const FIRST_LINE = "BT-SEARCH * HTTP/1.1\r\n";
const HEAD_END = "\r\n\r\n";
const KEY = /^[0-9a-fA-F]{40}$/;
const HOST = /^\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$/;
const PORT = /^\d{1,5}$/;
const COOKIE = new RegExp(`^[\\x21-\\x7e]{1,${MAX_COOKIE_CHARS}}$`);
/** `Name: value`, the name letters and dashes, spaces or tabs around the value. */
const HEADER = /^([A-Za-z-]{1,32}):[ \t]*([\x20-\x7e]*?)[ \t]*$/;
/** Most header lines a well-formed datagram has: Host, Port, cookie, keys. */
const MAX_HEADER_LINES = 3 + MAX_KEYS_PER_MESSAGE;

/**
 * The datagram announcing `message`. Throws a RangeError if it is not one
 * {@linkcode decodeLanMessage} would accept back (a bad key, port, cookie,
 * or too many keys).
 *
 * @example
 * ```ts
 * const bytes = encodeLanMessage({
 *   host: "239.192.152.143:6771", port: 6000, keys: [key], cookie,
 * });
 * ```
 */
export function encodeLanMessage(message: LanMessage): Uint8Array {
  const { host, port, keys, cookie } = message;
  if (!HOST.test(host)) {
    throw new RangeError(`LAN message host "${host}" is not "IPv4:port".`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`LAN message port ${port} is not from 1 to 65535.`);
  }
  if (keys.length < 1 || keys.length > MAX_KEYS_PER_MESSAGE) {
    throw new RangeError(
      `A LAN message carries 1 to ${MAX_KEYS_PER_MESSAGE} keys, not ${keys.length}.`,
    );
  }
  const bad = keys.find((key) => !KEY.test(key));
  if (bad !== undefined) {
    throw new RangeError(`LAN message key "${bad}" is not 40 hex digits.`);
  }
  if (!COOKIE.test(cookie)) {
    throw new RangeError(
      `LAN message cookie must be 1 to ${MAX_COOKIE_CHARS} printable ASCII characters.`,
    );
  }
  const lines = [
    `Host: ${host}`,
    `Port: ${port}`,
    ...keys.map((key) => `Infohash: ${key.toLowerCase()}`),
    `cookie: ${cookie}`,
  ];
  return new TextEncoder().encode(
    `${FIRST_LINE}${lines.join("\r\n")}\r\n\r\n\r\n`,
  );
}

/**
 * The announcement in `bytes`, or undefined if they are not exactly one
 * (too long, not ASCII, another first line, an unknown or repeated header,
 * a missing one, a bad port, key or cookie). Keys come back lowercase,
 * each once. Never throws.
 */
export function decodeLanMessage(bytes: Uint8Array): LanMessage | undefined {
  if (bytes.length > MAX_DATAGRAM_BYTES || !printable(bytes)) return undefined;
  const text = String.fromCharCode(...bytes);
  if (!text.startsWith(FIRST_LINE)) return undefined;
  const end = text.indexOf(HEAD_END, FIRST_LINE.length - 2);
  if (end < FIRST_LINE.length) return undefined; // no headers, or no end
  // BEP 14 ends with an empty body and one more CRLF; some senders omit it.
  const rest = text.slice(end + HEAD_END.length);
  if (rest !== "" && rest !== "\r\n") return undefined;
  const lines = text.slice(FIRST_LINE.length, end).split("\r\n");
  if (lines.length > MAX_HEADER_LINES) return undefined;
  return fromHeaders(lines);
}

/** The message in header `lines`, or undefined if they are not one. */
function fromHeaders(lines: string[]): LanMessage | undefined {
  let host: string | undefined;
  let port: string | undefined;
  let cookie: string | undefined;
  const keys = new Set<string>();
  for (const line of lines) {
    const match = HEADER.exec(line);
    if (!match) return undefined;
    const value = match[2];
    switch (match[1].toLowerCase()) {
      case "host":
        if (host !== undefined || !HOST.test(value)) return undefined;
        host = value;
        break;
      case "port":
        if (port !== undefined || !PORT.test(value)) return undefined;
        port = value;
        break;
      case "cookie":
        if (cookie !== undefined || !COOKIE.test(value)) return undefined;
        cookie = value;
        break;
      case "infohash":
        if (!KEY.test(value)) return undefined;
        keys.add(value.toLowerCase());
        break;
      default:
        return undefined;
    }
  }
  const portNumber = Number(port);
  if (host === undefined || cookie === undefined || keys.size === 0) {
    return undefined;
  }
  if (!(portNumber >= 1 && portNumber <= 65535)) return undefined;
  return { host, port: portNumber, keys: [...keys], cookie };
}

/** Whether every byte is printable ASCII, a tab, CR or LF. */
function printable(bytes: Uint8Array): boolean {
  for (const byte of bytes) {
    if (byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    if (byte < 0x20 || byte > 0x7e) return false;
  }
  return true;
}

/**
 * `key` in lowercase; a TypeError if it is not a key (40 hex digits, the
 * 20 bytes of an Infohash line).
 */
export function checkKey(key: string): string {
  if (!KEY.test(key)) {
    throw new TypeError(`LAN discovery key "${key}" is not 40 hex digits.`);
  }
  return key.toLowerCase();
}

/** A random cookie: 32 hex digits. */
export function newCookie(): string {
  const random = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A multicast group to join: its address, UDP port, and interface. */
export interface GroupAddress {
  /** The IPv4 multicast group. */
  group: string;
  /** Its UDP port. */
  udpPort: number;
  /** The local IPv4 address whose interface to use. @default {the route to 224.0.0.0/4} */
  interface?: string;
}

/**
 * A socket joined to `where`: one hop (TTL 1), looping back to this host
 * (so that two peers on it find each other), not holding the process
 * open. Rejects with what failed (no route for multicast, no such
 * interface, not permitted).
 */
export async function joinGroup(where: GroupAddress): Promise<Socket> {
  const { group, udpPort, interface: iface } = where;
  let lastError: unknown;
  // The group's own address lets in only its datagrams (Linux, BSD);
  // elsewhere binding it fails and any address will do.
  for (const address of [group, "0.0.0.0"]) {
    const socket = createSocket({ type: "udp4", reuseAddr: true });
    try {
      await bind(socket, udpPort, address);
      socket.addMembership(group, iface);
      socket.setMulticastTTL(1);
      socket.setMulticastLoopback(true);
      if (iface) socket.setMulticastInterface(iface);
      socket.unref();
      return socket;
    } catch (error) {
      lastError = error;
      await closeSocket(socket);
    }
  }
  throw lastError;
}

/**
 * Leaves the group and closes `socket`, waiting at most
 * SOCKET_CLOSE_TIMEOUT_MS; never throws.
 */
export async function leaveGroup(
  socket: Socket,
  where: GroupAddress,
): Promise<void> {
  try {
    socket.dropMembership(where.group, where.interface);
  } catch {
    // Left already (the interface went away): closing leaves it anyway.
  }
  await closeSocket(socket);
}

function bind(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ port, address }, () => {
      socket.off("error", reject);
      resolve();
    });
  });
}

async function closeSocket(socket: Socket): Promise<void> {
  await settleWithin(
    new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve(); // never bound, or closed already
      }
    }),
    SOCKET_CLOSE_TIMEOUT_MS,
  );
}
