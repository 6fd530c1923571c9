/**
 * `peer`: share files, get them from everyone who shares them, list and
 * search what the tracker knows. With no command it opens a prompt.
 *
 * ```sh
 * deno run -A peer.ts share movie.mp4 --tracker 10.0.0.5:5000
 * deno run -A peer.ts get 9f86d081884c7d65 --tracker 10.0.0.5:5000
 * ```
 *
 * @module
 */

import type { Command } from "commander";
import {
  asUsage,
  parseFileId,
  parsePieceSize,
  parseRate,
  parseUploadSlots,
  resolveTracker,
  UsageError,
} from "./lib/cli_args.ts";
import { explainError, StoppedError } from "./lib/cli_errors.ts";
import {
  addCommand,
  addOutputFlags,
  createProgram,
  type OutputFlags,
  portOption,
} from "./lib/cli_program.ts";
import { type Address, formatAddress } from "./lib/connection.ts";
import { download, type DownloadResult } from "./lib/download.ts";
import {
  formatDuration,
  formatFileTable,
  formatSize,
  shortId,
  terminalSafe,
  toJsonLine,
} from "./lib/format.ts";
import { DEFAULT_PEER_PORT, TRACKER_ENV } from "./lib/limits.ts";
import type { FileSummary } from "./lib/messages.ts";
import { PeerNode, ShareError } from "./lib/peer_node.ts";
import { ProgressLine } from "./lib/progress.ts";
import { runPrompt } from "./lib/prompt.ts";
import { listenForStop } from "./lib/stop_signal.ts";
import { TrackerClient } from "./lib/tracker_client.ts";
import { settleWithin } from "./lib/settle_within.ts";
import { UPLOAD_SLOTS } from "./lib/upload_slots.ts";

/** Longest wait for unregistering and closing after Ctrl-C. */
const SHUTDOWN_TIMEOUT_MS = 5_000;

interface TrackerFlags extends OutputFlags {
  tracker?: string;
  json?: boolean;
}
interface ServeFlags extends TrackerFlags {
  port: number;
  host: string;
}
interface LimitFlags {
  uploadLimit?: number;
  downloadLimit?: number;
  uploadSlots?: number;
}
interface ShareFlags extends ServeFlags, LimitFlags {
  pieceSize?: number;
}
interface GetFlags extends ServeFlags, LimitFlags {
  out: string;
  force?: boolean;
  seed?: boolean;
}
interface PromptFlags extends ServeFlags, LimitFlags {
  out: string;
}

const TRACKER_HELP =
  `tracker address HOST:PORT (default: $${TRACKER_ENV}, else 127.0.0.1:5000)`;

function buildProgram(): Command {
  const program = createProgram("peer", {
    description: "Share files and get them from every peer that has them.",
    epilog:
      `With no command, opens an interactive prompt.\nSet ${TRACKER_ENV}=HOST:PORT to avoid typing --tracker.`,
  });
  // Options after a command belong to it, not to the prompt's own options.
  program.enablePositionalOptions();
  limits(addOutputFlags(
    serveOptions(
      program.option("--tracker <host:port>", TRACKER_HELP),
      DEFAULT_PEER_PORT,
    ),
  ))
    .option("--out <dir>", "folder for downloads", "downloads")
    .allowExcessArguments(true)
    .action(async (flags: PromptFlags) => {
      if (program.args.length > 0) {
        throw new UsageError(
          `Unknown command "${
            program.args[0]
          }": use share, get, list or search (see "peer --help").`,
        );
      }
      await runPrompt({
        tracker: trackerOf(flags),
        host: flags.host,
        port: flags.port,
        outDir: flags.out,
        quiet: flags.quiet,
        verbose: flags.verbose,
        uploadLimit: flags.uploadLimit,
        downloadLimit: flags.downloadLimit,
        uploadSlots: flags.uploadSlots,
      });
    });
  limits(serveOptions(
    withTracker(addCommand(program, "share", "Share a file until Ctrl-C.")),
    DEFAULT_PEER_PORT,
  ))
    .argument("<file>", "the file to share")
    .option(
      "--piece-size <size>",
      "piece size, e.g. 256K or 1M (default: 256K)",
      asUsage(parsePieceSize),
    )
    .action(share);
  limits(serveOptions(
    withTracker(
      addCommand(
        program,
        "get",
        "Download a file by its ID from every peer that has it, verify it, and serve the pieces it has to other downloaders meanwhile.",
      ),
    ),
    0,
  ))
    .argument(
      "<id>",
      "the file ID: 64 hex chars, or a unique prefix of 16 or more",
      asUsage(parseFileId),
    )
    .option("--out <dir>", "folder to save into", "downloads")
    .option(
      "--force",
      'replace an existing file of the same name (default: save as "name (1).ext")',
    )
    .option("--seed", "keep sharing the file once it is saved, until Ctrl-C")
    .action(get);
  withTracker(addCommand(program, "list", "List the files the tracker knows."))
    .action((flags: TrackerFlags) => listFiles(flags));
  withTracker(
    addCommand(program, "search", "Find files whose name contains TEXT."),
  )
    .argument("<text...>", "words to look for in file names")
    .action((words: string[], flags: TrackerFlags) =>
      listFiles(flags, words.join(" "))
    );
  return program;
}

