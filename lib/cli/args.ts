/**
 * Checking the values users type on the command line and at the prompt:
 * file IDs, piece sizes, search text, the tracker address, the host to
 * listen on, the DHT's bootstrap nodes. Each parser is a pure
 * function that throws a {@linkcode UsageError} with a sentence for the
 * user, before anything touches the network.
 *
 * @module
 */

import type { Address } from "../net/connection.ts";
import { isValidHost, parseAddress } from "../net/address.ts";
import { MAX_LINK_TRACKERS } from "../protocol/share_link.ts";
import {
  DEFAULT_PIECE_SIZE,
  DEFAULT_TRACKER,
  DEFAULT_TRACKER_PORT,
  MAX_PIECE_SIZE,
  MIN_PIECE_SIZE,
  TRACKER_ENV,
} from "../protocol/limits.ts";
import { formatSize, formatSpeed } from "./format.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { UsageError } from "../app/usage_error.ts";
import { MAX_BANDWIDTH_LIMIT, MIN_BANDWIDTH_LIMIT } from "../util/bandwidth.ts";
import { MAX_UPLOAD_SLOTS } from "../swarm/upload_slots.ts";
import { checkSearchText } from "../discovery/tracker_client.ts";
import { bootstrapNode } from "../discovery/dht.ts";
import { isIpv4 } from "../util/ipv4.ts";
import { parseByteCount, unitsHelp } from "./byte_units.ts";

/** Exit code for a command line the program cannot use. */
export const USAGE_EXIT_CODE = 2;

/**
 * Parses a piece size: whole bytes, or with a unit (`256K`, `1M`, `1MiB`;
 * `1MB` is 1 000 000 bytes: see `parseByteCount`), within the protocol's
 * limits.
 */
export function parsePieceSize(text: string): number {
  const size = parseByteCount(text, { fractions: false });
  if (!(size >= MIN_PIECE_SIZE && size <= MAX_PIECE_SIZE)) {
    throw new UsageError(
      `Cannot use "${
        terminalSafe(text)
      }" as a piece size: give bytes or a size like 256K, from ${
        formatSize(MIN_PIECE_SIZE)
      } to ${formatSize(MAX_PIECE_SIZE)}, with an optional ${unitsHelp()}.`,
    );
  }
  return size;
}

/**
 * Parses a bandwidth limit in bytes a second: a number with an optional K,
 * M or G (powers of 1024), KB, MB or GB (powers of 1000), and `/s`, e.g.
 * `16M`, `1.5M` or `10MB/s`. `flag` names the option in the error.
 *
 * @example
 * ```ts
 * parseRate("16M"); // 16777216
 * parseRate("10MB"); // 10000000
 * ```
 */
export function parseRate(text: string, flag = "a bandwidth limit"): number {
  const rate = parseByteCount(text, { perSecond: true });
  if (rate > MAX_BANDWIDTH_LIMIT) {
    throw new UsageError(
      `Cannot use "${terminalSafe(text)}" for ${flag}: the most it takes is ${
        MAX_BANDWIDTH_LIMIT / 1024 ** 3
      }G; leave the flag out for no limit.`,
    );
  }
  if (!(rate >= MIN_BANDWIDTH_LIMIT)) {
    throw new UsageError(
      `Cannot use "${
        terminalSafe(text)
      }" for ${flag}: give bytes per second, at least ${
        MIN_BANDWIDTH_LIMIT / 1024
      }K, with an optional ${unitsHelp()}, like 16M.`,
    );
  }
  return rate;
}

/**
 * The lowest `--upload-limit` taken without a warning, in bytes a second,
 * for pieces of DEFAULT_PIECE_SIZE (256 KiB; in proportion for others):
 * under it a downloader still gets every piece (a limited sharer sends each
 * one as the limit allows, `lib/net/pace.ts`, so its bytes keep moving and
 * it is not taken for stalled), but one piece every 4 s or more. A lower
 * limit (down to MIN_BANDWIDTH_LIMIT) is taken, with a warning.
 */
export const SLOW_UPLOAD_LIMIT = 64 * 1024;

/**
 * The lowest `--download-limit` taken without a warning, in bytes a
 * second: a download under it still finishes (the downloader itself holds
 * back, no peer drops it), but it gets a 256 KiB piece (the usual size)
 * only every 4 s or more, and its progress moves a piece at a time.
 */
export const SLOW_DOWNLOAD_LIMIT = 64 * 1024;

/**
 * The warning, one sentence, for an `--upload-limit` of `rate` under
 * {@linkcode SLOW_UPLOAD_LIMIT} (scaled to `pieceSize`); undefined for one
 * fast enough.
 *
 * @example
 * ```ts
 * slowUploadWarning(8 * 1024);
 * // "Warning: --upload-limit 8.0 KiB/s is very low: a 256 KiB piece takes 32 s …"
 * slowUploadWarning(16 * 1024 ** 2); // undefined
 * ```
 */
