/**
 * The interactive prompt `peer` opens with no command. One peer server
 * serves everything the session shares; on a terminal, hashing and
 * downloads run in the background with live progress bars above the prompt
 * while the user types. Commands piped in are a script: each one, its
 * hashing or download included, ends before the next line is read.
 * Line editing and Tab completion come from `node:readline`, history is
 * kept between runs ({@linkcode History}).
 *
 * This file is the readline loop: input, signals, bars, the quit question
 * and shutting down. What each command does is {@linkcode Session}'s; how a
 * line is read and answered is in `commands.ts`.
 *
 * @module
 */

import { describeTransfer, transferBar } from "./transfer_lines.ts";
import { addSignalListeners } from "../../util/signals.ts";
import process from "node:process";
import { createInterface, type Interface } from "node:readline";
import { formatAddress } from "../../net/connection.ts";
import type { TrackerAddress } from "../../discovery/tracker_client.ts";
import { explainError, FAILURE_EXIT_CODE } from "../errors.ts";
import { shortId } from "../../app/file_id.ts";
import { terminalSafe } from "../../util/terminal_safe.ts";
import { type DiscoveryOff, offFrom, SHUTDOWN_TIMEOUT_MS } from "../flags.ts";
import { startPeerSession } from "../peer_session.ts";
import type { PeerNodeOptions } from "../../app/peer_node_types.ts";
import { serveUi } from "../ui.ts";
import type { WebUi } from "../../web/server.ts";
import type { Session } from "../../app/session.ts";
import { PLAIN_INTERVAL_MS } from "../progress.ts";
import { type CommandContext, type Next, runCommand } from "./commands.ts";
import { showEvent } from "./events.ts";
import { HELP_COLUMNS } from "./help.ts";
import { complete, type KnownFile } from "./completion.ts";
import { History, holdsSecret, MAX_HISTORY } from "./history.ts";
import { dataDir } from "../../app/data_dir.ts";
import { PromptScreen } from "./screen.ts";
import { settleWithin } from "../../util/settle_within.ts";
import { connectFailure } from "../../discovery/tracker_errors.ts";
import { trackersOf } from "../../discovery/tracker_group.ts";
import { CONNECT_TIMEOUT_MS } from "../../protocol/limits.ts";

/** The text shown before each command. */
export const PROMPT = "p2p> ";
/** Least time between two redraws of the live bars. */
export const BAR_INTERVAL_MS = 200;
/** The answer to the quit question when it is not yes. */
const NOT_QUITTING = "Not quitting.";
/** Longest wait for cancelled transfers to close their files when quitting. */
export const TRANSFER_STOP_TIMEOUT_MS = 1_000;

/** Options for {@linkcode runPrompt}. */
export interface PromptOptions {
  /** Tracker to register with and ask (with its team key, if it needs one). */
  tracker: TrackerAddress;
  /** More trackers to register with and ask. @default {none} */
  moreTrackers?: readonly TrackerAddress[];
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
  /** Ask the router to forward the port when needed. @default {true} */
  portMapping?: boolean;
  /** Find and offer files on the local network. @default {false} */
  lan?: boolean;
  /** Find and offer files in the DHT, with these options. @default {off} */
  dht?: PeerNodeOptions["dht"];
  /** What turned LAN discovery or the DHT off, for `doctor`. @default {offFrom(lan, dht)} */
  off?: DiscoveryOff;
}

/**
 * Runs the prompt on stdin/stdout until `quit`, end of input or SIGTERM,
 * then unregisters everything shared and resolves. Rejects only if the
 * peer server cannot start (e.g. the port is in use).
 *
 * Resolves to the exit code: commands piped in (stdin not a terminal) are a
 * script, whose caller can only check the exit status, so when any of them
 * failed it is {@linkcode FAILURE_EXIT_CODE}; otherwise 0. A script runs
 * one command at a time (a `share` or `get` ends before the next line is
 * read) and never asks: `quit` and the end of input both quit.
 */
export async function runPrompt(options: PromptOptions): Promise<number> {
  // Notes from the node wait for the loop that prints them.
  const started: { prompt?: PromptLoop } = {};
  const note = (line: string) => started.prompt?.note(line);
  await using peer = await startPeerSession({
    ...options,
    log: options.verbose ? note : undefined,
    note,
  });
  const history = await History.load(
    options.dataDir === undefined ? dataDir() : options.dataDir ?? undefined,
  );
  const prompt = new PromptLoop(options, peer.session, history);
  started.prompt = prompt;
  await prompt.run();
  return prompt.scriptFailed ? FAILURE_EXIT_CODE : 0;
}

