/**
 * `peer`: share files, get them from everyone who shares them, list and
 * search what the tracker knows. With no command it opens a prompt.
 *
 * ```sh
 * deno run -A peer.ts share movie.mp4 --tracker 10.0.0.5:5000
 * deno run -A peer.ts get p2p://10.0.0.5:5000/v1/pub/9f86d081…
 * deno run -A peer.ts get 9f86d081884c7d65 --tracker 10.0.0.5:5000
 * ```
 *
 * @module
 */

import { type Command, Option } from "commander";
import {
  asUsage,
  parseDhtBootstrap,
  parseHost,
  parsePieceSize,
  parseRate,
  parseSearchText,
  parseUploadSlots,
  USAGE_EXIT_CODE,
} from "./lib/cli/args.ts";
import { UsageError } from "./lib/app/usage_error.ts";
import { explainError } from "./lib/cli/errors.ts";
import {
  dhtFrom,
  discoveryOff,
  type GetFlags,
  lanFrom,
  type PromptFlags,
  type ServeFlags,
  type ShareFlags,
  type TrackerFlags,
  trackersFrom,
  type UiFlags,
  warnOfSlowLimits,
} from "./lib/cli/flags.ts";
import {
  addCommand,
  addHelpCommand,
  addOutputFlags,
  carryLeadingOptions,
  createProgram,
  portOption,
} from "./lib/cli/program.ts";
import { suggest } from "./lib/cli/suggest.ts";
import { looksLikeShareLink } from "./lib/protocol/share_link.ts";
import { parseDuration } from "./lib/cli/duration.ts";
import { enterUserFolder } from "./lib/cli/user_folder.ts";
import { toJsonLine } from "./lib/cli/format.ts";
import { terminalSafe } from "./lib/util/terminal_safe.ts";
import {
  DEFAULT_PEER_PORT,
  LINK_ENV,
  NO_DHT_ENV,
  NO_LAN_ENV,
  TEAM_SECRET_ENV,
  TRACKER_ENV,
} from "./lib/protocol/limits.ts";
import { UPLOAD_SLOTS } from "./lib/swarm/upload_slots.ts";
import { VERSION } from "./lib/protocol/version.ts";

const TRACKER_HELP =
  `tracker address HOST:PORT, or several separated by commas, all used at once (default: $${TRACKER_ENV}, else 127.0.0.1:5000)`;
const SECRET_FILE_HELP =
  `file holding the team secret of a tracker started with --secret-file (default: $${TEAM_SECRET_ENV}, which holds the secret itself)`;
const GET_HELP = `
LINK is what "peer share" printed: p2p://… (public or private). A bare file ID
works too, from --tracker. With a link, the tracker is the one it names.

A link typed on the command line can be read by other users of this machine
in the process list. To keep a private link out of it, pipe it in with
"peer get -" (the first non-empty line of standard input), or set ${LINK_ENV}
and run "peer get" with no LINK.`;

/** What the prompt or `doctor` asked to exit with (1 when a piped command failed, or doctor found no tracker). */
let promptExitCode = 0;

