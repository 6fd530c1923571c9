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
  /** Bytes done. */
  done: number;
  /** Bytes in all. */
  total: number;
  /** Current speed; measured from the start when not given. */
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
    this.#write(`\r\x1b[2K${shorten(safe, this.#columns() - 1)}`);
    this.#drawn = true;
  }

  /** Erases the live line (so a final message can take its place). */
  clear(): void {
    if (!this.#drawn || !this.#live) return;
    this.#write("\r\x1b[2K");
    this.#drawn = false;
  }

  #draw(state: ProgressState, now: number): void {
    const elapsed = Math.max(1, now - this.#started);
    const speed = state.bytesPerSecond ?? (state.done * 1000) / elapsed;
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
 * One live progress line: `[#####-------] name  45.0%  9.0 MiB / 20.0 MiB
 * 3.0 MiB/s  ETA 4s  2 peers`, fitted into `options.columns` by shortening
 * the name first (the numbers matter more). The speed is
 * `state.bytesPerSecond`, or unknown.
 */
export function formatBarLine(
  state: ProgressState,
  options: BarLineOptions,
): string {
  const speed = state.bytesPerSecond ?? 0;
  const room = Math.max(10, options.columns - BAR_WIDTH - 4);
  const numbers = describe({ ...state, label: "" }, speed);
  const label = shorten(terminalSafe(state.label), room - numbers.length);
  const text = shorten(label + numbers, room);
  return `${bar(state, options.color ?? false)} ${text}`;
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
 * `movie.mp4  45.0%  9.0 MiB / 20.0 MiB  3.0 MiB/s  ETA 4s  2 peers`.
 */
export function describe(state: ProgressState, bytesPerSecond: number): string {
  const percent = state.total > 0 ? (100 * state.done) / state.total : 100;
  const left = state.total - state.done;
  const eta = left <= 0
    ? 0
    : bytesPerSecond > 0
    ? (1000 * left) / bytesPerSecond
    : Infinity;
  const parts = [
    terminalSafe(state.label),
    `${percent.toFixed(1)}%`,
    `${formatSize(state.done)} / ${formatSize(state.total)}`,
    formatSpeed(bytesPerSecond),
    `ETA ${formatDuration(eta)}`,
  ];
  if (state.peers !== undefined) {
    const ways = [
      ...Object.entries(state.routes ?? {})
        .filter(([, count]) => count > 0)
        .map(([route, count]) => `${count} ${route}`),
      ...Object.entries(state.found ?? {})
        .filter(([, count]) => count > 0)
        .map(([where, count]) => `${count} ${FOUND_WORDS[where] ?? where}`),
    ];
    parts.push(
      `${state.peers} ${state.peers === 1 ? "peer" : "peers"}${
        ways.length > 0 ? ` (${ways.join(", ")})` : ""
      }`,
    );
  }
  return parts.join("  ");
}

function shorten(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return width <= 1 ? "" : `${chars.slice(0, width - 1).join("")}…`;
}

function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80;
  }
}
