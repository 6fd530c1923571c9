/**
 * The progress line for hashing and downloads, on stderr. On a terminal it
 * is one live line (bar, percent, bytes, speed, ETA, peers) redrawn in place
 * with `\r` at most ten times a second; elsewhere it is a plain line at most
 * every few seconds, so logs stay readable.
 *
 * @module
 */

import { formatDuration, formatSize, formatSpeed } from "./format.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { rateOver } from "../util/speed_meter.ts";
import { ellipsizeEnd, ellipsizeMiddle, widthOf } from "./_fit.ts";

/** Least time between two redraws on a terminal (10 per second). */
export const TERMINAL_INTERVAL_MS = 100;
/** Least time between two plain lines when not on a terminal. */
export const PLAIN_INTERVAL_MS = 5_000;
/** Characters in the bar drawn on a terminal. */
export const BAR_WIDTH = 12;

/** Where progress is written: `Deno.stderr` or a stand-in for tests. */
export interface ProgressWriter {
  /** Writes bytes synchronously. */
  writeSync(bytes: Uint8Array): number;
  /** Whether the writer is a terminal. */
  isTerminal(): boolean;
}

/** Options for {@linkcode ProgressLine}. */
export interface ProgressLineOptions {
  /** Where to write. @default {Deno.stderr} */
  writer?: ProgressWriter;
  /** Draw a live line; otherwise plain lines. @default {writer.isTerminal()} */
  live?: boolean;
  /** Use colour on a live line. @default {!Deno.noColor} (honours NO_COLOR) */
  color?: boolean;
  /** Write nothing at all. @default {false} */
  quiet?: boolean;
  /** Width of the terminal. @default {Deno.consoleSize().columns, or 80} */
  columns?: () => number;
  /** Clock in ms. @default {performance.now} */
  now?: () => number;
}

/** One snapshot of work in progress. */
export interface ProgressState {
  /** What is being worked on, e.g. `hashing movie.mp4`; escaped before printing. */
  label: string;
  /**
   * What it does meanwhile, said after the label (`movie.mp4: waiting for
   * peers`) and kept whole when the label is shortened; escaped too.
   */
  note?: string;
  /** Bytes done. */
  done: number;
  /** Bytes in all. */
  total: number;
  /** Current speed; measured from the start when not given (see `rateOver`). */
  bytesPerSecond?: number;
  /** Peers connected, for downloads. */
  peers?: number;
  /** Of those, how many came other than straight, by way. */
  routes?: { mapped?: number; punched?: number; relayed?: number };
  /** Of those, how many were found other than by a tracker, by where. */
  found?: { lan?: number; dht?: number };
}

/** How peers found other than by a tracker are counted in a progress line. */
const FOUND_WORDS: Readonly<Record<string, string>> = {
  lan: "on the LAN",
  dht: "from the DHT",
};

const encoder = new TextEncoder();

/** A throttled progress display; call `update` as often as you like. */
export class ProgressLine {
  #writer: ProgressWriter;
  #live: boolean;
  #color: boolean;
  #quiet: boolean;
  #columns: () => number;
  #now: () => number;
  #started: number;
  #lastDraw = -Infinity;
  #drawn = false;