// Each command's module is imported only when the command runs, so that a
// get holds no code of the prompt, the web page or share in its memory
// (#19). The specifiers are literal: deno compile takes each module along.
function buildProgram(): Command {
  const program = createProgram("peer", {
    description: "Share files and get them from every peer that has them.",
    epilog:
      `With no command, opens an interactive prompt. An option before a command is
the same as after it ("peer --tracker H:P share F" is "peer share --tracker
H:P F"); the command's own wins if both are given.
Set ${TRACKER_ENV}=HOST:PORT to avoid typing --tracker.`,
  });
  // Options after a command belong to it, not to the prompt's own options.
  // Options before a command are carried to it (see carryLeadingOptions).
  program.enablePositionalOptions()
    .hook("preAction", (_, action) => {
      // A word that is no command is told of first, by the prompt's action.
      if (action === program && program.args.length > 0) return;
      if (action.name() !== "help") carryLeadingOptions(program, action);
      warnOfSlowLimits(action.opts());
    });
  limits(addOutputFlags(
    serveOptions(
      program
        .option("--tracker <host:port>", TRACKER_HELP)
        .option("--secret-file <path>", SECRET_FILE_HELP)
        // Only for the commands that take it: the prompt prints no JSON.
        .addOption(new Option("--json", "print JSON on stdout").hideHelp()),
      DEFAULT_PEER_PORT,
    ),
  ))
    .option("--out <dir>", "folder for downloads", "downloads")
    .allowExcessArguments(true)
    .action(async (flags: PromptFlags) => {
      if (program.args.length > 0) throw unknownCommand(program.args[0]);
      const [tracker, ...moreTrackers] = trackersFrom(flags);
      const { runPrompt } = await import("./lib/cli/prompt/prompt.ts");
      promptExitCode = await runPrompt({
        tracker,
        moreTrackers,
        host: flags.host,
        port: flags.port,
        outDir: flags.out,
        quiet: flags.quiet,
        verbose: flags.verbose,
        uploadLimit: flags.uploadLimit,
        downloadLimit: flags.downloadLimit,
        uploadSlots: flags.uploadSlots,
        portMapping: flags.portMapping,
        lan: lanFrom(flags),
        dht: dhtFrom(flags),
        off: discoveryOff(flags),
      });
    });
  limits(serveOptions(
    addCommand(
      program,
      "ui",
      "Open the web page: share, get and follow transfers in your browser.",
    )
      .option("--tracker <host:port>", TRACKER_HELP)
      .option("--secret-file <path>", SECRET_FILE_HELP),
    DEFAULT_PEER_PORT,
  ))
    .option("--out <dir>", "folder for downloads", "downloads")
    .addOption(
      portOption(
        "port to serve the page on (0 picks a free one)",
        0,
        "--ui-port <n>",
      ),
    )
    .option(
      "--ui-host <address>",
      "address to serve the page on (default: 127.0.0.1, this machine only; another one is reachable from the network, without encryption)",
      asUsage(parseHost),
    )
    .option("--no-open", "do not open the browser; only print the address")
    .action(async (flags: UiFlags) => {
      const [tracker, ...moreTrackers] = trackersFrom(flags);
      const { runUi } = await import("./lib/cli/ui.ts");
      promptExitCode = await runUi({
        tracker,
        moreTrackers,
        host: flags.host,
        port: flags.port,
        outDir: flags.out,
        uploadLimit: flags.uploadLimit,
        downloadLimit: flags.downloadLimit,
        uploadSlots: flags.uploadSlots,
        portMapping: flags.portMapping,
        lan: lanFrom(flags),
        dht: dhtFrom(flags),
        uiHost: flags.uiHost,
        uiPort: flags.uiPort,
        open: flags.open,
        print: (line) => console.log(line),
      });
    });
  limits(serveOptions(
    withTracker(
      addCommand(program, "share", "Share files or folders until Ctrl-C."),
    ),
    DEFAULT_PEER_PORT,
  ))
    .argument("<files...>", "the files or folders to share")
    .option(
      "--as <name>",
      "share the files given as one folder of this name (one ID for all)",
    )
    .option(
      "--private",
      "share privately: only whoever has the link printed can find and get the file; the tracker does not list it",
    )
    .option(
      "--piece-size <size>",
      "piece size, e.g. 256K or 1M (K, M = 1024, 1024²; KB, MB = 1000, 1000²; default: 256K)",
      asUsage(parsePieceSize),
    )
    .action(async (files: string[], flags: ShareFlags) => {
      const { share } = await import("./lib/cli/share.ts");
      await share(files, flags);
    });
  limits(serveOptions(
    withTracker(
      addCommand(
        program,
        "get",
        "Download a file by its share link (or its ID) from every peer that has it, verify it, and serve the pieces it has to other downloaders meanwhile.",
      ),
    ),
    0,
  ))
    .argument(
      "[link]",
      `the share link, or the file ID (64 hex chars, or a unique prefix of 16 or more); "-" reads it from standard input; none reads $${LINK_ENV}`,
    )
    .option("--out <dir>", "folder to save into", "downloads")
    .option(
      "-o, --output <file>",
      "save as FILE (a name, or a path) instead of the file's own name",
    )
    .option(
      "--force",
      `replace an existing file of the same name, or a folder holding only the share's files (default: save as "name (1).ext")`,
    )
    .option("--seed", "keep sharing the file once it is saved, until Ctrl-C")
    .option(
      "--wait <duration>",
      "how long to wait for a peer when nobody shares the file yet or every peer left, e.g. 30s, 5m, 1h; 0 fails at once (default: 5m)",
      asUsage((text) => parseDuration(text, "--wait")),
    )
    .addHelpText("after", GET_HELP)
    .action(async (link: string | undefined, flags: GetFlags) => {
      const { get } = await import("./lib/cli/get.ts");
      await get(link, flags);
    });
  withTracker(addCommand(program, "list", "List the files the tracker knows."))
    .action(async (flags: TrackerFlags) => {
      const { listFiles } = await import("./lib/cli/list.ts");
      await listFiles(flags);
    });
  withTracker(
    addCommand(
      program,
      "search",
      "Find files whose name contains every word of TEXT, in any order.",
    ),
  )
    .argument("<text...>", "words to look for in file names")
    .action(async (words: string[], flags: TrackerFlags) => {
      const text = parseSearchText(words.join(" "));
      const { listFiles } = await import("./lib/cli/list.ts");
      await listFiles(flags, text);
    });
  serveOptions(
    withTracker(
      addCommand(
        program,
        "doctor",
        "Check what stands between this machine and other peers: the tracker, your address, NAT, reachability from outside, the relay, LAN discovery and the DHT.",
      ),
    ),
    DEFAULT_PEER_PORT,
  ).action(async (flags: ServeFlags) => {
    const { doctor } = await import("./lib/cli/doctor.ts");
    promptExitCode = await doctor(flags);
  });
  addHelpCommand(program, unknownCommand);
  return program;
}

