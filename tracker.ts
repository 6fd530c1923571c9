/**
 * `tracker`: knows which peers share which files. Listens until Ctrl-C or
 * SIGTERM.
 *
 * ```sh
 * deno run --allow-net tracker.ts --port 5000 --host 0.0.0.0
 * deno run --allow-net --allow-read --allow-write tracker.ts --secret-file team.secret
 * deno run --allow-net tracker.ts --metrics-port 9100   # Prometheus /metrics on 127.0.0.1
 * ```
 *
 * @module
 */

import { enterUserFolder } from "./lib/cli/user_folder.ts";
import { Option } from "commander";
import { asUsage, parseHost, USAGE_EXIT_CODE } from "./lib/cli/args.ts";
import { UsageError } from "./lib/app/usage_error.ts";
import {
  addOutputFlags,
  createProgram,
  type OutputFlags,
  portOption,
} from "./lib/cli/program.ts";
import { explainError } from "./lib/cli/errors.ts";
import { type Address, formatAddress } from "./lib/net/connection.ts";
import { localAddresses } from "./lib/net/local_addresses.ts";
import { logTime } from "./lib/cli/log_time.ts";
import { parsePort } from "./lib/net/address.ts";
import { ListenError } from "./lib/net/listener.ts";
import {
  DEFAULT_TRACKER_PORT,
  TEAM_SECRET_ENV,
} from "./lib/protocol/limits.ts";
import { startTracker, type TrackerServer } from "./lib/tracker/server.ts";
import { DEFAULT_METRICS_HOST } from "./lib/tracker/metrics_server.ts";
import { terminalSafe } from "./lib/util/terminal_safe.ts";
import { listenForStop } from "./lib/cli/stop_signal.ts";
import { trackerTeamKey } from "./lib/cli/team_secret.ts";
import {
  addRelayFlags,
  relayDesk,
  type RelayFlags,
  relayLine,
  relayPortOf,
  startTrackerRelay,
} from "./lib/cli/relay.ts";
import type { Relay } from "./lib/nat/relay_server.ts";

interface TrackerFlags extends OutputFlags, RelayFlags {
  port: number;
  host: string;
  secretFile?: string;
  metricsPort?: number;
  metricsHost?: string;
}

