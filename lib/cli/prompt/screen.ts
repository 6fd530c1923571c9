/**
 * The prompt's terminal output: answers, messages from background work and
 * live progress bars drawn just above the prompt line. While the user is
 * typing, anything printed first erases the bars and the prompt (with the
 * partial input), writes its text, then draws the bars and the prompt again
 * with the input and cursor where they were, so the line being typed is
 * never garbled.
 *
 * Off a terminal it only writes lines.
 *
 * @module
 */

import type { Interface } from "node:readline";

/** Most transfers drawn as bars at once; the rest are counted. */
export const MAX_BARS = 6;

/** Where the screen writes: `process.stdout` or a stand-in. */
export interface ScreenOutput {
  /** Writes text. */
  write(text: string): unknown;
}

/** The parts of `node:readline`'s private state the screen needs. */
interface ReadlineInternals {
  prevRows?: number;
  _getDisplayPos?(text: string): { rows: number; cols: number };
}

/** Options for {@linkcode PromptScreen}. */
export interface PromptScreenOptions {
  /** Draw bars and redraw the prompt (a terminal); otherwise plain lines. */
  live: boolean;
  /** Show the prompt at all (input is a terminal). @default {live} */
  showPrompt?: boolean;
}

/** Output of one prompt session; see the module documentation. */
export class PromptScreen {
  #rl: Interface;
  #out: ScreenOutput;
  #live: boolean;
  #showPrompt: boolean;
  /** Whether the prompt is on screen waiting for input. */
  #waiting = false;
  /** Bar lines drawn above the prompt now. */
  #drawnBars = 0;
  #bars: string[] = [];
  #closed = false;

  /** Creates the screen for `rl`, writing to `output`. */
  constructor(
    rl: Interface,
    output: ScreenOutput,
    options: PromptScreenOptions,
  ) {
    this.#rl = rl;
    this.#out = output;
    this.#live = options.live;
    this.#showPrompt = options.showPrompt ?? options.live;
  }

  /** Whether bars are drawn (output is a terminal). */
  get live(): boolean {
    return this.#live;
  }

  /** Prints the answer to a command (or any line) without garbling input. */
  print(text: string): void {
    if (!this.#live || !this.#waiting) {
      this.#out.write(`${text}\n`);
      return;
    }
    this.#eraseArea();
    this.#out.write(`${text}\n`);
    this.#drawArea();
  }

  /** Replaces the live bars (ignored off a terminal). */
  setBars(lines: string[]): void {
    if (!this.#live) return;
    const shown = lines.length > MAX_BARS
      ? [
        ...lines.slice(0, MAX_BARS - 1),
        `… and ${lines.length - MAX_BARS + 1} more (type status)`,
      ]
      : lines;
    if (sameLines(shown, this.#bars)) return;
    this.#bars = shown;
    if (!this.#waiting) return;
    this.#eraseArea();
    this.#drawArea();
  }

  /** Shows `text` as the prompt from now on; redrawn at once if shown. */
  setPrompt(text: string): void {
    if (!this.#live || !this.#waiting || this.#closed) {
      this.#rl.setPrompt(text);
      return;
    }
    this.#eraseArea();
    this.#rl.setPrompt(text);
    this.#drawArea();
  }

  /** Shows the prompt (after the bars) and waits for input. */
  prompt(): void {
    if (this.#closed) return;
    this.#waiting = true;
    if (!this.#showPrompt) return;
    if (!this.#live) {
      this.#rl.prompt();
      return;
    }
    this.#drawArea();
  }

  /**
   * Call when a line was entered: readline has moved below it, leaving the
   * bars above the entered text; this removes them so the scrollback keeps
   * only the command.
   */
  lineEntered(line: string): void {
    if (!this.#waiting) return;
    this.#waiting = false;
    if (!this.#live || this.#drawnBars === 0) return;
    const text = this.#rl.getPrompt() + line;
    const rows = this.#displayRows(text) + 1 + this.#drawnBars;
    this.#out.write(`\x1b[${rows}A\r\x1b[0J${text}\n`);
    this.#drawnBars = 0;
  }

  /**
   * Call before readline may print a list of completions below the prompt
   * line: the bars are erased first, so that no copy of them stays above
   * the list. {@linkcode afterList} draws them again.
   */
  beforeList(): void {
    if (!this.#live || !this.#waiting || this.#drawnBars === 0) return;
    this.#eraseArea();
    (this.#rl as unknown as ReadlineInternals).prevRows = 0;
    this.#rl.prompt(true);
  }

  /**
   * Call once readline is done with a Tab (a list printed or not): the bars
   * are drawn above the prompt line where it is now.
   */
  afterList(): void {
    if (!this.#live || !this.#waiting || this.#closed) return;
    this.#eraseArea();
    this.#drawArea();
  }

  /** Erases the bars; nothing more is drawn. */
  close(): void {
    if (this.#closed) return;
    if (this.#live && this.#waiting) this.#eraseArea();
    this.#closed = true;
    this.#waiting = false;
  }

  /** Moves to the first bar (or the prompt) and clears to the end of screen. */
  #eraseArea(): void {
    const cursorRows = this.#rl.getCursorPos().rows;
    const up = cursorRows + this.#drawnBars;
    this.#out.write(`${up > 0 ? `\x1b[${up}A` : ""}\r\x1b[0J`);
    this.#drawnBars = 0;
  }

  /** Writes the bars and the prompt with the input, cursor in place. */
  #drawArea(): void {
    if (this.#closed) return;
    if (this.#bars.length > 0) this.#out.write(this.#bars.join("\n") + "\n");
    this.#drawnBars = this.#bars.length;
    // readline moves up by prevRows before redrawing; the cursor is
    // already at the start of a clean row.
    (this.#rl as unknown as ReadlineInternals).prevRows = 0;
    this.#rl.prompt(true);
  }

  #displayRows(text: string): number {
    const internals = this.#rl as unknown as ReadlineInternals;
    if (internals._getDisplayPos) return internals._getDisplayPos(text).rows;
    const columns = (this.#rl as unknown as { columns?: number }).columns ??
      80;
    return Math.floor([...text].length / Math.max(1, columns));
  }
}

function sameLines(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((line, i) => line === b[i]);
}