export function slowUploadWarning(
  rate: number,
  pieceSize = DEFAULT_PIECE_SIZE,
): string | undefined {
  const least = Math.ceil(SLOW_UPLOAD_LIMIT * pieceSize / DEFAULT_PIECE_SIZE);
  if (rate >= least) return undefined;
  return `Warning: --upload-limit ${formatSpeed(rate)} is very low: a ${
    formatSize(pieceSize)
  } piece takes ${
    Math.round(pieceSize / rate)
  } s to send at that rate, so downloaders get each piece from this peer that slowly; give at least ${
    Math.ceil(least / 1024)
  }K for steady progress.`;
}

/**
 * The warning, one sentence, for a `--download-limit` of `rate` under
 * {@linkcode SLOW_DOWNLOAD_LIMIT}; undefined for one fast enough.
 *
 * @example
 * ```ts
 * slowDownloadWarning(10 * 1024);
 * // "Warning: --download-limit 10.0 KiB/s is very low: a 256 KiB piece … takes 26 s …"
 * ```
 */
export function slowDownloadWarning(rate: number): string | undefined {
  if (rate >= SLOW_DOWNLOAD_LIMIT) return undefined;
  return `Warning: --download-limit ${formatSpeed(rate)} is very low: a ${
    formatSize(DEFAULT_PIECE_SIZE)
  } piece (the usual size) takes ${
    Math.round(DEFAULT_PIECE_SIZE / rate)
  } s to arrive at that rate, so the download moves a piece at a time, that far apart; give at least ${
    SLOW_DOWNLOAD_LIMIT / 1024
  }K for steady progress.`;
}

/**
 * Parses `--upload-slots`: how many downloaders are uploaded to at once, a
 * whole number from 1 to MAX_UPLOAD_SLOTS. Throws a {@linkcode UsageError}.
 */
export function parseUploadSlots(text: string): number {
  const slots = /^[0-9]+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(slots >= 1 && slots <= MAX_UPLOAD_SLOTS)) {
    throw new UsageError(
      `Cannot use "${
        terminalSafe(text)
      }" for --upload-slots: give a whole number from 1 to ${MAX_UPLOAD_SLOTS}.`,
    );
  }
  return slots;
}

/** Options for {@linkcode parseSearchText}. */
export interface SearchTextOptions {
  /** The command that lists every file, named when the text is empty. @default {"peer list"} */
  listCommand?: string;
}

/**
 * Checks the text of a search before the tracker is contacted: something
 * besides spaces (an empty search would list every file: that is what
 * `listCommand` is for), and at most MAX_SEARCH_CHARS characters, the most
 * a tracker accepts. Throws a {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * parseSearchText("holiday photos"); // "holiday photos"
 * parseSearchText("  "); // throws UsageError: "Give some text to search for, …"
 * ```
 */