function withTracker(command: Command): Command {
  return command
    .option("--tracker <host:port>", TRACKER_HELP)
    .option("--json", "print JSON on stdout");
}

function limits(command: Command): Command {
  return command
    .option(
      "--upload-limit <rate>",
      "most bytes a second to upload, e.g. 512K or 16M (K, M, G = 1024, 1024², 1024³; default: no limit)",
      asUsage((text) => parseRate(text, "--upload-limit")),
    )
    .option(
      "--download-limit <rate>",
      "most bytes a second to download, e.g. 512K or 16M (K, M, G = 1024, 1024², 1024³; default: no limit)",
      asUsage((text) => parseRate(text, "--download-limit")),
    )
    .option(
      "--upload-slots <n>",
      `downloaders uploaded to at once, taking turns (default: ${UPLOAD_SLOTS})`,
      asUsage(parseUploadSlots),
    );
}

function serveOptions(command: Command, defaultPort: number): Command {
  return command
    .addOption(
      portOption("port to serve pieces on (0 picks a free one)", defaultPort),
    )
    .option("--host <address>", "address to serve pieces on", "0.0.0.0");
}

function trackerOf(flags: TrackerFlags): Address {
  return resolveTracker({
    flag: flags.tracker,
    env: Deno.env.get(TRACKER_ENV),
  });
}

function logger(
  flags: OutputFlags,
  progress?: ProgressLine,
): ((line: string) => void) | undefined {
  if (!flags.verbose) return undefined;
  return (line) => {
    progress?.clear();
    console.error(terminalSafe(line));
  };
}

async function share(file: string, flags: ShareFlags): Promise<void> {
  const tracker = trackerOf(flags);
  await checkShareable(file);
  using stop = listenForStop();
  const progress = new ProgressLine({ quiet: flags.quiet || flags.json });
  // The one file shared stopped being shareable: nothing is left to serve.
  const lost = Promise.withResolvers<string>();
  const node = await PeerNode.start({
    tracker,
    host: flags.host,
    port: flags.port,
    log: logger(flags, progress),
    onDropped: (_meta, reason) => lost.resolve(reason),
    uploadLimit: flags.uploadLimit,
    uploadSlots: flags.uploadSlots,
  });
  try {
    const meta = await node.share(file, {
      pieceSize: flags.pieceSize,
      signal: stop.signal,
      onProgress: (done: number, total: number) =>
        progress.update({ label: `hashing ${baseName(file)}`, done, total }),
    });
    progress.clear();
    const address = formatAddress(node.address);
    if (flags.json) {
      const { id, name, size, pieceSize } = meta;
      console.log(
        toJsonLine({
          id,
          shortId: shortId(id),
          name,
          size,
          pieceSize,
          address,
          tracker: formatAddress(tracker),
        }),
      );
    } else if (flags.quiet) {
      console.log(meta.id);
    } else {
      console.log(
        `Sharing ${terminalSafe(meta.name)} (${formatSize(meta.size)})`,
      );
      console.log(`  short ID: ${shortId(meta.id)}`);
      console.log(`  full ID:  ${meta.id}`);
      console.log(
        `Serving on ${address} via tracker ${
          formatAddress(tracker)
        }. Press Ctrl-C to stop.`,
      );
    }
    const reason = await Promise.race([
      stop.stopped.then(() => undefined),
      lost.promise,
    ]);
    if (reason !== undefined) {
      throw new ShareError(
        `Stopped sharing ${
          terminalSafe(meta.name)
        }: ${reason}. Share it again once it stops changing.`,
      );
    }
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  } finally {
    progress.clear();
    if (!flags.quiet && !flags.json) {
      console.error("Stopping: unregistering from the tracker.");
    }
    await settleWithin(node.close(), SHUTDOWN_TIMEOUT_MS);
  }
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

async function checkShareable(file: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`Cannot share "${file}": there is no such file.`);
    }
    throw error;
  }
  if (!info.isFile) {
    throw new UsageError(`Cannot share "${file}": it is not a regular file.`);
  }
}

