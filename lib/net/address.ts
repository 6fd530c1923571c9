/**
 * Parsing the `HOST:PORT` addresses users type for `--tracker` and
 * `P2P_TRACKER`.
 *
 * @module
 */

import type { Address } from "./connection.ts";

/** Host used when the user types only `:PORT`. */
export const DEFAULT_HOST = "127.0.0.1";

const HOST_CHARS = /^[A-Za-z0-9._%-]+$/;
const IPV6_CHARS = /^[0-9A-Fa-f:.%A-Za-z]+$/;
const DIGITS = /^[0-9]+$/;

/**
 * Parses `host:port`, `host`, `:port`, `[::1]:5000`, `[::1]` or a bare IPv6
 * address into an {@linkcode Address}; a missing port is `defaultPort`.
 * Throws a `TypeError` whose message is a sentence for the user.
 *
 * @example
 * ```ts
 * parseAddress("10.0.0.5", 5000); // { host: "10.0.0.5", port: 5000 }
 * parseAddress("[::1]:7000", 5000); // { host: "::1", port: 7000 }
 * ```
 */
export function parseAddress(text: string, defaultPort: number): Address {
  const trimmed = text.trim();
  const { host, port } = splitHostPort(trimmed);
  if (host !== "" && !isValidHost(host)) {
    throw new TypeError(
      `Cannot use "${trimmed}" as an address: "${host}" is not a host name or IP address.`,
    );
  }
  return {
    host: host === "" ? DEFAULT_HOST : host,
    port: port === undefined ? defaultPort : portOf(port, `"${trimmed}"`),
  };
}

/**
 * Parses a TCP port number (0 to 65535; 0 asks for a free port). Throws a
 * `TypeError` whose message is a sentence for the user, naming the port as
 * `what` (the flag it came from, say).
 */
export function parsePort(text: string, what = "the port"): number {
  return portOf(text.trim(), what);
}

function splitHostPort(text: string): { host: string; port?: string } {
  if (text === "") {
    throw new TypeError("The address is empty: give it as HOST:PORT.");
  }
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    const rest = text.slice(close + 1);
    if (close < 0 || (rest !== "" && !rest.startsWith(":"))) {
      throw new TypeError(
        `Cannot use "${text}" as an address: write IPv6 addresses as [ADDRESS]:PORT.`,
      );
    }
    return {
      host: text.slice(1, close),
      port: rest ? rest.slice(1) : undefined,
    };
  }
  const colons = text.split(":").length - 1;
  if (colons > 1) return { host: text }; // a bare IPv6 address
  if (colons === 0) return { host: text };
  const colon = text.indexOf(":");
  return { host: text.slice(0, colon), port: text.slice(colon + 1) };
}

/**
 * True when `host` is written like a host name or an IP address (letters,
 * digits, dots, dashes; colons for IPv6), whether or not it resolves.
 *
 * @example
 * ```ts
 * isValidHost("10.0.0.5"); // true
 * isValidHost("not a host!"); // false
 * ```
 */
export function isValidHost(host: string): boolean {
  if (host === "") return false;
  if (host.length > 253) return false;
  return host.includes(":") ? IPV6_CHARS.test(host) : HOST_CHARS.test(host);
}

function portOf(port: string, what: string): number {
  const value = DIGITS.test(port) ? Number(port) : NaN;
  if (!(value >= 0 && value <= 65535)) {
    throw new TypeError(
      `Cannot use ${what}: "${port}" is not a port number from 0 to 65535.`,
    );
  }
  return value;
}

/**
 * The addresses other peers may know a listener at `own` by: itself, and
 * the loopback addresses when it listens on every interface. A download
 * never connects to these (it would be talking to itself).
 */
export function selfAddresses(own: Address): Address[] {
  const wildcard = own.host === "0.0.0.0" || own.host === "::";
  return wildcard
    ? [own, { host: "127.0.0.1", port: own.port }, {
      host: "::1",
      port: own.port,
    }]
    : [own];
}

/**
 * An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a dual-stack socket
 * reports for an IPv4 peer) as plain IPv4; any other host as it is. Limits
 * per address count both spellings as one.
 */
export function unmapIPv4(host: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return mapped ? mapped[1] : host;
}

/** Whether `host` names this machine only: `localhost`, 127.0.0.0/8 or `::1`. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(unmapIPv4(bare));
}