class PromptLoop {
  #options: PromptOptions;
  #session: Session;
  #history: History;
  #rl: Interface;
  #screen: PromptScreen;
  #context: CommandContext;
  #tasks = new Set<Promise<unknown>>();
  #interactive: boolean;
  #confirming = false;
  #failures = 0;
  /** Set by SIGTERM: leave at once, running no more lines. */
  #terminated = false;
  #terminate: () => void = () => {};
  #terminating = new Promise<void>((resolve) => this.#terminate = resolve);
  #ticker?: ReturnType<typeof setInterval>;
  #lastPlain = performance.now();
  #ui?: Promise<WebUi>;

  constructor(options: PromptOptions, session: Session, history: History) {
    this.#options = options;
    this.#session = session;
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
    this.#context = {
      session,
      print: (text) => this.#screen.print(text),
      note: (text) => this.#note(text),
      background: (task) => this.#background(task),
      drawBars: () => this.#drawBars(),
      ui: () => this.#startUi(),
      off: options.off ?? offFrom(options),
      // Off a terminal, help keeps to its default width.
      columns: () =>
        (process.stdout.isTTY ? process.stdout.columns : undefined) ||
        HELP_COLUMNS,
    };
    // Never removed: a transfer that stops after shutdown's wait still reports.
    session.listen((event) => showEvent(event, this.#context));
  }

  /** Whether commands were piped in (no terminal) and any of them failed. */
  get scriptFailed(): boolean {
    return !this.#interactive && this.#failures > 0;
  }

  async run(): Promise<void> {
    const onTerm = () => {
      this.#terminated = true;
      this.#terminate();
      this.#rl.close();
    };
    const onInt = () =>
      this.#confirming ? this.#notQuitting() : this.#hintQuit();
    const signals = addSignalListeners({ SIGTERM: onTerm, SIGINT: onInt });
    const lines = new LineQueue();
    this.#rl.on(
      "SIGINT",
      () => this.#confirming ? this.#notQuitting() : this.#clearLine(),
    );
    this.#answerNoToCtrlD();
    // A private link is not kept for Up either (History keeps it out of
    // the file): its secret shows only where it was typed.
    this.#rl.on("history", (lines: string[]) => {
      if (lines.length > 0 && holdsSecret(lines[0])) lines.shift();
    });
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
        if (await this.#handle(line) === "quit" || this.#terminated) break;
        this.#screen.prompt();
      }
    } finally {
      // Listening until the end keeps a late SIGTERM from killing the
      // process halfway through unregistering.
      await this.#shutDown();
      signals[Symbol.dispose]();
    }
  }

  #greet(): void {
    if (this.#options.quiet) return;
    // Ctrl-D means something only on a terminal.
    const leave = this.#interactive ? '"quit" or Ctrl-D' : '"quit"';
    const trackers = trackersOf(
      this.#options.tracker,
      this.#options.moreTrackers,
    );
    this.#screen.print(
      // "with": nothing is registered yet (a share's line says "via").
      `Serving on ${formatAddress(this.#session.address)} with tracker${
        trackers.length > 1 ? "s" : ""
      } ${
        trackers.map(formatAddress).join(", ")
      }. Type "help" for commands, ${leave} to leave.`,
    );
    // Said once, as soon as known: every share and lookup needs it.
    if (trackers.length > 1) {
      // One that cannot be used is told of by the session; none, here.
      this.#session.checkTrackers().then((none) => {
        if (none === undefined) return;
        this.#note(
          `${
            (none as Error).message
          } Sharing and lookups fail until one can be used.`,
        );
      });
      return;
    }
    this.#session.trackerProblem().then((problem) => {
      if (problem === undefined) return;
      const why = connectFailure(
        (problem as Error).cause ?? problem,
        CONNECT_TIMEOUT_MS,
      );
      this.#note(
        `The tracker ${
          formatAddress(this.#options.tracker)
        } cannot be used (${why}): sharing and lookups through it fail until it can; or restart this prompt with --tracker HOST:PORT.`,
      );
    });
  }

  /** Runs one entered line; answers the quit question when one is open. */
  async #handle(line: string): Promise<Next> {
    if (this.#confirming) {
      this.#confirming = false;
      this.#rl.setPrompt(PROMPT);
      if (/^\s*y(es)?\s*$/i.test(line)) return "quit";
      this.#screen.print(NOT_QUITTING);
      return "continue";
    }
    const next = await this.#dispatch(line);
    if (!this.#interactive) return await this.#scripted(next);
    if (next !== "confirm-quit") return next;
    const count = this.#session.transfers().length;
    this.#confirming = true;
    this.#rl.setPrompt(
      `${count} ${
        count === 1 ? "transfer is" : "transfers are"
      } running; quit and stop ${count === 1 ? "it" : "them"}? [y/N] `,
    );
    return "continue";
  }

  /**
   * A script's command ends before the next line is read: the shares and
   * gets it started finish (or fail) first, so a later line can use them,
   * and no line is ever taken as an answer: `quit` quits without asking
   * (what the script started has ended by then).
   */
  async #scripted(next: Next): Promise<Next> {
    await Promise.race([
      Promise.allSettled([...this.#tasks]),
      this.#terminating,
    ]);
    return next === "continue" ? "continue" : "quit";
  }

  /** Runs one command line; a failed command is reported, not fatal. */
  async #dispatch(line: string): Promise<Next> {
    try {
      return await runCommand(line, this.#context);
    } catch (error) {
      this.#reportError(error);
      return "continue";
    }
  }

  #complete(line: string, done: CompleterCallback): void {
    const shared = this.#session.shared().map(({ id, name }) => ({
      id: shortId(id),
      name,
    }));
    const known: KnownFile[] = this.#session.known().map(({ id, name }) => ({
      id: shortId(id),
      name,
    }));
    complete(line, {
      known: () => [...known, ...shared],
      shared: () => shared,
      transfers: () =>
        // A folder's own name: what `status` adds after it changes.
        this.#session.transfers().map((t) => ({
          id: `#${t.number}`,
          name: t.fileName,
        })),
    }).then(
      (result) => {
        // Several: readline may list them below the prompt line, and
        // does so once this callback returns (in a microtask).
        const several = result[0].length > 1;
        if (several) this.#screen.beforeList();
        done(null, result);
        if (several) setTimeout(() => this.#screen.afterList(), 0);
      },
      () => done(null, [[], line]),
    );
  }

  #background(task: Promise<unknown>): void {
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
    const transfers = this.#session.transfers();
    const now = performance.now();
    if (transfers.length === 0) this.#lastPlain = now;
    if (now - this.#lastPlain < PLAIN_INTERVAL_MS) return;
    this.#lastPlain = now;
    for (const t of transfers) {
      this.#screen.print(`progress: ${describeTransfer(t)}`);
    }
  }

  #drawBars(): void {
    if (this.#options.quiet || !this.#screen.live) return;
    const columns = process.stdout.columns || 80;
    const color = !Deno.noColor;
    this.#screen.setBars(
      this.#session.transfers().map((t) => transferBar(t, columns, color)),
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
    this.#failures++;
    const { message, unexpected } = explainError(error, "help");
    if (message !== "") this.#screen.print(message ?? String(error));
    if (unexpected && this.#options.verbose && error instanceof Error) {
      this.#screen.print(terminalSafe(error.stack ?? ""));
    }
  }

  #clearLine(): void {
    // Ctrl-C: the line goes, transfers stay.
    this.#rl.write(null, { ctrl: true, name: "e" });
    this.#rl.write(null, { ctrl: true, name: "u" });
  }

  /**
   * Ctrl-C or Ctrl-D at the quit question: the answer is No, said at once,
   * and the next line typed is a command again.
   */
  #notQuitting(): void {
    this.#confirming = false;
    this.#clearLine();
    this.#screen.setPrompt(PROMPT);
    this.#screen.print(NOT_QUITTING);
    if (!this.#screen.live) this.#screen.prompt();
  }

  /**
   * Makes Ctrl-D at the quit question answer No: readline closes itself on
   * Ctrl-D (an empty line), so its close is held back then. SIGTERM and
   * the end of input still close it.
   */
  #answerNoToCtrlD(): void {
    const close = this.#rl.close.bind(this.#rl);
    this.#rl.close = () => {
      if (
        this.#confirming && !this.#terminated && !process.stdin.readableEnded
      ) {
        this.#notQuitting();
        return;
      }
      close();
    };
  }

  #hintQuit(): void {
    this.#screen.print('Type "quit" (or press Ctrl-D) to leave.');
  }

  /** Serves the web page on this session, once; resolves with its address. */
  async #startUi(): Promise<string> {
    this.#ui ??= serveUi(this.#session, this.#options.tracker, {
      print: (line) => {
        if (!line.startsWith("Web page: ")) this.#note(line);
      },
    }).catch((error) => {
      this.#ui = undefined;
      throw error;
    });
    return (await this.#ui).url;
  }

  async #shutDown(): Promise<void> {
    clearInterval(this.#ticker);
    await this.#ui?.then((ui) => ui.close(), () => {});
    this.#screen.close();
    this.#rl.close();
    for (const transfer of this.#session.transfers()) transfer.cancel();
    await settleWithin(
      Promise.allSettled([...this.#tasks]).then(() => {}),
      TRANSFER_STOP_TIMEOUT_MS,
    );
    const count = this.#session.shared().length;
    await settleWithin(this.#session.close(), SHUTDOWN_TIMEOUT_MS);
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
