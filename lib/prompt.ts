/**
 * The interactive prompt `peer` opens with no command: share, get, list,
 * search, help and quit, one peer server for everything it shares, and
 * shares and downloads running in the background while the user types.
 *
 * @module
 */

import process from "node:process";
import { createInterface, type Interface } from "node:readline";
import { type Address, formatAddress } from "./connection.ts";
import { parseFileId, UsageError } from "./cli_args.ts";
import { explainError } from "./cli_errors.ts";
import { download } from "./download.ts";
import {
  formatDuration,
  formatFileTable,
  formatSize,
  shortId,
  terminalSafe,
} from "./format.ts";
import { DEFAULT_PEER_PORT } from "./limits.ts";
import { PeerNode } from "./peer_node.ts";
import { listenForStop } from "./stop_signal.ts";
import { TrackerClient } from "./tracker_client.ts";

/** The text shown before each command. */
export const PROMPT = "p2p> ";

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
}

const HELP = [
  "Commands:",
  "  share PATH      share a file (quote names with spaces)",
  "  get ID          download a file by ID (16+ hex chars)",
  "  list            files the tracker knows",
  "  search TEXT     files whose name contains TEXT",
  "  help            this list",
  "  quit            stop sharing and leave (also Ctrl-D)",
];

/**
 * Reads commands from stdin until `quit`, end of input or SIGTERM, then
 * unregisters everything shared and returns.
 */
export async function runPrompt(options: PromptOptions): Promise<void> {
  const session = new PromptSession(options);
  await session.run();
}

class PromptSession {
  #options: PromptOptions;
  #rl: Interface;
  #node?: Promise<PeerNode>;
  #abort = new AbortController();
  #tasks = new Set<Promise<void>>();
  #live: boolean;
  #closed = false;

  constructor(options: PromptOptions) {
    this.#options = options;
    this.#live = Boolean(process.stdin.isTTY && process.stdout.isTTY);
    this.#rl = createInterface({
      input: process.stdin,
      output: process.stdout,
      prompt: PROMPT,
      terminal: this.#live,
    });
  }

  async run(): Promise<void> {
    using stop = listenForStop();
    stop.signal.addEventListener("abort", () => this.#rl.close());
    this.#rl.on("SIGINT", () => this.#clearLine());
    this.#rl.on("close", () => this.#closed = true);
    this.#say(
      `Tracker ${
        formatAddress(this.#options.tracker)
      }. Type "help" for commands.`,
    );
    this.#prompt();
    for await (const line of this.#rl) {
      if (!(await this.#dispatch(line))) break;
      this.#prompt();
    }
    await this.#shutDown();
  }

  /** Runs one command line; false means quit. */
  async #dispatch(line: string): Promise<boolean> {
    const [command, ...args] = splitWords(line);
    try {
      switch (command?.toLowerCase()) {
        case undefined:
          return true;
        case "quit":
        case "exit":
          return false;
        case "help":
        case "?":
          HELP.forEach((text) => this.#say(text));
          return true;
        case "share":
          this.#needArgs(args, "share PATH");
          args.forEach((path) => this.#background(this.#share(path)));
          return true;
        case "get":
          this.#needArgs(args, "get ID");
          this.#background(this.#get(parseFileId(args[0])));
          return true;
        case "list":
          await this.#list();
          return true;
        case "search":
          this.#needArgs(args, "search TEXT");
          await this.#list(args.join(" "));
          return true;
        default:
          this.#say(
            `Unknown command "${
              terminalSafe(command)
            }": type "help" for the list.`,
          );
          return true;
      }
    } catch (error) {
      this.#say(this.#explain(error));
      return true;
    }
  }

  #needArgs(args: string[], usage: string): void {
    if (args.length === 0) {
      throw new UsageError(`Missing argument: use "${usage}".`);
    }
  }

  async #share(path: string): Promise<void> {
    const node = await this.#peerNode();
    this.#print(`Hashing ${terminalSafe(path)}…`);
    const meta = await node.share(path, { signal: this.#abort.signal });
    this.#print(
      `Sharing ${terminalSafe(meta.name)} (${formatSize(meta.size)}): ${
        shortId(meta.id)
      }  full ID ${meta.id}`,
    );
  }

  async #get(id: string): Promise<void> {
    this.#print(`Getting ${id}…`);
    const result = await download(id, {
      tracker: this.#options.tracker,
      outDir: this.#options.outDir ?? "downloads",
      signal: this.#abort.signal,
    });
    this.#print(
      `Saved ${terminalSafe(result.path)} (${
        formatSize(result.meta.size)
      }, verified) in ${
        formatDuration(result.elapsedMs)
      } from ${result.peers.length} peer(s).`,
    );
  }

  async #list(text?: string): Promise<void> {
    const client = await TrackerClient.connect(this.#options.tracker);
    try {
      const files = text === undefined
        ? await client.list()
        : await client.search(text);
      formatFileTable(files).forEach((row) => this.#say(row));
    } finally {
      client.close();
    }
  }

  #peerNode(): Promise<PeerNode> {
    if (this.#node) return this.#node;
    const starting = PeerNode.start({
      tracker: this.#options.tracker,
      host: this.#options.host,
      port: this.#options.port ?? DEFAULT_PEER_PORT,
    });
    // A failed start (tracker down) is retried by the next share.
    starting.catch(() => this.#node = undefined);
    this.#node = starting;
    return starting;
  }

  #background(task: Promise<void>): void {
    const tracked = task.catch((error) => {
      if (!this.#abort.signal.aborted) this.#print(this.#explain(error));
    }).finally(() => this.#tasks.delete(tracked));
    this.#tasks.add(tracked);
  }

  async #shutDown(): Promise<void> {
    this.#rl.close();
    this.#abort.abort();
    await Promise.allSettled(this.#tasks);
    const node = await this.#node?.catch(() => undefined);
    if (node) {
      console.log("Unregistering from the tracker…");
      await node.close();
    }
  }

  #explain(error: unknown): string {
    return explainError(error, "help").message ?? String(error);
  }

  /** Prints the answer to a command, before the next prompt. */
  #say(text: string): void {
    console.log(text);
  }

  /** Prints a line from a background task without garbling what the user is typing. */
  #print(text: string): void {
    if (!this.#live) {
      console.log(text);
      return;
    }
    process.stdout.write(`\r\x1b[2K${text}\n`);
    this.#prompt(true);
  }

  /** Shows the prompt again unless input has ended. */
  #prompt(keepLine = false): void {
    if (!this.#closed) this.#rl.prompt(keepLine);
  }

  #clearLine(): void {
    this.#rl.write(null, { ctrl: true, name: "u" });
  }
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
