/**
 * Tab completion for the prompt: command names, file paths after `share`
 * (and `--out`), and known file IDs and names after `get`, `peers`,
 * `unshare`, `link` and `cancel`, quoted as {@linkcode splitWords} reads
 * a line back. Pure apart from the folder listing it is given, so it is
 * tested without a terminal.
 *
 * @module
 */

import { terminalSafe } from "../../util/terminal_safe.ts";
import { UsageError } from "../../app/usage_error.ts";

/** The prompt's commands, in the order `help` lists them. */
export const COMMANDS: readonly string[] = [
  "share",
  "unshare",
  "link",
  "get",
  "list",
  "search",
  "status",
  "peers",
  "cancel",
  "doctor",
  "ui",
  "help",
  "quit",
];
/** Most candidates offered at once (a huge folder is cut short). */
export const MAX_COMPLETIONS = 200;

/** A file the completion can offer by short ID and by name. */
export interface KnownFile {
  /** Full or short file ID. */
  id: string;
  /** File name. */
  name: string;
}

/** One entry of a folder listing. */
export interface FolderEntry {
  /** Entry name. */
  name: string;
  /** Whether it is a folder (completed with a trailing `/`). */
  isDirectory: boolean;
}

/** Where completion candidates come from. */
export interface CompletionSource {
  /** Files seen in `list`/`search` answers and files shared here. */
  known(): KnownFile[];
  /** Files this process shares (for `unshare` and `link`). */
  shared(): KnownFile[];
  /** Running transfers by number, ID and name (for `cancel`). */
  transfers(): KnownFile[];
  /** Lists a folder; rejects if it cannot. @default {Deno.readDir} */
  readDir?(path: string): Promise<FolderEntry[]>;
  /** The home folder `~` stands for. @default {$HOME} */
  home?: string;
}

/** The word under completion, as typed and as meant. */
interface WordAt {
  /** Earlier words, unquoted. */
  before: string[];
  /** The last word as typed (what completion replaces). */
  raw: string;
  /** The last word unquoted. */
  text: string;
  /** The open quote character, or "". */
  quote: string;
}

/**
 * Completes `line` (the text before the cursor): resolves to the
 * candidates and the typed part they replace, as `node:readline`'s
 * completer returns them.
 *
 * @example
 * ```ts
 * await complete("sh", source); // [["share "], "sh"]
 * ```
 */
export async function complete(
  line: string,
  source: CompletionSource,
): Promise<[string[], string]> {
  const word = wordAt(line);
  const [command, ...args] = word.before;
  let candidates: string[];
  if (command === undefined) {
    candidates = COMMANDS.map((name) => `${name} `);
  } else {
    const previous = args.at(-1);
    const verb = command.toLowerCase();
    if (word.text.startsWith("-") && verb === "get") {
      candidates = ["--out ", "--force "];
    } else if (word.text.startsWith("-") && verb === "share") {
      candidates = ["--private "];
    } else if (verb === "share" || (verb === "get" && previous === "--out")) {
      return [await paths(word, source), word.raw];
    } else if (verb === "get" || verb === "peers") {
      candidates = files(source.known(), word.quote);
    } else if (verb === "unshare" || verb === "link") {
      candidates = files(source.shared(), word.quote);
    } else if (verb === "cancel") {
      candidates = files(source.transfers(), word.quote);
    } else if (verb === "quit" && args.length === 0) {
      candidates = ["--force"];
    } else if (verb === "help" && args.length === 0) {
      candidates = COMMANDS.slice();
    } else {
      candidates = [];
    }
  }
  return [pick(candidates, word.raw), word.raw];
}

function pick(candidates: string[], typed: string): string[] {
  const lower = typed.toLowerCase();
  const hits = [...new Set(candidates)].filter((candidate) =>
    candidate.toLowerCase().startsWith(lower)
  );
  return hits.slice(0, MAX_COMPLETIONS);
}

function files(known: KnownFile[], quote: string): string[] {
  const words: string[] = [];
  for (const file of known) {
    words.push(file.id);
    // A name the terminal would garble cannot be typed anyway.
    if (terminalSafe(file.name) === file.name) {
      words.push(encode(file.name, quote, true));
    }
  }
  return words;
}

async function paths(
  word: WordAt,
  source: CompletionSource,
): Promise<string[]> {
  const slash = word.text.lastIndexOf("/");
  const folder = word.text.slice(0, slash + 1);
  const start = word.text.slice(slash + 1);
  const home = source.home ?? homeDir();
  const listed = folder === ""
    ? "."
    : folder.startsWith("~/") && home
    ? home + folder.slice(1)
    : folder;
  let entries: FolderEntry[];
  try {
    entries = await (source.readDir ?? listFolder)(listed);
  } catch {
    return [];
  }
  const hits = entries
    .filter((entry) =>
      entry.name.startsWith(start) &&
      (start.startsWith(".") || !entry.name.startsWith(".")) &&
      terminalSafe(entry.name) === entry.name
    )
    .map((entry) =>
      entry.isDirectory
        ? encode(`${folder}${entry.name}/`, word.quote, false)
        : encode(`${folder}${entry.name}`, word.quote, true)
    )
    .filter((candidate) => candidate.startsWith(word.raw))
    .sort();
  return hits.slice(0, MAX_COMPLETIONS);
}

async function listFolder(path: string): Promise<FolderEntry[]> {
  const entries: FolderEntry[] = [];
  for await (const entry of Deno.readDir(path)) {
    entries.push({ name: entry.name, isDirectory: entry.isDirectory });
    if (entries.length >= 10 * MAX_COMPLETIONS) break;
  }
  return entries;
}

function homeDir(): string | undefined {
  try {
    return Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  } catch {
    return undefined;
  }
}

/**
 * Writes `text` as the prompt reads it back: inside the open quote, or
 * with spaces, quotes and backslashes escaped. A finished word gets its
 * closing quote and a space.
 */
export function encode(text: string, quote: string, finished: boolean): string {
  if (quote) {
    const escaped = quote === '"' ? text.replace(/(["\\])/g, "\\$1") : text;
    return `${quote}${escaped}${finished ? `${quote} ` : ""}`;
  }
  const escaped = text.replace(/([\s"'\\])/g, "\\$1");
  return finished ? `${escaped} ` : escaped;
}

/**
 * Splits a command line into words; double or single quotes keep spaces,
 * a backslash escapes the next character. Throws a `UsageError` for a
 * quote left open, as a shell refuses it.
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
  if (quote) {
    throw new UsageError(
      `This line opens a ${quote} it never closes: close it, or put \\ before it (it\\'s.txt).`,
    );
  }
  if (started) words.push(word);
  return words;
}

/** Splits `line` into finished words and the one being typed. */
function wordAt(line: string): WordAt {
  const before: string[] = [];
  let raw = "";
  let text = "";
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (char === "\\" && i + 1 < line.length && quote !== "'") {
      raw += char + line[i + 1];
      text += line[++i];
    } else if (quote) {
      raw += char;
      if (char === quote) quote = "";
      else text += char;
    } else if (char === '"' || char === "'") {
      raw += char;
      quote = char;
    } else if (/\s/.test(char)) {
      if (raw) before.push(text);
      raw = "";
      text = "";
    } else {
      raw += char;
      text += char;
    }
  }
  return { before, raw, text, quote };
}
