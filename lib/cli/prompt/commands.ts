/**
 * The prompt's command table: running the command a typed line names on
 * the {@linkcode Session} (its words split as `completion.ts` quotes them)
 * and printing the answer; what shares and gets say when they end in the
 * background is `events.ts`'s.
 *
 * @module
 */

import { describeTransfer } from "./transfer_lines.ts";
import { formatAddress } from "../../net/connection.ts";
import { emptySharePath, UsageError } from "../../app/usage_error.ts";
import { isLinkText } from "../../app/lookup.ts";
import { SaidError } from "../../app/user_errors.ts";
import { parseSearchText } from "../args.ts";
import { parseDuration } from "../duration.ts";
import { doctorLines } from "../doctor.ts";
import type { DiscoveryOff } from "../flags.ts";
import { prepareOutDir } from "../out_dir.ts";
import { partsIn, stoppedMessage } from "../get_stopped.ts";
import { checkedLine, checkingLine, saysChecking } from "../resumed.ts";
import type { Transfer } from "../../app/transfers.ts";
import type { DownloadResult } from "../../download/download.ts";
import { suggest } from "../suggest.ts";
import { COMMANDS, encode, splitWords } from "./completion.ts";
import { helpLines } from "./help.ts";
import {
  looksLikeShareLink,
  parseShareLink,
} from "../../protocol/share_link.ts";
import { folderLayoutOf } from "../../protocol/folder_layout.ts";
import { formatFileTable, formatSize } from "../format.ts";
import { shortId } from "../../app/file_id.ts";
import { terminalSafe } from "../../util/terminal_safe.ts";
import {
  alreadyHere,
  type Session,
  type SessionStatus,
} from "../../app/session.ts";

/** What a command asks the loop to do next. */
export type Next = "continue" | "quit" | "confirm-quit";

/** What the commands act on and where they print; the prompt loop provides it. */
export interface CommandContext {
  /** The session commands act on. */
  session: Session;
  /** Prints an answer. */
  print(text: string): void;
  /** Prints a note (not an answer); hidden by --quiet. */
  note(text: string): void;
  /** Runs work past the end of the command; its error is reported when it fails. */
  background(task: Promise<unknown>): void;
  /** Redraws the live bars, so a finished transfer's bar is gone before its answer. */
  drawBars(): void;
  /** Serves the web page on this session (once) and resolves with its address. */
  ui(): Promise<string>;
  /** Columns of the terminal answers are printed to. @default {HELP_COLUMNS} */
  columns?(): number;
  /**
   * What turned LAN discovery or the DHT off, as `discoveryOff` said of the
   * prompt's flags. @default {none}
   */
  off?: DiscoveryOff;
}

/**
 * Runs one command line and prints its answer; throws an error with a
 * message for the user (e.g. a {@linkcode UsageError}) when it fails.
 */
export async function runCommand(
  line: string,
  context: CommandContext,
): Promise<Next> {
  const { session } = context;
  const [word, ...args] = splitWords(line);
  switch (word?.toLowerCase()) {
    case undefined:
      return "continue";
    case "quit":
    case "exit":
      return quit(args, session);
    case "help":
    case "?":
      none(args, "help");
      helpLines(context.columns?.()).forEach((text) => context.print(text));
      return "continue";
    case "share": {
      const { paths, private: isPrivate } = parseShareArgs(args);
      for (const path of paths) {
        context.background(session.share(path, { private: isPrivate }));
      }
      return "continue";
    }
    case "link":
      one(args, "link ID");
      showLink(args[0], context);
      return "continue";
    case "unshare":
      one(args, "unshare ID");
      await unshare(args[0], context);
      return "continue";
    case "get":
      await startGet(args, context);
      return "continue";
    case "list":
      none(args, "list");
      await list(context);
      return "continue";
    case "search":
      await list(
        context,
        parseSearchText(args.join(" "), { listCommand: "list" }),
      );
      return "continue";
    case "ui":
      none(args, "ui");
      context.print(`Web page: ${await context.ui()}`);
      return "continue";
    case "doctor":
      none(args, "doctor");
      await doctor(context);
      return "continue";
    case "status":
      none(args, "status");
      statusLines(session.status()).forEach((text) => context.print(text));
      return "continue";
    case "peers":
      one(args, "peers ID");
      await peers(args[0], context);
      return "continue";
    case "cancel":
      one(args, "cancel ID");
      cancel(args[0], context);
      return "continue";
    default:
      // A link pasted alone is a get of it: what else would it be for.
      if (looksLikeShareLink(word)) {
        await startGet([word, ...args], context);
        return "continue";
      }
      throw unknownCommand(word);
  }
}