async function main(args: string[]): Promise<number> {
  const program = addOutputFlags(addRelayFlags(
    createProgram("tracker", {
      description: "Run a tracker: it tells peers who shares which file.",
      epilog:
        `Stop it with Ctrl-C. Peers find it with --tracker HOST:PORT or P2P_TRACKER.\nWith --secret-file, only peers holding the same secret (peer --secret-file, or\n${TEAM_SECRET_ENV} set to the secret) get an answer.`,
    })
      .addOption(
        portOption(
          "port to listen on (0 picks a free one)",
          DEFAULT_TRACKER_PORT,
        ),
      )
      .addOption(
        new Option("--host <address>", "address to listen on")
          .default("0.0.0.0")
          .argParser(asUsage(parseHost)),
      )
      .option(
        "--secret-file <path>",
        "require the team secret in this file from every peer (a new one is written there, mode 600, if there is no such file)",
      )
      .addOption(
        new Option(
          "--metrics-port <n>",
          "also serve the load as Prometheus text on http://HOST:PORT/metrics (0 picks a free port)",
        ).argParser(asUsage((text) => parsePort(text, "--metrics-port"))),
      )
      .addOption(
        new Option(
          "--metrics-host <address>",
          `address the metrics listen on (default ${DEFAULT_METRICS_HOST}: this machine only)`,
        ).argParser(asUsage(parseMetricsHost)),
      ),
  ));
  program.action(async (flags: TrackerFlags) => await serve(flags));
  try {
    // A relative --secret-file means the folder the command was typed in.
    enterUserFolder();
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (error) {
    return report(error, args.includes("--verbose") || args.includes("-v"));
  }
}

async function serve(flags: TrackerFlags): Promise<void> {
  const toStderr = (line: string) => console.error(terminalSafe(line));
  // As the peer's --verbose lines: each after the local time.
  const log = flags.verbose
    ? (line: string) => toStderr(`${logTime(new Date())} ${line}`)
    : undefined;
  checkRelayFlags(flags);
  const teamPsk = teamKey(flags.secretFile);
  const relay = startRelay(flags, log);
  let tracker: TrackerServer;
  try {
    // Running out of file descriptors is told at any verbosity.
    tracker = listen(flags, { log, warn: log ?? toStderr, teamPsk, relay });
  } catch (error) {
    await relay?.close();
    throw error;
  }
  console.log(`Tracker listening on ${formatAddress(tracker.address)}`);
  const reach = reachLine(tracker.address);
  if (reach && !flags.quiet) console.log(reach);
  if (relay) console.log(relayLine(relay, flags));
  if (tracker.metricsUrl) console.log(`Metrics on ${tracker.metricsUrl}`);
  using stop = listenForStop();
  await stop.stopped;
  if (!flags.quiet) console.error("Stopping tracker.");
  await tracker.close();
  await relay?.close();
}

/**
 * The team key from `--secret-file`, if given; a file made now is
 * announced, since every peer needs a copy of it.
 */
function teamKey(path: string | undefined): Uint8Array | undefined {
  if (path === undefined) return undefined;
  const { psk, created } = trackerTeamKey(path);
  if (created) {
    console.log(
      `Created the team secret file ${
        terminalSafe(path)
      }: peers need a copy of it (peer --secret-file PATH) or ${TEAM_SECRET_ENV} set to the secret in it.`,
    );
  }
  return psk;
}

/**
 * For a tracker on every address, the addresses peers on other machines
 * give as `--tracker` (when this machine's interfaces may be listed).
 */
function reachLine(address: Address): string | undefined {
  const hosts = localAddresses(address.host);
  if (hosts.length === 0) return undefined;
  const [first, ...others] = hosts.map((host) =>
    formatAddress({ host, port: address.port })
  );
  const or = others.length > 0 ? ` (or ${others.join(", ")})` : "";
  return `Peers on other machines use --tracker ${first}${or}`;
}

/** Starts the tracker; a failure to listen names the address asked for. */
function listen(
  flags: TrackerFlags,
  options: {
    log?: (line: string) => void;
    warn?: (line: string) => void;
    teamPsk?: Uint8Array;
    relay?: Relay;
  },
): TrackerServer {
  const { relay, ...rest } = options;
  const metrics = metricsOption(flags);
  try {
    return startTracker({
      host: flags.host,
      port: flags.port,
      ...rest,
      relay: relay && { ...relayDesk(relay), stats: () => relay.stats() },
      metrics,
    });
  } catch (error) {
    if (error instanceof ListenError) {
      const { host, port } = error.address;
      const mine = host === flags.host && port === flags.port;
      if (!mine && host === metrics?.host && port === metrics.port) {
        throw new MetricsListenError(error.address, error.cause);
      }
      throw error;
    }
    throw new ListenError({ host: flags.host, port: flags.port }, error);
  }
}

/**
 * Listening on `--metrics-host`:`--metrics-port` failed: explained as a
 * failure on `--host`:`--port` is, with the metrics flags named instead.
 */
class MetricsListenError extends ListenError {}

/**
 * Listening on the relay's port (`--relay-port`, else the tracker's port
 * + 1) failed: explained with the relay's flags.
 */
class RelayListenError extends ListenError {
  /** True if the port came from `--relay-port`, not the tracker's + 1. */
  chosen = false;
}

/** The error listening on `host`:`port` meets now, if it is in use. */
function portInUse(host: string, port: number): Error | undefined {
  if (port === 0) return undefined;
  try {
    Deno.listen({ hostname: host, port }).close();
    return undefined;
  } catch (error) {
    return error instanceof Deno.errors.AddrInUse ? error : undefined;
  }
}

/** Refuses relay flags that cannot be used, before anything is started or written. */
function checkRelayFlags(flags: TrackerFlags): void {
  const { relayPort, port } = flags;
  if (!flags.relay) {
    const given = relayPort !== undefined
      ? "--relay-port"
      : flags.relayLimit !== undefined
      ? "--relay-limit"
      : flags.relayQuota !== undefined
      ? "--relay-quota"
      : undefined;
    if (given) {
      throw new UsageError(
        `${given} and --no-relay do not go together: leave out one of them.`,
      );
    }
  }
  if (relayPort !== undefined && relayPort !== 0 && relayPort === port) {
    throw new UsageError(
      `Cannot use port ${relayPort} for --relay-port: the tracker listens there; choose another.`,
    );
  }
}

/** The relay beside the tracker; a port it cannot have is the relay's to explain. */
function startRelay(
  flags: TrackerFlags,
  log?: (line: string) => void,
): Relay | undefined {
  const { relayPort, port } = flags;
  try {
    return startTrackerRelay(flags, log);
  } catch (error) {
    // The relay starts first; its port + 1 may be busy only because the
    // tracker's own port is (another tracker with its relay): say that.
    if (error instanceof ListenError && relayPort === undefined) {
      const busy = portInUse(flags.host, port);
      if (busy) throw new ListenError({ host: flags.host, port }, busy);
    }
    if (error instanceof ListenError && error.address.port !== flags.port) {
      const relayError = new RelayListenError(error.address, error.cause);
      relayError.chosen = flags.relayPort !== undefined;
      throw relayError;
    }
    throw error;
  }
}

/** Where to serve `/metrics`, from `--metrics-port` and `--metrics-host`. */
function metricsOption(
  flags: TrackerFlags,
): { host: string; port: number } | undefined {
  const { metricsPort: port, metricsHost } = flags;
  if (port === undefined) {
    if (metricsHost === undefined) return undefined;
    throw new UsageError(
      "--metrics-host needs --metrics-port: give the port to serve metrics on.",
    );
  }
  if (port !== 0 && port === flags.port) {
    throw new UsageError(
      `Cannot use port ${port} for --metrics-port: the tracker listens there; choose another.`,
    );
  }
  if (port !== 0 && flags.relay && port === relayPortOf(flags)) {
    throw new UsageError(
      `Cannot use port ${port} for --metrics-port: the relay listens there (--relay-port, else the tracker's port + 1); choose another.`,
    );
  }
  return { host: metricsHost ?? DEFAULT_METRICS_HOST, port };
}

/** `--metrics-host`, refused with the flag's own name. */
function parseMetricsHost(text: string): string {
  try {
    return parseHost(text);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(error.message.replace("--host", "--metrics-host"));
  }
}

function report(error: unknown, verbose: boolean): number {
  let { message, exitCode } = explainError(error, "tracker");
  if (error instanceof MetricsListenError) {
    message = message?.replaceAll("--port", "--metrics-port")
      .replaceAll("--host", "--metrics-host");
  }
  if (error instanceof RelayListenError) {
    const which = error.chosen ? "" : " (the tracker's port + 1)";
    message = message?.replace(
      /^Cannot listen on port (\d+):(.*) with --port (.*)\.$/,
      `Cannot listen on port $1 for the relay${which}:$2 with --relay-port $3, or turn the relay off with --no-relay.`,
    );
  }
  if (message) console.error(message);
  // A mistake in what was typed is its sentence alone, even with --verbose.
  if (
    verbose && exitCode !== USAGE_EXIT_CODE && error instanceof Error &&
    error.stack
  ) {
    console.error(error.stack);
  }
  return exitCode;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