  /** Creates a progress display; nothing is written until `update`. */
  constructor(options: ProgressLineOptions = {}) {
    this.#writer = options.writer ?? Deno.stderr;
    this.#live = options.live ?? this.#writer.isTerminal();
    this.#color = options.color ?? !Deno.noColor;
    this.#quiet = options.quiet ?? false;
    this.#columns = options.columns ?? terminalColumns;
    this.#now = options.now ?? (() => performance.now());
    this.#started = this.#now();
    // Plain output waits a whole interval: short jobs print no progress.
    if (!this.#live) this.#lastDraw = this.#started;
  }

  /** Shows `state` if enough time has passed since the last draw. */
  update(state: ProgressState): void {
    if (this.#quiet) return;
    const now = this.#now();
    const interval = this.#live ? TERMINAL_INTERVAL_MS : PLAIN_INTERVAL_MS;
    const finished = state.total > 0 && state.done >= state.total;
    if (now - this.#lastDraw < interval && !(finished && this.#live)) return;
    this.#lastDraw = now;
    this.#draw(state, now);
  }

  /** True when drawing one live line on a terminal, false for plain lines. */
  get live(): boolean {
    return this.#live;
  }

  /**
   * Shows `text` at once, unthrottled (the caller decides when): on a
   * terminal it replaces the live line, fitted to its width; elsewhere it
   * is one plain line. Escaped before printing.
   */
  show(text: string): void {
    if (this.#quiet) return;
    const safe = terminalSafe(text);
    if (!this.#live) {
      this.#write(`${safe}\n`);
      return;
    }
    this.#write(`\r\x1b[2K${ellipsizeEnd(safe, this.#columns() - 1)}`);
    this.#drawn = true;
  }

  /** Erases the live line (so a final message can take its place). */
  clear(): void {
    if (!this.#drawn || !this.#live) return;
    this.#write("\r\x1b[2K");
    this.#drawn = false;
  }

  #draw(state: ProgressState, now: number): void {
    const speed = state.bytesPerSecond ??
      rateOver(state.done, now - this.#started);
    if (!this.#live) {
      this.#write(`${describe(state, speed)}\n`);
      return;
    }
    const line = formatBarLine({ ...state, bytesPerSecond: speed }, {
      columns: this.#columns(),
      color: this.#color,
    });
    this.#write(`\r\x1b[2K${line}`);
    this.#drawn = true;
  }

  #write(text: string): void {
    try {
      this.#writer.writeSync(encoder.encode(text));
    } catch {
      // A closed stderr must never stop a transfer.
    }
  }
}

/** Options for {@linkcode formatBarLine}. */
export interface BarLineOptions {
  /** Width of the terminal; the line is shorter than this. */
  columns: number;
  /** Colour the filled part of the bar. @default {false} */
  color?: boolean;
}

/**
 * Columns of a name kept, at the least, before the words after it are cut
 * down to make room (or the whole name, when shorter).
 */
export const MIN_NAME_COLUMNS = 24;
/** Columns left for the text after the bar, at the least; else no bar. */
const MIN_TEXT_COLUMNS = 30;

/**
 * One live progress line: `[#####-------] name  45.0%  9.0 MiB / 20.0 MiB
 * 3.0 MiB/s  ETA 4s  2 peers`, fitted into `options.columns`. The name keeps
 * its start and end (cut in the middle with `…`) and at least
 * MIN_NAME_COLUMNS; to make room for it, the words after it go, least
 * useful first: how peers were reached, the bytes, the ETA, the peers, the
 * speed (the percent stays). On a very narrow terminal the bar goes too.
 * The speed is `state.bytesPerSecond`, or unknown.
 */
export function formatBarLine(
  state: ProgressState,
  options: BarLineOptions,
): string {
  return fitBarLine(
    bar(state, options.color ?? false),
    terminalSafe(state.label),
    wordChoices(state, state.bytesPerSecond ?? 0),
    options.columns,
  );
}

/**
 * `bar` (BAR_WIDTH + 2 columns), then `name` and the first of `choices`
 * (the words after it, fullest first) that leaves the name at least
 * MIN_NAME_COLUMNS, the name cut in the middle; within `columns` less one,
 * and without the bar when that leaves too little.
 */
export function fitBarLine(
  bar: string,
  name: string,
  choices: readonly string[],
  columns: number,
): string {
  // Never the last column: some terminals wrap the cursor there.
  const width = Math.max(1, columns - 1);
  const room = width - BAR_WIDTH - 3;
  return room >= MIN_TEXT_COLUMNS
    ? `${bar} ${fitLine(name, choices, room)}`
    : fitLine(name, choices, width);
}

/**
 * `name` then the first of `choices` (the words after it, fullest first,
 * each starting with its separator) that leaves the name MIN_NAME_COLUMNS,
 * the name cut in the middle to what is left; within `width` columns.
 */
function fitLine(
  name: string,
  choices: readonly string[],
  width: number,
): string {
  const wanted = Math.min(widthOf(name), MIN_NAME_COLUMNS);
  for (const words of choices) {
    const left = width - widthOf(words);
    if (left >= wanted) return ellipsizeMiddle(name, left) + words;
  }
  // Too narrow for even the fewest words and the name: a little of both.
  const fewest = choices.at(-1) ?? "";
  const left = Math.max(width - widthOf(fewest), Math.min(wanted, 8));
  return ellipsizeEnd(ellipsizeMiddle(name, left) + fewest, width);
}

function bar(state: ProgressState, color: boolean): string {
  const fraction = state.total > 0 ? Math.min(1, state.done / state.total) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const full = "#".repeat(filled);
  const empty = "-".repeat(BAR_WIDTH - filled);
  return color ? `[\x1b[32m${full}\x1b[0m${empty}]` : `[${full}${empty}]`;
}

/**
 * The words of a progress line without the bar:
 * `movie.mp4  45.0%  9.0 MiB / 20.0 MiB  3.0 MiB/s  ETA 4s  2 peers`; the
 * count of peers left out once finished with none connected.
 */
export function describe(state: ProgressState, bytesPerSecond: number): string {
  return terminalSafe(state.label) + wordChoices(state, bytesPerSecond)[0];
}

/** The parts of a progress line after the name. */
interface Words {
  note?: string;
  percent: string;
  bytes: string;
  speed: string;
  eta: string;
  peers?: string;
  ways?: string;
}

/**
 * The words after the name, from all of them to the fewest (a note and the
 * percent), each with its separators: `  45.0%  9.0 MiB /
 * 20.0 MiB  3.0 MiB/s  ETA 4s  2 peers (1 relayed)`.
 */
function wordChoices(state: ProgressState, bytesPerSecond: number): string[] {
  const words = wordsOf(state, bytesPerSecond);
  const line = (...parts: (string | undefined)[]) =>
    `${words.note === undefined ? "" : `: ${words.note}`}${
      parts.filter((part) => part !== undefined).map((part) => `  ${part}`)
        .join("")
    }`;
  const peers = words.peers === undefined
    ? undefined
    : words.ways === undefined
    ? words.peers
    : `${words.peers} (${words.ways})`;
  const { percent, bytes, speed, eta } = words;
  return [
    line(percent, bytes, speed, eta, peers),
    line(percent, bytes, speed, eta, words.peers),
    line(percent, speed, eta, words.peers),
    line(percent, speed, words.peers),
    line(percent, speed),
    line(percent),
  ];
}

function wordsOf(state: ProgressState, bytesPerSecond: number): Words {
  const percent = state.total > 0 ? (100 * state.done) / state.total : 100;
  const left = state.total - state.done;
  // With no peer connected (waiting for one) nothing more is coming yet.
  const eta = left <= 0
    ? 0
    : bytesPerSecond > 0 && state.peers !== 0
    ? (1000 * left) / bytesPerSecond
    : Infinity;
  const words: Words = {
    // Rounded down: 100.0% only once the last byte is in.
    percent: `${(Math.floor(percent * 10) / 10).toFixed(1)}%`,
    bytes: `${formatSize(state.done)} / ${formatSize(state.total)}`,
    speed: formatSpeed(bytesPerSecond),
    eta: `ETA ${formatDuration(eta)}`,
  };
  if (state.note !== undefined) words.note = terminalSafe(state.note);
  // The peers of a finished download leave once its last piece is in:
  // "0 peers" would belie them (what each sent is said next).
  const finished = state.total > 0 && left <= 0;
  if (state.peers === undefined || (finished && state.peers === 0)) {
    return words;
  }
  words.peers = `${state.peers} ${state.peers === 1 ? "peer" : "peers"}`;
  const ways = [
    ...Object.entries(state.routes ?? {})
      .filter(([, count]) => count > 0)
      .map(([route, count]) => `${count} ${route}`),
    ...Object.entries(state.found ?? {})
      .filter(([, count]) => count > 0)
      .map(([where, count]) => `${count} ${FOUND_WORDS[where] ?? where}`),
  ];
  if (ways.length > 0) words.ways = ways.join(", ");
  return words;
}

function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80;
  }
}