/** The error for a command the prompt does not know, with a guess if one is close. */
function unknownCommand(word: string): UsageError {
  const guess = suggest(word, COMMANDS);
  const hint = guess ? `Did you mean "${guess}"? Type` : "type";
  return new UsageError(
    `Unknown command "${word}": ${hint} "help" for the list.`,
  );
}

function quit(args: string[], session: Session): Next {
  const force = args.includes("--force") || args.includes("-f");
  const other = args.find((arg) => arg !== "--force" && arg !== "-f");
  if (other !== undefined) {
    throw new UsageError(
      `Unknown option "${other}" for quit: use "quit" or "quit --force".`,
    );
  }
  return session.transfers().length > 0 && !force ? "confirm-quit" : "quit";
}

async function unshare(ref: string, context: CommandContext): Promise<void> {
  const file = await context.session.unshare(ref);
  context.print(
    `Stopped sharing ${terminalSafe(file.name)} (${shortId(file.id)}).`,
  );
}

async function startGet(
  args: string[],
  context: CommandContext,
): Promise<void> {
  const { session } = context;
  const { ref, outDir, force, waitMs } = parseGetArgs(args, session.outDir);
  const wanted = isLinkText(ref) ? parseShareLink(ref) : session.resolveId(ref);
  const id = typeof wanted === "string"
    ? wanted
    : wanted.kind === "public"
    ? wanted.id
    : wanted.shortId;
  // Not a failure: what the get was for is done.
  const here = session.localCopy(id);
  if (here) {
    context.print(alreadyHere(here));
    return;
  }
  // As peer get does: a folder it makes and saves nothing in goes again.
  const created = await prepareOutDir(outDir);
  const partsBefore = await partsIn(outDir);
  // The session starts the transfer before its first await.
  let transfer: Transfer | undefined;
  const stop = session.listen((event) => {
    if (event.type !== "getting" || transfer) return;
    transfer = event.transfer;
    sayResuming(transfer, context);
  });
  let running: Promise<DownloadResult | undefined>;
  try {
    running = session.get(wanted, { outDir, force, waitMs, made: created });
  } finally {
    stop();
  }
  context.background(
    (async () => {
      // Undefined: cancelled (by cancel, or by quitting).
      if (await running === undefined && transfer) {
        context.print(await cancelledMessage(transfer, outDir, partsBefore));
      }
    })(),
  );
}

/**
 * Says once, as `peer get` does, that `transfer` resumes a `.part` an
 * earlier get left, and how much was there; before its check starts too,
 * when that `.part` is large, and then, if nothing in it matched, so
 * (notes: not with --quiet).
 */
function sayResuming(transfer: Transfer, context: CommandContext): void {
  let saidChecking: string | undefined;
  transfer.checkStarted.then((check) => {
    if (!saysChecking(check.total)) return;
    saidChecking = check.partPath ?? transfer.fileName;
    context.note(checkingLine(saidChecking));
  });
  transfer.resumeChecked.then((bytes) => {
    const size = transfer.total;
    const line = checkedLine(transfer.fileName, { bytes, size, saidChecking });
    if (line) context.note(line);
  });
}

/**
 * What a cancelled get says, as `peer get` stopped by Ctrl-C does: where
 * its `.part` is kept, or that nothing had arrived.
 */
