/**
 * The interactive prompt `peer` opens with no command. One peer server
 * serves everything the session shares; hashing and downloads run in the
 * background with live progress bars above the prompt while the user types.
 * Line editing and Tab completion come from `node:readline`, history is
 * kept between runs ({@linkcode History}).
 *
 * @module
 */

import process from "node:process";
import { basename } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { selfAddresses } from "../../net/address.ts";
import { BandwidthLimiter } from "../../util/bandwidth.ts";
import { type Address, formatAddress } from "../../net/connection.ts";
import { parseFileId, UsageError } from "../args.ts";
import { explainError } from "../errors.ts";
import { download } from "../../download/download.ts";
import {
  formatDuration,
  formatFileTable,
  formatSize,
  shortId,
  terminalSafe,
} from "../format.ts";
import { DEFAULT_PEER_PORT } from "../../protocol/limits.ts";
import { PeerNode } from "../../app/peer_node.ts";
import { PLAIN_INTERVAL_MS } from "../progress.ts";
import { complete, type KnownFile } from "./completion.ts";
import { History, MAX_HISTORY } from "./history.ts";
import { PromptScreen } from "./screen.ts";
import { Transfers } from "./transfers.ts";
import { TrackerClient } from "../../discovery/tracker_client.ts";
import { settleWithin } from "../../util/settle_within.ts";

/** The text shown before each command. */
export const PROMPT = "p2p> ";
/** Least time between two redraws of the live bars. */
export const BAR_INTERVAL_MS = 200;
/** Longest wait for unregistering and closing when quitting. */
export const SHUTDOWN_TIMEOUT_MS = 5_000;
/** Longest wait for cancelled transfers to close their files when quitting. */
export const TRANSFER_STOP_TIMEOUT_MS = 1_000;
/** Files remembered from `list` and `search` answers, for completion. */
export const MAX_KNOWN_FILES = 1_000;

/** Options for {@linkcode runPrompt}. */
export interface PromptOptions {
  /** Tracker to register with and ask. */
  tracker: Address;
  /** Address the peer server listens on. @default {"0.0.0.0"} */
  host?: string;
  /** Port the peer server listens on. @default {DEFAULT_PEER_PORT} */
  port?: number;
  /** Folder downloads are saved into. @default {"downloads"} */
  outDir?: string;
  /** No progress and no notes, only answers and errors. @default {false} */
  quiet?: boolean;
  /** Print events (peers dropped, re-announces) and stack traces. @default {false} */
  verbose?: boolean;
  /** Folder the history file lives in; null keeps no history. @default {dataDir()} */
  dataDir?: string | null;
  /** Piece bytes a second uploaded, everything shared together. @default {no limit} */
  uploadLimit?: number;
  /** Piece bytes a second downloaded, every get together. @default {no limit} */
  downloadLimit?: number;
  /** Downloaders uploaded to at once. @default {UPLOAD_SLOTS} */
  uploadSlots?: number;
}

const HELP = [
  "Commands (Tab completes; quote or backslash-escape spaces in names):",
  "  share PATH…                 share files, hashed in the background",
  "  unshare ID                  stop sharing a file (ID, prefix or name)",
  "  get ID [--out DIR] [--force] download a file (16+ hex chars or a known name);",
  "                              it is shared once saved, until unshare",
  "  list                        files the tracker knows",
  "  search TEXT                 files whose name contains TEXT",
  "  status                      shared files, transfers, totals up and down",
  "  peers ID                    who shares a file",
  "  cancel ID                   stop a transfer (#N from status, ID or name)",
  "  help                        this list",
  "  quit [--force]              unregister everything and leave (also Ctrl-D)",
];

/**
 * Runs the prompt on stdin/stdout until `quit`, end of input or SIGTERM,
 * then unregisters everything shared and resolves. Rejects only if the
 * peer server cannot start (e.g. the port is in use).
 */