async function get(id: string, flags: GetFlags): Promise<void> {
  const tracker = trackerOf(flags);
  using stop = listenForStop();
  const progress = new ProgressLine({ quiet: flags.quiet || flags.json });
  // Serves the pieces verified so far to other downloaders (swarming).
  const lost = Promise.withResolvers<string>();
  const node = await PeerNode.start({
    tracker,
    host: flags.host,
    port: flags.port,
    log: logger(flags, progress),
    onDropped: (_meta, reason) => lost.resolve(reason),
    uploadLimit: flags.uploadLimit,
    uploadSlots: flags.uploadSlots,
  });
  try {
    let result;
    try {
      result = await download(id, {
        tracker,
        outDir: flags.out,
        force: flags.force ?? false,
        downloadLimit: flags.downloadLimit,
        swarm: node,
        seed: flags.seed ?? false,
        signal: stop.signal,
        log: logger(flags, progress),
        onProgress: (p) =>
          progress.update({
            label: p.name,
            done: p.received,
            total: p.size,
            bytesPerSecond: p.bytesPerSecond,
            peers: p.peers,
          }),
      });
    } catch (error) {
      if (stop.signal.aborted) {
        throw new StoppedError(
          `Download stopped; the partial file is kept in ${flags.out}. Run the same get again to retry.`,
        );
      }
      throw error;
    } finally {
      progress.clear();
    }
    printSaved(result, flags);
    if (flags.seed && node.shared().length > 0) {
      if (!flags.quiet && !flags.json) {
        console.error(
          `Seeding on ${formatAddress(node.address)}. Press Ctrl-C to stop.`,
        );
      }
      const reason = await Promise.race([
        stop.stopped.then(() => undefined),
        lost.promise,
      ]);
      if (reason !== undefined) {
        throw new ShareError(
          `Stopped seeding ${terminalSafe(result.meta.name)}: ${reason}.`,
        );
      }
    }
  } finally {
    await settleWithin(node.close(), SHUTDOWN_TIMEOUT_MS);
  }
}

function printSaved(result: DownloadResult, flags: GetFlags): void {
  const { meta, path, peers, elapsedMs } = result;
  if (flags.json) {
    console.log(
      toJsonLine({
        id: meta.id,
        name: meta.name,
        size: meta.size,
        path,
        elapsedMs: Math.round(elapsedMs),
        peers,
      }),
    );
  } else if (flags.quiet) {
    console.log(terminalSafe(path));
  } else {
    const from = peers.filter((peer) => peer.bytes > 0).map((peer) =>
      `${terminalSafe(peer.address)} (${formatSize(peer.bytes)})`
    ).join(", ");
    console.log(
      `Saved ${terminalSafe(path)} (${
        formatSize(meta.size)
      }, SHA-256 verified) in ${formatDuration(elapsedMs)}.`,
    );
    if (from) {
      const count = from.split(", ").length;
      console.log(
        `Received from ${count} ${count === 1 ? "peer" : "peers"}: ${from}`,
      );
    }
  }
}

async function listFiles(flags: TrackerFlags, text?: string): Promise<void> {
  const tracker = trackerOf(flags);
  const client = await TrackerClient.connect(tracker);
  let files: FileSummary[];
  try {
    files = text === undefined
      ? await client.list()
      : await client.search(text);
  } finally {
    client.close();
  }
  if (flags.json) {
    console.log(toJsonLine({ files }));
  } else {
    for (const line of formatFileTable(files)) console.log(line);
  }
}

async function main(args: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(args, { from: "user" });
    return 0;
  } catch (error) {
    const { message, exitCode } = explainError(error, commandName(args));
    if (message) console.error(message);
    if (args.includes("--verbose") || args.includes("-v")) {
      if (error instanceof Error && error.stack) {
        for (const line of error.stack.split("\n")) {
          console.error(terminalSafe(line));
        }
      }
    }
    return exitCode;
  }
}

function commandName(args: string[]): string {
  const command = args.find((arg) => !arg.startsWith("-"));
  return command && ["share", "get", "list", "search"].includes(command)
    ? `peer ${command}`
    : "peer";
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
