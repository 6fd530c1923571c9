/**
 * Turning numbers and names into text for the terminal: sizes, speeds,
 * durations, short IDs, file tables, and names from the network escaped so
 * that no control character or escape sequence reaches the terminal raw.
 *
 * @module
 */

import type { FileMeta, FileSummary } from "../protocol/messages.ts";
import { folderLayoutOf } from "../protocol/folder_layout.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { distinctPrefixes } from "../util/distinct_prefixes.ts";
import { formatSize } from "../util/format_size.ts";
import { MIN_ID_PREFIX } from "../protocol/limits.ts";

export { formatSize };

/** Formats a speed in bytes per second: `3.2 MiB/s`. */
export function formatSpeed(bytesPerSecond: number): string {
  return `${formatSize(Math.round(bytesPerSecond))}/s`;
}

/**
 * Formats a duration in ms for people: `0s`, `45s`, `3m 05s`, `2h 03m`;
 * `--` when unknown (infinite or negative).
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "--";
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${pad2(seconds % 60)}s`;
  const hours = Math.floor(minutes / 60);
  return `${hours}h ${pad2(minutes % 60)}m`;
}

/** How {@linkcode formatFileTable} words its line about files left out. */
export interface FileTableOptions {
  /** The files answer a search: the line says to narrow the search. */
  search?: boolean;
  /** How a search is typed where the table is shown. @default {"peer search"} */
  searchCommand?: string;
}

/** How a search is typed on the command line, for the line after a list. */
const SEARCH_COMMAND = "peer search";

/**
 * Formats files as an aligned table with a header: short ID (longer where
 * two would read the same), size, who
 * holds it (`2 sharers, 3 getting`), name (escaped; a folder's followed by
 * `/ (N files)`). Returns one string per
 * line; no files gives one line saying so. When the trackers left files
 * out (`files.more`), a last line says how many ({@linkcode leftOutNote}).
 *
 * @example
 * ```ts
 * formatFileTable([{ id, name: "a.bin", size: 5, peers: 5, partial: 3 }]);
 * // ["ID                SIZE  PEERS                 NAME",
 * //  "0123456789abcdef   5 B  2 sharers, 3 getting  a.bin"]
 * ```
 */
export function formatFileTable(
  files: readonly FileSummary[] & { more?: number },
  options: FileTableOptions = {},
): string[] {
  const note = leftOutNote(files.more ?? 0, options);
  if (files.length === 0) return note ? ["No files.", note] : ["No files."];
  // Two files whose short IDs match (someone may register a look-alike)
  // are shown with as much of their IDs as tells them apart.
  const ids = distinctPrefixes(files.map((file) => file.id), MIN_ID_PREFIX);
  const rows = files.map((file, i) => [
    ids[i],
    formatSize(file.size),
    formatHolders(file),
    terminalSafe(file.name) + folderNote(file),
  ]);
  const header = ["ID", "SIZE", "PEERS", "NAME"];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length))
  );
  const lines = [header, ...rows].map((row) =>
    [
      row[0].padEnd(widths[0]),
      row[1].padStart(widths[1]),
      row[2].padEnd(widths[2]),
      row[3],
    ].join("  ")
  );
  return note ? [...lines, note] : lines;
}

/**
 * The line saying that `more` files were left out of a list or search
 * (the tracker's answer must fit one frame), and how to see them; none
 * when `more` is 0.
 *
 * @example
 * ```ts
 * leftOutNote(98); // "… and 98 more files; narrow it with peer search TEXT."
 * leftOutNote(1, { search: true }); // "… and 1 more file; narrow the search."
 * ```
 */
export function leftOutNote(
  more: number,
  options: FileTableOptions = {},
): string | undefined {
  if (more <= 0) return undefined;
  const what = `… and ${more} more ${more === 1 ? "file" : "files"}`;
  return options.search
    ? `${what}; narrow the search.`
    : `${what}; narrow it with ${
      options.searchCommand ?? SEARCH_COMMAND
    } TEXT.`;
}

/**
 * Who holds a file, whole copies and partial ones apart: `1 sharer`,
 * `2 sharers, 3 getting`. A tracker that does not tell them apart sends no
 * `partial`: everyone counts as a sharer, as it says.
 */
function formatHolders(file: FileSummary): string {
  const getting = Math.min(file.partial ?? 0, file.peers);
  const sharers = file.peers - getting;
  const whole = `${sharers} ${sharers === 1 ? "sharer" : "sharers"}`;
  return getting === 0 ? whole : `${whole}, ${getting} getting`;
}

/**
 * What was shared, for the lines about it: `a.bin (1.0 MiB)`, or for a
 * folder `photos/ (12 files, 3.0 MiB)`; the name escaped.
 */
export function formatShared(meta: FileMeta): string {
  const files = folderLayoutOf(meta)?.files.length;
  return files === undefined
    ? `${terminalSafe(meta.name)} (${formatSize(meta.size)})`
    : `${terminalSafe(meta.name)}/ (${files} ${
      files === 1 ? "file" : "files"
    }, ${formatSize(meta.size)})`;
}

/**
 * How much was saved: `1.0 MiB`, or for a folder `12 files, 3.0 MiB`.
 */
export function formatSavedSize(meta: FileMeta): string {
  const files = folderLayoutOf(meta)?.files.length;
  return files === undefined
    ? formatSize(meta.size)
    : `${files} ${files === 1 ? "file" : "files"}, ${formatSize(meta.size)}`;
}

/** After a folder's name: `/ (12 files)`; nothing for a file. */
function folderNote(file: FileSummary): string {
  if (file.files === undefined) return "";
  return `/ (${file.files} ${file.files === 1 ? "file" : "files"})`;
}

function pad2(value: number): string {
  return String(value).padStart(2, "0");
}

/**
 * `JSON.stringify(value)` on one line, with the characters JSON leaves raw
 * but terminals may act on (C1 controls, DEL, reordering marks) escaped as
 * `\uNNNN`; still valid JSON.
 */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