async function cancelledMessage(
  transfer: Transfer,
  outDir: string,
  partsBefore: ReadonlySet<string>,
): Promise<string> {
  return terminalSafe(
    await stoppedMessage(outDir, {
      // Its name is known once the file is found.
      name: transfer.started ? transfer.fileName : undefined,
      partPath: transfer.partPath,
      partsBefore,
      opening: `Cancelled #${transfer.number} ${transfer.fileName}`,
    }),
  );
}

/** Prints `peer doctor`'s lines for the session, what it has off too. */
async function doctor(context: CommandContext): Promise<void> {
  const report = await context.session.doctor();
  for (const text of doctorLines(report, context.off)) context.print(text);
  // No tracker usable: a failed command (said above), as peer doctor's exit 1.
  if (report.trackerMs === undefined) throw new SaidError();
}

function showLink(ref: string, context: CommandContext): void {
  const { meta, link, private: isPrivate } = context.session.link(ref);
  context.print(
    `${terminalSafe(meta.name)} (${shortId(meta.id)})${
      isPrivate ? ", shared privately" : ""
    }: ${link}`,
  );
}

async function list(context: CommandContext, text?: string): Promise<void> {
  const { session } = context;
  const files = text === undefined
    ? await session.list()
    : await session.search(text);
  formatFileTable(files, {
    search: text !== undefined,
    searchCommand: "search",
  }).forEach((row) => context.print(row));
}

async function peers(ref: string, context: CommandContext): Promise<void> {
  const { meta, peers, self } = await context.session.peers(ref);
  const own = new Set(self.map(formatAddress));
  const title = `${terminalSafe(meta.name)} (${shortId(meta.id)})`;
  context.print(
    peers.length === 0
      ? `Nobody shares ${title} right now.`
      : `${peers.length} ${
        peers.length === 1 ? "peer shares" : "peers share"
      } ${title}:`,
  );
  for (const peer of peers) {
    const address = formatAddress(peer);
    context.print(
      `  ${terminalSafe(address)}${own.has(address) ? "  (this peer)" : ""}`,
    );
  }
}

function cancel(ref: string, context: CommandContext): void {
  const transfer = context.session.cancel(ref);
  context.print(
    `Cancelling #${transfer.number} ${terminalSafe(transfer.name)}.`,
  );
}

/** The lines `status` prints: shared files, transfers, totals. */
export function statusLines(status: SessionStatus): string[] {
  const lines: string[] = [];
  const { shared } = status;
  lines.push(
    shared.length === 0
      ? "Shared: nothing."
      : `Shared (${shared.length}), serving on ${
        formatAddress(status.address)
      }:`,
  );
  for (const { meta, uploaded, private: isPrivate } of shared) {
    lines.push(
      `  ${shortId(meta.id)}  ${formatSize(meta.size).padStart(9)}  up ${
        formatSize(uploaded).padStart(9)
      }  ${terminalSafe(meta.name)}${folderLayoutOf(meta) ? "/" : ""}${
        isPrivate ? "  (private)" : ""
      }`,
    );
  }
  const running = status.transfers;
  lines.push(
    running.length === 0
      ? "Transfers: none."
      : `Transfers (${running.length}):`,
  );
  for (const transfer of running) {
    lines.push(`  ${describeTransfer(transfer)}`);
  }
  lines.push(
    `Totals: up ${formatSize(status.uploaded)}, down ${
      formatSize(status.downloaded)
    }.`,
  );
  return lines;
}

/** What `share [--private] PATH…` asked for. */
export interface ShareArgs {
  /** The files to share, as typed. */
  paths: string[];
  /** Share them privately. */
  private: boolean;
}

/**
 * Parses the words after `share`; throws a {@linkcode UsageError} on a
 * mistake. `--` ends the options, for a path that starts with `-`.
 */
export function parseShareArgs(args: string[]): ShareArgs {
  const paths: string[] = [];
  let isPrivate = false;
  let options = true;
  for (const arg of args) {
    if (options && arg === "--") options = false;
    else if (options && (arg === "--private" || arg === "-p")) {
      isPrivate = true;
    } else if (options && arg.startsWith("-") && arg !== "-") {
      throw new UsageError(
        `Unknown option "${arg}" for share: use "share [--private] PATH…" (put -- before a path that starts with -).`,
      );
    } else if (arg === "") throw emptySharePath();
    else paths.push(arg);
  }
  if (paths.length === 0) {
    throw new UsageError('Missing argument: use "share [--private] PATH…".');
  }
  return { paths, private: isPrivate };
}

