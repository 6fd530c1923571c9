/**
 * What the prompt's `help` prints: each command and what it does.
 *
 * @module
 */

import { formatDuration } from "../format.ts";
import { DEFAULT_WAIT_MS } from "../../app/session.ts";

const HELP_TITLE =
  "Commands (Tab completes; quote or backslash-escape spaces in names):";
/** Each command and what it does, wrapped to the terminal when printed. */
const HELP: readonly (readonly [string, string])[] = [
  [
    "share [--private] PATH…",
    "share files or folders (one ID per folder), hashed in the background; each prints the link to pass on (--private: only whoever has the link can find and get it)",
  ],
  ["unshare ID", "stop sharing a file (ID, prefix or name)"],
  ["link ID", "print a shared file's link again"],
  [
    "get LINK [--out DIR] [--force]",
    `download a file by its link, its ID (16+ hex chars) or a name seen in list; shared once saved, until unshare; waits for a sharer up to ${
      formatDuration(DEFAULT_WAIT_MS)
    } (--wait 30s; 0 fails at once)`,
  ],
  ["list", "files the tracker knows"],
  ["search TEXT", "files whose name contains every word of TEXT"],
  ["status", "shared files, transfers, totals up and down"],
  ["peers ID", "who shares a file"],
  ["cancel ID", "stop a transfer (#N from status, ID or name)"],
  ["doctor", "check the tracker, NAT, reachability, relay"],
  ["ui", "open the web page on this session"],
  ["help", "this list"],
  ["quit [--force]", "unregister everything and leave (also Ctrl-D)"],
];

/** Columns `help` fits into off a terminal. */
export const HELP_COLUMNS = 80;
/**
 * Narrowest description column beside the commands: in a terminal too
 * narrow for it, each description goes under its command instead.
 */
const MIN_DESCRIPTION_WIDTH = 30;

/**
 * The lines `help` prints within `columns` (less one: a line filling the
 * last column makes some terminals add an empty one), wrapped between
 * words: the commands in a column as wide as the longest one, each
 * description two spaces after it; when that leaves the descriptions too
 * little room, each under its command, indented.
 */
export function helpLines(columns: number = HELP_COLUMNS): string[] {
  const room = Math.max(1, columns - 1);
  const width = Math.max(...HELP.map(([usage]) => length(usage)));
  const beside = room - (width + 4);
  if (beside >= MIN_DESCRIPTION_WIDTH) {
    return [
      ...wrap(HELP_TITLE, room),
      ...HELP.flatMap(([usage, text]) =>
        wrap(text, beside).map((line, i) =>
          `  ${pad(i === 0 ? usage : "", width)}  ${line}`
        )
      ),
    ];
  }
  return [
    ...wrap(HELP_TITLE, room),
    ...HELP.flatMap(([usage, text]) => [
      ...wrap(usage, room - 2).map((line) => `  ${line}`),
      ...wrap(text, room - 6).map((line) => `      ${line}`),
    ]),
  ];
}

/**
 * `text` in lines of at most `width` characters, broken between words; a
 * word longer than that is a line of its own.
 */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && length(line) + 1 + length(word) > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}

/** Characters in `text` as a terminal shows them (`…` is one). */
function length(text: string): number {
  return [...text].length;
}

/** `text` padded with spaces to `width` characters. */
function pad(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - length(text)));
}