export async function runPrompt(options: PromptOptions): Promise<void> {
  let session: PromptSession | undefined;
  // One limiter for every download of the session.
  using downloadLimit = options.downloadLimit === undefined
    ? undefined
    : new BandwidthLimiter(options.downloadLimit);
  const node = await PeerNode.start({
    tracker: options.tracker,
    host: options.host,
    port: options.port ?? DEFAULT_PEER_PORT,
    log: options.verbose ? (line) => session?.note(line) : undefined,
    onDropped: (meta, reason) =>
      session?.note(`Stopped sharing ${terminalSafe(meta.name)}: ${reason}.`),
    uploadLimit: options.uploadLimit,
    uploadSlots: options.uploadSlots,
  });
  try {
    const history = options.dataDir === null
      ? await History.load(undefined)
      : await History.load(options.dataDir);
    session = new PromptSession(options, node, history, downloadLimit);
    await session.run();
  } finally {
    await settleWithin(node.close(), SHUTDOWN_TIMEOUT_MS);
  }
}

/** What a command asks the loop to do next. */
type Next = "continue" | "quit" | "confirm-quit";

class PromptSession {
  #options: PromptOptions;
  #node: PeerNode;
  #history: History;
  #rl: Interface;
  #screen: PromptScreen;
  #transfers = new Transfers();
  #tasks = new Set<Promise<void>>();
  #known = new Map<string, string>();
  #interactive: boolean;
  #confirming = false;
  #ticker?: ReturnType<typeof setInterval>;
  #lastPlain = performance.now();
  #downloadLimit?: BandwidthLimiter;