/** What `get LINK|ID [--out DIR] [--force] [--wait TIME]` asked for. */
export interface GetArgs {
  /** The share link, ID or name. */
  ref: string;
  /** Folder to save into. */
  outDir: string;
  /** Replace an existing file of the same name. */
  force: boolean;
  /** Ms to wait for a sharer, when given. @default {the session's} */
  waitMs?: number;
}

/** Parses the words after `get`; throws a {@linkcode UsageError} on a mistake. */
export function parseGetArgs(args: string[], defaultOut: string): GetArgs {
  const usage = 'use "get LINK [--out DIR] [--force] [--wait TIME]"';
  let ref: string | undefined;
  let outDir = defaultOut;
  let force = false;
  let waitMs: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--force" || arg === "-f") force = true;
    else if (arg === "--wait") {
      if (i + 1 >= args.length) {
        throw new UsageError(`--wait needs a duration such as 30s: ${usage}.`);
      }
      waitMs = parseDuration(args[++i], "--wait");
    } else if (arg.startsWith("--wait=")) {
      waitMs = parseDuration(arg.slice(7), "--wait");
    } else if (
      arg === "-o" || arg === "--output" || arg.startsWith("--output=")
    ) {
      // `peer get -o FILE` names the file; here it would name the folder.
      throw new UsageError(
        `"${arg}" is not taken here: the file keeps its name; ${usage}.`,
      );
    } else if (arg === "--out") {
      if (i + 1 >= args.length) {
        throw new UsageError(`--out needs a folder: ${usage}.`);
      }
      outDir = args[++i];
    } else if (arg.startsWith("--out=")) outDir = arg.slice(6);
    else if (arg.startsWith("-")) {
      throw new UsageError(`Unknown option "${arg}" for get: ${usage}.`);
    } else if (ref === undefined) ref = arg;
    else {
      // A link is not repeated: a private one carries its secret.
      const extra = looksLikeShareLink(arg) ? "" : ` ("${arg}" is extra)`;
      throw new UsageError(
        `Give one link or ID at a time${extra}: ${usage}.`,
      );
    }
  }
  if (ref === undefined) {
    throw new UsageError(`Missing the link or file ID: ${usage}.`);
  }
  return { ref, outDir, force, ...(waitMs === undefined ? {} : { waitMs }) };
}

/**
 * Refuses words after a command that takes none, as `peer list extra` is
 * refused, without echoing them (one may be a private link).
 */
function none(args: string[], command: string): void {
  if (args.length === 0) return;
  const hint = command === "list"
    ? 'type "list" alone, or "search TEXT" to find files by name'
    : `type "${command}" alone`;
  throw new UsageError(`${command} takes no arguments: ${hint}.`);
}

/**
 * Refuses a command that takes one ID or name given none or several; a
 * name typed with its spaces unquoted is shown quoted.
 */
function one(args: string[], usage: string): void {
  if (args.length === 0) {
    throw new UsageError(`Missing argument: use "${usage}".`);
  }
  if (args.length === 1) return;
  const command = usage.split(" ")[0];
  // IDs, transfer numbers and links are no name to quote (and a private
  // link's secret is not shown again).
  const notName = (arg: string) =>
    looksLikeShareLink(arg) || /^#?\d+$/.test(arg) ||
    /^[0-9a-f]{16,64}$/i.test(arg);
  if (args.some(notName)) {
    throw new UsageError(
      `${command} takes one ID or name at a time: use "${usage}".`,
    );
  }
  const quoted = encode(args.join(" "), '"', true).trimEnd();
  throw new UsageError(
    `${command} takes one ID or name: quote a name with spaces, as in ${command} ${
      terminalSafe(quoted)
    }.`,
  );
}