export function parseSearchText(
  text: string,
  options: SearchTextOptions = {},
): string {
  if (text.trim() === "") {
    throw new UsageError(
      `Give some text to search for, or use '${
        options.listCommand ?? "peer list"
      }' to see every file.`,
    );
  }
  try {
    checkSearchText(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return text;
}

/**
 * Checks the value of `--host` (the address to listen on): an IP address
 * or a host name, written as one. Digits and dots alone must be an IPv4
 * address (four numbers 0 to 255): no host name ends in a number, so
 * `999.1.1.1` is a mistake, not a name to look up. Whether it is an
 * address of this machine is only known when listening. Throws a
 * {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * parseHost("0.0.0.0"); // "0.0.0.0"
 * parseHost("[::1]"); // "::1"
 * parseHost("not a host!"); // throws UsageError
 * parseHost("999.1.1.1"); // throws UsageError
 * ```
 */
export function parseHost(text: string): string {
  const trimmed = text.trim();
  // `[::1]`, as in addresses with a port, is the IPv6 address ::1.
  const bracketed = /^\[(.*)\]$/.exec(trimmed);
  const host = bracketed ? bracketed[1] : trimmed;
  if (
    !isValidHost(host) || (bracketed && !host.includes(":")) ||
    (/^[0-9.]+$/.test(host) && !isIpv4(host))
  ) {
    throw new UsageError(
      `Cannot use "${
        terminalSafe(text)
      }" for --host: it is not an IP address (four numbers from 0 to 255, like 192.168.1.20) or a host name; give an address such as 0.0.0.0 (all addresses) or 127.0.0.1.`,
    );
  }
  return host;
}

/**
 * Parses `--dht-bootstrap`: DHT nodes as `HOST:PORT`, separated by commas,
 * each an IPv4 address or a name (the DHT is IPv4 only) with a port from 1
 * to 65535. Empty entries are skipped, so `""` is no bootstrap node at all
 * (the DHT then starts from the nodes saved from the last run). Throws a
 * {@linkcode UsageError} naming the first entry that is not a node.
 *
 * @example
 * ```ts
 * parseDhtBootstrap("10.0.0.5:6881, dht.example.org:6881");
 * // ["10.0.0.5:6881", "dht.example.org:6881"]
 * parseDhtBootstrap("[::1]:6881"); // throws UsageError
 * ```
 */
export function parseDhtBootstrap(text: string): string[] {
  const nodes = text.split(",").map((node) => node.trim()).filter(Boolean);
  for (const node of nodes) {
    try {
      bootstrapNode(node);
    } catch {
      throw new UsageError(
        `Cannot use "${
          terminalSafe(node)
        }" for --dht-bootstrap: give each node as HOST:PORT, HOST an IPv4 address or a name (the DHT has no IPv6) and PORT from 1 to 65535, separated by commas.`,
      );
    }
  }
  return nodes;
}

/** Where the tracker address may come from, most important first. */
export interface TrackerSources {
  /** The value of `--tracker`, if given. */
  flag?: string;
  /** The value of the {@linkcode TRACKER_ENV} environment variable, if set. */
  env?: string;
}

/**
 * Picks the tracker addresses: `--tracker`, else the environment variable
 * `P2P_TRACKER`, else `127.0.0.1:5000`. Several may be given, separated by
 * commas (as a link names them), each once, at most `MAX_LINK_TRACKERS`;
 * a missing port means 5000.
 */
export function resolveTrackers(
  sources: TrackerSources,
): [Address, ...Address[]] {
  const env = sources.env?.trim() ? sources.env : undefined;
  const text = sources.flag ?? env ?? DEFAULT_TRACKER;
  const from = sources.flag !== undefined
    ? "--tracker"
    : env !== undefined
    ? TRACKER_ENV
    : "the default tracker";
  const words = text.split(",").map((word) => word.trim());
  if (words.length > 1 && words.includes("")) {
    throw new UsageError(
      `${from} has a comma with no tracker after or before it: give trackers as HOST:PORT,HOST:PORT.`,
    );
  }
  if (words.length > MAX_LINK_TRACKERS) {
    throw new UsageError(
      `${from} names ${words.length} trackers; at most ${MAX_LINK_TRACKERS} can be used together.`,
    );
  }
  const addresses: Address[] = [];
  for (const word of words) {
    let address: Address;
    try {
      address = parseAddress(word, DEFAULT_TRACKER_PORT);
    } catch (error) {
      const message = (error as Error).message.replace(/\.$/, "");
      throw new UsageError(`${message} (set by ${from}).`);
    }
    // No host name ends in a number: `5000` or `10.0.0` is a mistake, not
    // a name to look up (as with --host).
    if (/^[0-9.]+$/.test(address.host) && !isIpv4(address.host)) {
      throw new UsageError(
        `Cannot use "${
          terminalSafe(word)
        }" as a tracker's address: "${address.host}" is not an IP address (four numbers from 0 to 255) or a host name; give HOST:PORT, like 10.0.0.5:5000 (set by ${from}).`,
      );
    }
    // Two colons or more read as a bare IPv6 address: `bad:host:port` is
    // a mistake, not an address to connect to.
    if (address.host.includes(":") && !isIpv6(address.host)) {
      throw new UsageError(
        `Cannot use "${
          terminalSafe(word)
        }" as a tracker's address: give HOST:PORT, like 10.0.0.5:5000, or an IPv6 address as [ADDRESS]:PORT (set by ${from}).`,
      );
    }
    const key = `${address.host}:${address.port}`;
    if (!addresses.some((a) => `${a.host}:${a.port}` === key)) {
      addresses.push(address);
    }
  }
  return addresses as [Address, ...Address[]];
}

/** True for an IPv6 address, with or without a zone (`fe80::1%eth0`). */
function isIpv6(host: string): boolean {
  try {
    new URL(`http://[${host.split("%")[0]}]/`);
    return true;
  } catch {
    return false;
  }
}

/** The first of {@linkcode resolveTrackers}: the tracker a command uses first. */
export function resolveTracker(sources: TrackerSources): Address {
  return resolveTrackers(sources)[0];
}

/** Turns a `TypeError` thrown by a value parser into a {@linkcode UsageError}. */
export function asUsage<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(
        error instanceof Error ? error.message : String(error),
      );
    }
  };
}