  constructor(
    options: PromptOptions,
    node: PeerNode,
    history: History,
    downloadLimit?: BandwidthLimiter,
  ) {
    this.#options = options;
    this.#downloadLimit = downloadLimit;
    this.#node = node;
    this.#history = history;
    this.#interactive = Boolean(process.stdin.isTTY);
    const live = this.#interactive && Boolean(process.stdout.isTTY);
    this.#rl = createInterface({
      input: process.stdin,
      output: process.stdout,
      prompt: PROMPT,
      terminal: live,
      history: history.newestFirst(),
      historySize: MAX_HISTORY,
      completer: (line: string, done: CompleterCallback) =>
        this.#complete(line, done),
    });
    this.#screen = new PromptScreen(this.#rl, process.stdout, {
      live,
      showPrompt: this.#interactive,
    });
  }

  async run(): Promise<void> {
    const onTerm = () => this.#rl.close();
    const onInt = () => this.#hintQuit();
    const signals = addSignals({ SIGTERM: onTerm, SIGINT: onInt });
    const lines = new LineQueue();
    this.#rl.on("SIGINT", () => this.#clearLine());
    this.#rl.on("line", (line: string) => {
      this.#entered(line);
      lines.push(line);
    });
    this.#rl.on("close", () => lines.close());
    this.#ticker = setInterval(() => this.#tick(), BAR_INTERVAL_MS);
    try {
      this.#greet();
      this.#screen.prompt();
      for (let line; (line = await lines.next()) !== undefined;) {
        if (await this.#handle(line) === "quit") break;
        this.#screen.prompt();
      }
      await this.#finishOnEnd();
    } finally {
      // Listening until the end keeps a late SIGTERM from killing the
      // process halfway through unregistering.
      await this.#shutDown();
      signals.remove();
    }
  }

  #greet(): void {
    if (this.#options.quiet) return;
    this.#screen.print(
      `Serving on ${formatAddress(this.#node.address)} via tracker ${
        formatAddress(this.#options.tracker)
      }. Type "help" for commands, "quit" or Ctrl-D to leave.`,
    );
  }

  /** Runs one entered line; answers the quit question when one is open. */
  async #handle(line: string): Promise<Next> {
    if (this.#confirming) {
      this.#confirming = false;
      this.#rl.setPrompt(PROMPT);
      if (/^\s*y(es)?\s*$/i.test(line)) return "quit";
      this.#screen.print("Not quitting.");
      return "continue";
    }
    const next = await this.#dispatch(line);
    if (next !== "confirm-quit") return next;
    const count = this.#transfers.size;
    this.#confirming = true;
    this.#rl.setPrompt(
      `${count} ${
        count === 1 ? "transfer is" : "transfers are"
      } running; quit and stop ${count === 1 ? "it" : "them"}? [y/N] `,
    );
    return "continue";
  }

  /** Runs one command line. */
  async #dispatch(line: string): Promise<Next> {
    const [word, ...args] = splitWords(line);
    try {
      switch (word?.toLowerCase()) {
        case undefined:
          return "continue";
        case "quit":
        case "exit":
          return this.#quit(args);
        case "help":
        case "?":
          HELP.forEach((text) => this.#screen.print(text));
          return "continue";
        case "share":
          need(args, "share PATH");
          for (const path of args) this.#background(this.#share(path));
          return "continue";
        case "unshare":
          need(args, "unshare ID");
          await this.#unshare(args[0]);
          return "continue";
        case "get":
          this.#startGet(args);
          return "continue";
        case "list":
          await this.#list();
          return "continue";
        case "search":
          need(args, "search TEXT");
          await this.#list(args.join(" "));
          return "continue";
        case "status":
          this.#status();
          return "continue";
        case "peers":
          need(args, "peers ID");
          await this.#peers(args[0]);
          return "continue";
        case "cancel":
          need(args, "cancel ID");
          this.#cancel(args[0]);
          return "continue";
        default:
          throw new UsageError(
            `Unknown command "${word}": type "help" for the list.`,
          );
      }
    } catch (error) {
      this.#reportError(error);
      return "continue";
    }
  }

  #quit(args: string[]): Next {
    const force = args.includes("--force") || args.includes("-f");
    const other = args.find((arg) => arg !== "--force" && arg !== "-f");
    if (other !== undefined) {
      throw new UsageError(
        `Unknown option "${other}" for quit: use "quit" or "quit --force".`,
      );
    }
    return this.#transfers.size > 0 && !force ? "confirm-quit" : "quit";
  }

  async #share(path: string): Promise<void> {
    const transfer = this.#transfers.start({
      kind: "hash",
      name: basename(path),
    });
    try {
      this.#note(`#${transfer.number} hashing ${terminalSafe(path)}…`);
      const meta = await this.#node.share(expandHome(path), {
        signal: transfer.signal,
        onProgress: (done, total) => transfer.update({ done, total }),
      });
      this.#remember([meta]);
      this.#transfers.finish(transfer);
      this.#drawBars();
      this.#screen.print(
        `Sharing ${terminalSafe(meta.name)} (${formatSize(meta.size)}): ${
          shortId(meta.id)
        }  full ID ${meta.id}`,
      );
    } catch (error) {
      if (transfer.cancelled) {
        this.#screen.print(
          `Cancelled #${transfer.number}: ${terminalSafe(path)} is not shared.`,
        );
        return;
      }
      throw error;
    } finally {
      this.#transfers.finish(transfer);
    }
  }

  async #unshare(ref: string): Promise<void> {
    const file = pickOne(this.#node.shared(), ref, "shared file", "status");
    await this.#node.unshare(file.id);
    this.#screen.print(
      `Stopped sharing ${terminalSafe(file.name)} (${shortId(file.id)}).`,
    );
  }

  #startGet(args: string[]): void {
    const { ref, outDir, force } = parseGetArgs(
      args,
      this.#options.outDir ?? "downloads",
    );
    const id = this.#resolveId(ref);
    this.#background(this.#get(id, outDir, force));
  }

  async #get(id: string, outDir: string, force: boolean): Promise<void> {
    const name = this.#known.get(id) ?? shortId(id);
    const transfer = this.#transfers.start({ kind: "get", name, id });
    let size = 0;
    try {
      this.#note(`#${transfer.number} getting ${terminalSafe(name)}…`);
      const result = await download(id, {
        tracker: this.#options.tracker,
        outDir,
        force,
        self: this.#selfAddresses(),
        downloadLimit: this.#downloadLimit,
        // Serves pieces while downloading, and the file once saved.
        swarm: this.#node,
        seed: true,
        signal: transfer.signal,
        log: this.#options.verbose ? (line) => this.note(line) : undefined,
        onProgress: (p) =>
          transfer.update({
            done: p.received,
            total: p.size,
            bytesPerSecond: p.bytesPerSecond,
            peers: p.peers,
            name: p.name,
          }),
      });
      size = result.meta.size;
      this.#remember([result.meta]);
      this.#transfers.finish(transfer, size);
      this.#drawBars();
      const count = result.peers.length;
      this.#screen.print(
        `Saved ${terminalSafe(result.path)} (${
          formatSize(size)
        }, SHA-256 verified) in ${
          formatDuration(result.elapsedMs)
        } from ${count} ${count === 1 ? "peer" : "peers"}.`,
      );
    } catch (error) {
      if (transfer.cancelled) {
        this.#screen.print(
          `Cancelled #${transfer.number} ${
            terminalSafe(transfer.name)
          }; the partial file is kept in ${
            terminalSafe(outDir)
          }: get it again to resume.`,
        );
        return;
      }
      throw error;
    } finally {
      this.#transfers.finish(transfer, size);
    }
  }

  /** The addresses other peers see this one at, so it never downloads from itself. */
  #selfAddresses(): Address[] {
    return selfAddresses(this.#node.address);
  }

  async #list(text?: string): Promise<void> {
    const files = await this.#ask((client) =>
      text === undefined ? client.list() : client.search(text)
    );
    this.#remember(files);
    formatFileTable(files).forEach((row) => this.#screen.print(row));
  }

  async #peers(ref: string): Promise<void> {
    const id = this.#resolveId(ref);
    const { meta, peers } = await this.#ask((client) => client.query(id));
    this.#remember([meta]);
    const own = new Set(this.#selfAddresses().map(formatAddress));
    const title = `${terminalSafe(meta.name)} (${shortId(meta.id)})`;
    this.#screen.print(
      peers.length === 0
        ? `Nobody shares ${title} right now.`
        : `${peers.length} ${
          peers.length === 1 ? "peer shares" : "peers share"
        } ${title}:`,
    );
    for (const peer of peers) {
      const address = formatAddress(peer);
      this.#screen.print(
        `  ${terminalSafe(address)}${own.has(address) ? "  (this peer)" : ""}`,
      );
    }
  }

  #cancel(ref: string): void {
    const found = this.#transfers.find(ref);
    if (found.length !== 1) {
      throw new UsageError(
        found.length === 0
          ? `No running transfer matches "${ref}": type "status" to see them.`
          : `"${ref}" matches ${found.length} transfers: use the number status shows, like #${
            found[0].number
          }.`,
      );
    }
    found[0].cancel();
    this.#screen.print(
      `Cancelling #${found[0].number} ${terminalSafe(found[0].name)}.`,
    );
  }

  #status(): void {
    for (const line of statusLines(this.#node, this.#transfers)) {
      this.#screen.print(line);
    }
  }

  async #ask<T>(question: (client: TrackerClient) => Promise<T>): Promise<T> {
    const client = await TrackerClient.connect(this.#options.tracker);
    try {
      return await question(client);
    } finally {
      client.close();
    }
  }

  /** A file ID from what the user typed: hex (16+ chars) or a known name. */
  #resolveId(ref: string): string {
    if (/^[0-9a-f]+$/i.test(ref)) return parseFileId(ref);
    const files = [...this.#known].map(([id, name]) => ({ id, name }));
    for (const meta of this.#node.shared()) files.push(meta);
    const matches = new Set(
      files.filter((file) => file.name === ref).map((file) => file.id),
    );
    if (matches.size === 1) return [...matches][0];
    throw new UsageError(
      matches.size > 1
        ? `More than one file is named "${ref}": use its ID from "list".`
        : `"${ref}" is neither a file ID nor a name seen in "list": run list or search, then use the ID.`,
    );
  }

  #remember(files: readonly { id: string; name: string }[]): void {
    for (const file of files) {
      this.#known.delete(file.id);
      this.#known.set(file.id, file.name);
    }
    while (this.#known.size > MAX_KNOWN_FILES) {
      this.#known.delete(this.#known.keys().next().value!);
    }
  }

  #complete(line: string, done: CompleterCallback): void {
    const shared = this.#node.shared().map(({ id, name }) => ({
      id: shortId(id),
      name,
    }));
    const known: KnownFile[] = [...this.#known].map(([id, name]) => ({
      id: shortId(id),
      name,
    }));
    complete(line, {
      known: () => [...known, ...shared],
      shared: () => shared,
      transfers: () =>
        this.#transfers.list().map((t) => ({
          id: `#${t.number}`,
          name: t.name,
        })),
    }).then(
      (result) => {
        if (result[0].length > 1) this.#screen.forgetBars();
        done(null, result);
      },
      () => done(null, [[], line]),
    );
  }

  #background(task: Promise<void>): void {
    const tracked = task.catch((error) => this.#reportError(error))
      .finally(() => this.#tasks.delete(tracked));
    this.#tasks.add(tracked);
  }

  /** Draws live bars, or a plain progress line every few seconds. */
  #tick(): void {
    if (this.#options.quiet) return;
    if (this.#screen.live) {
      this.#drawBars();
      return;
    }
    const transfers = this.#transfers.list();
    const now = performance.now();
    if (transfers.length === 0) this.#lastPlain = now;
    if (now - this.#lastPlain < PLAIN_INTERVAL_MS) return;
    this.#lastPlain = now;
    for (const t of transfers) this.#screen.print(`progress: ${t.describe()}`);
  }

  #drawBars(): void {
    if (this.#options.quiet || !this.#screen.live) return;
    const columns = process.stdout.columns || 80;
    const color = !Deno.noColor;
    this.#screen.setBars(
      this.#transfers.list().map((t) => t.bar(columns, color)),
    );
  }

  #entered(line: string): void {
    this.#screen.lineEntered(line);
    if (this.#interactive && !this.#confirming) this.#history.add(line);
  }

  /** A note from the session (not an answer); hidden by --quiet. */
  #note(text: string): void {
    if (!this.#options.quiet) this.#screen.print(text);
  }

  /** A --verbose event line from the network side. */
  note(line: string): void {
    this.#screen.print(terminalSafe(line));
  }

  #reportError(error: unknown): void {
    const { message, unexpected } = explainError(error, "help");
    this.#screen.print(message ?? String(error));
    if (unexpected && this.#options.verbose && error instanceof Error) {
      this.#screen.print(terminalSafe(error.stack ?? ""));
    }
  }

  #clearLine(): void {
    // Ctrl-C: the line goes, transfers stay.
    this.#rl.write(null, { ctrl: true, name: "e" });
    this.#rl.write(null, { ctrl: true, name: "u" });
  }

  #hintQuit(): void {
    this.#screen.print('Type "quit" (or press Ctrl-D) to leave.');
  }

  /** End of piped input waits for transfers; Ctrl-D on a terminal does not. */
  async #finishOnEnd(): Promise<void> {
    if (this.#interactive || this.#tasks.size === 0) return;
    this.#note(
      `End of input: waiting for ${this.#tasks.size} running ${
        this.#tasks.size === 1 ? "transfer" : "transfers"
      } to finish (SIGTERM stops them).`,
    );
    let stop: () => void = () => {};
    const stopped = new Promise<void>((resolve) => stop = resolve);
    const signals = addSignals({ SIGTERM: () => stop() });
    try {
      await Promise.race([Promise.allSettled([...this.#tasks]), stopped]);
    } finally {
      signals.remove();
    }
  }

  async #shutDown(): Promise<void> {
    clearInterval(this.#ticker);
    this.#screen.close();
    this.#rl.close();
    for (const transfer of this.#transfers.list()) transfer.cancel();
    await settleWithin(
      Promise.allSettled([...this.#tasks]).then(() => {}),
      TRANSFER_STOP_TIMEOUT_MS,
    );
    const count = this.#node.shared().length;
    await settleWithin(this.#node.close(), SHUTDOWN_TIMEOUT_MS);
    await this.#history.flush();
    if (!this.#options.quiet) {
      process.stdout.write(
        count > 0
          ? `Unregistered ${count} ${count === 1 ? "file" : "files"}. Bye.\n`
          : "Bye.\n",
      );
    }
  }
}

/** Lines entered, in order; none is lost when input ends right after them. */
class LineQueue {
  #lines: string[] = [];
  #closed = false;
  #wake?: () => void;

  push(line: string): void {
    this.#lines.push(line);
    this.#wake?.();
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  /** The next line, or undefined once input has ended. */
  async next(): Promise<string | undefined> {
    while (this.#lines.length === 0 && !this.#closed) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    return this.#lines.shift();
  }
}

type CompleterCallback = (
  error: Error | null,
  result: [string[], string],
) => void;

/** The lines `status` prints: shared files, transfers, totals. */
export function statusLines(node: PeerNode, transfers: Transfers): string[] {
  const lines: string[] = [];
  const shared = node.shared();
  lines.push(
    shared.length === 0
      ? "Shared: nothing."
      : `Shared (${shared.length}), serving on ${formatAddress(node.address)}:`,
  );
  for (const meta of shared) {
    lines.push(
      `  ${shortId(meta.id)}  ${formatSize(meta.size).padStart(9)}  up ${
        formatSize(node.uploadedFor(meta.id)).padStart(9)
      }  ${terminalSafe(meta.name)}`,
    );
  }
  const running = transfers.list();
  lines.push(
    running.length === 0
      ? "Transfers: none."
      : `Transfers (${running.length}):`,
  );
  for (const transfer of running) {
    lines.push(`  ${transfer.describe()}`);
  }
  lines.push(
    `Totals: up ${formatSize(node.uploaded)}, down ${
      formatSize(transfers.downloaded)
    }.`,
  );
  return lines;
}

/** What `get ID [--out DIR] [--force]` asked for. */
export interface GetArgs {
  /** The ID or name. */
  ref: string;
  /** Folder to save into. */
  outDir: string;
  /** Replace an existing file of the same name. */
  force: boolean;
}

/** Parses the words after `get`; throws a {@linkcode UsageError} on a mistake. */
export function parseGetArgs(args: string[], defaultOut: string): GetArgs {
  const usage = 'use "get ID [--out DIR] [--force]"';
  let ref: string | undefined;
  let outDir = defaultOut;
  let force = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--force" || arg === "-f") force = true;
    else if (arg === "--out" || arg === "-o") {
      if (i + 1 >= args.length) {
        throw new UsageError(`--out needs a folder: ${usage}.`);
      }
      outDir = args[++i];
    } else if (arg.startsWith("--out=")) outDir = arg.slice(6);
    else if (arg.startsWith("-")) {
      throw new UsageError(`Unknown option "${arg}" for get: ${usage}.`);
    } else if (ref === undefined) ref = arg;
    else {throw new UsageError(
        `Give one ID at a time ("${arg}" is extra): ${usage}.`,
      );}
  }
  if (ref === undefined) throw new UsageError(`Missing file ID: ${usage}.`);
  return { ref, outDir, force };
}

function need(args: string[], usage: string): void {
  if (args.length === 0) {
    throw new UsageError(`Missing argument: use "${usage}".`);
  }
}

/**
 * The one shared file `ref` names, by an ID prefix of 4+ characters or its
 * exact name; throws a {@linkcode UsageError} for none or several.
 */
function pickOne<T extends { id: string; name: string }>(
  items: T[],
  ref: string,
  what: string,
  hint: string,
): T {
  const lower = ref.toLowerCase();
  const hits = items.filter((item) =>
    (lower.length >= 4 && item.id.startsWith(lower)) || item.name === ref
  );
  if (hits.length === 1) return hits[0];
  throw new UsageError(
    hits.length === 0
      ? `No ${what} matches "${ref}": type "${hint}" to see them.`
      : `"${ref}" matches ${hits.length} of them: give more of the ID.`,
  );
}

function expandHome(path: string): string {
  if (path !== "~" && !path.startsWith("~/")) return path;
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  return home ? home + path.slice(1) : path;
}

function addSignals(
  handlers: Partial<Record<Deno.Signal, () => void>>,
): { remove(): void } {
  const added: [Deno.Signal, () => void][] = [];
  for (const [name, handler] of Object.entries(handlers)) {
    try {
      Deno.addSignalListener(name as Deno.Signal, handler!);
      added.push([name as Deno.Signal, handler!]);
    } catch {
      // Windows has no SIGTERM.
    }
  }
  return {
    remove: () => added.forEach(([n, h]) => Deno.removeSignalListener(n, h)),
  };
}

/**
 * Splits a command line into words; double or single quotes keep spaces,
 * a backslash escapes the next character.
 *
 * @example
 * ```ts
 * splitWords('share "my file.txt"'); // ["share", "my file.txt"]
 * ```
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let quote = "";
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (char === "\\" && i + 1 < line.length && quote !== "'") {
      word += line[++i];
      started = true;
    } else if (quote) {
      if (char === quote) quote = "";
      else word += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      started = true;
    } else if (/\s/.test(char)) {
      if (started) words.push(word);
      word = "";
      started = false;
    } else {
      word += char;
      started = true;
    }
  }
  if (started) words.push(word);
  return words;
}
