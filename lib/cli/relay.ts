/**
 * The relay a `tracker` offers beside itself, for peers behind home routers
 * that cannot reach each other: its flags, starting it, and the line that
 * says where it listens. On by default (on the tracker's port + 1), so that
 * such peers just work; `--no-relay` turns it off. It carries only the
 * peers' end-to-end ciphertext, within a rate and a byte quota per
 * connection (`--relay-limit`, `--relay-quota`) and a total rate.
 *
 * @module
 */

import { type Command, Option } from "commander";
import { asUsage, parseRate } from "./args.ts";
import { parseByteCount, unitsHelp } from "./byte_units.ts";
import { UsageError } from "../app/usage_error.ts";
import { parsePort } from "../net/address.ts";
import { formatAddress } from "../net/connection.ts";
import { formatSize } from "./format.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import {
  type Relay,
  SESSION_QUOTA,
  SESSION_RATE,
  startRelay,
} from "../nat/relay_server.ts";
import type { RelayDesk } from "../tracker/server.ts";

/** The relay's flags, as commander gives them. */
export interface RelayFlags {
  /** False with `--no-relay`. */
  relay: boolean;
  /** `--relay-port`. @default {the tracker's port + 1, or any with port 0} */
  relayPort?: number;
  /** `--relay-limit`: bytes a second per connection, each way. */
  relayLimit?: number;
  /** `--relay-quota`: bytes per connection, both ways together. */
  relayQuota?: number;
}

/** Adds the relay's flags to the `tracker` command. */
export function addRelayFlags(command: Command): Command {
  return command
    .addOption(
      new Option(
        "--relay-port <n>",
        "port of the relay for peers behind routers (default: the tracker's port + 1)",
      ).argParser(asUsage((text) => parsePort(text, "--relay-port"))),
    )
    .addOption(
      new Option(
        "--relay-limit <rate>",
        `bytes a second the relay carries per connection, each way (default ${
          formatSize(SESSION_RATE)
        }/s)`,
      ).argParser(asUsage((text) => parseRate(text, "--relay-limit"))),
    )
    .addOption(
      new Option(
        "--relay-quota <bytes>",
        `bytes the relay carries per connection, then lets what is on its way through and ends it (default ${
          formatSize(SESSION_QUOTA)
        })`,
      ).argParser(asUsage(parseQuota)),
    )
    .option(
      "--no-relay",
      "offer no relay: peers behind routers stay unreachable",
    );
}

/** The relay's port as asked: `--relay-port`, else the tracker's + 1 (0: any). */
export function relayPortOf(
  flags: Pick<RelayFlags, "relayPort"> & { port: number },
): number {
  return flags.relayPort ?? (flags.port === 0 ? 0 : flags.port + 1);
}

/**
 * Starts the relay on `host` (or nothing with `--no-relay`); throws a
 * `ListenError` naming the address if it cannot listen.
 */
export function startTrackerRelay(
  flags: RelayFlags & { host: string; port: number },
  log?: (line: string) => void,
): Relay | undefined {
  if (!flags.relay) return undefined;
  return startRelay({
    host: flags.host,
    port: relayPortOf(flags),
    sessionRate: flags.relayLimit,
    sessionQuota: flags.relayQuota,
    log: log && ((line) => log(`Relay: ${line}`)),
  });
}

/** What the tracker needs of `relay`. */
export function relayDesk(relay: Relay): RelayDesk {
  return {
    port: relay.address.port,
    expect: (token, ends) => relay.expect(token, ends),
  };
}

/** The line that says where the relay listens, and its limits. */
export function relayLine(relay: Relay, flags: RelayFlags): string {
  return `Relay listening on ${formatAddress(relay.address)} (up to ${
    formatSize(flags.relayLimit ?? SESSION_RATE)
  }/s and ${formatSize(flags.relayQuota ?? SESSION_QUOTA)} per connection)`;
}

/**
 * Parses `--relay-quota`: bytes with an optional K, M, G or T (powers of
 * 1024) or KB, MB, GB or TB (powers of 1000), at least 1M.
 *
 * @example
 * ```ts
 * parseQuota("4G"); // 4294967296
 * ```
 */
export function parseQuota(text: string): number {
  const bytes = parseByteCount(text, { units: "KMGT" });
  if (!(bytes >= 1024 ** 2 && bytes <= Number.MAX_SAFE_INTEGER)) {
    throw new UsageError(
      `Cannot use "${
        terminalSafe(text)
      }" for --relay-quota: give bytes, at least 1M, with an optional ${
        unitsHelp("KMGT")
      }, like 4G.`,
    );
  }
  return bytes;
}
