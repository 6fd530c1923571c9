/**
 * What the prompt's `help` prints: each command and what it does.
 *
 * @module
 */

import { formatDuration } from "../format.ts";
import { DEFAULT_WAIT_MS } from "../../app/session.ts";

const HELP_TITLE =
  "Commands (Tab completes; quote or backslash-escape spaces in names):";
/** Each command and its description; more lines continue the description. */
const HELP: readonly (readonly [string, ...string[]])[] = [
  [
    "share [--private] PATH…",
    "share files or folders (one ID per folder),",
    "hashed in the background; each",
    "prints the link to pass on (--private: only",
    "whoever has the link can find and get it)",
  ],
  ["unshare ID", "stop sharing a file (ID, prefix or name)"],
  ["link ID", "print a shared file's link again"],
  [
    "get LINK [--out DIR] [--force]",
    "download a file by its link, its ID (16+ hex",
    "chars) or a name seen in list; shared once",
    "saved, until unshare; waits for a sharer",
    `up to ${formatDuration(DEFAULT_WAIT_MS)} (--wait 30s; 0 fails at once)`,
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

/**
 * The lines `help` prints: the commands in a column as wide as the longest
 * one, each description two spaces after it, within 80 columns.
 */
export function helpLines(): string[] {
  const width = Math.max(...HELP.map(([usage]) => usage.length));
  return [
    HELP_TITLE,
    ...HELP.flatMap(([usage, ...text]) =>
      text.map((line, i) =>
        `  ${(i === 0 ? usage : "").padEnd(width)}  ${line}`
      )
    ),
  ];
}