const COMMANDS = ["share", "get", "list", "search", "doctor", "ui", "help"];
/** A full file ID, 64 hex characters. */
const FULL_ID = /^[0-9a-f]{64}$/i;

function unknownCommand(word: string): UsageError {
  if (looksLikeShareLink(word) || FULL_ID.test(word)) {
    // Not repeated: a private link carries its secret.
    return new UsageError(
      'To download it, run "peer get" with it (or "peer get -" to paste it).',
    );
  }
  const guess = suggest(word, COMMANDS);
  const hint = guess ? `Did you mean "peer ${guess}"? ` : "";
  return new UsageError(
    `Unknown command "${word}": ${hint}Use share, get, list, search, doctor or ui (see "peer --help").`,
  );
}

function withTracker(command: Command): Command {
  return command
    .option("--tracker <host:port>", TRACKER_HELP)
    .option("--secret-file <path>", SECRET_FILE_HELP)
    .option("--json", "print JSON on stdout");
}

function limits(command: Command): Command {
  return command
    .option(
      "--upload-limit <rate>",
      "most bytes a second to upload, e.g. 512K or 16M (K, M, G = 1024, 1024², 1024³; KB, MB, GB = 1000, 1000², 1000³; default: no limit)",
      asUsage((text) => parseRate(text, "--upload-limit")),
    )
    .option(
      "--download-limit <rate>",
      "most bytes a second to download, e.g. 512K or 16M (K, M, G = 1024, 1024², 1024³; KB, MB, GB = 1000, 1000², 1000³; default: no limit)",
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
    .option(
      "--host <address>",
      "address to serve pieces on",
      asUsage(parseHost),
      "0.0.0.0",
    )
    .option(
      "--no-port-mapping",
      "do not ask the router to forward the port (UPnP, NAT-PMP, PCP) when peers cannot reach it",
    )
    .option(
      "--no-lan",
      `do not find or offer files on the local network by multicast (also: $${NO_LAN_ENV}=1)`,
    )
    .option(
      "--no-dht",
      `do not find or offer files in the BitTorrent DHT (also: $${NO_DHT_ENV}=1)`,
    )
    .option(
      "--dht-bootstrap <host:port,…>",
      "DHT nodes to join through (default: the public BitTorrent routers, and the nodes known from the last run)",
      asUsage(parseDhtBootstrap),
    );
}

async function main(args: string[]): Promise<number> {
  try {
    enterUserFolder();
    await buildProgram().parseAsync(args, { from: "user" });
    return promptExitCode;
  } catch (error) {
    const { message, exitCode } = explainError(error, commandName(args));
    if (message) console.error(message);
    // With --json, a script reading stdout learns of the failure there too.
    if (message && exitCode !== 0 && args.includes("--json")) {
      console.log(toJsonLine({ error: message, exitCode, version: VERSION }));
    }
    // A mistake in what was typed is its sentence alone, even with --verbose.
    const verbose = args.includes("--verbose") || args.includes("-v");
    if (verbose && exitCode !== USAGE_EXIT_CODE) {
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
  // The first command word, after any options (and their values) before it.
  const command = args.find((arg) => COMMANDS.includes(arg));
  return command ? `peer ${command}` : "peer";
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
