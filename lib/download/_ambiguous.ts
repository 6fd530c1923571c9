/**
 * The error for a short ID that matches more than one file at the tracker:
 * the files it named, each with as much of its ID as tells it apart (as git
 * lengthens a short hash), so the user can give that instead, in one
 * sentence.
 *
 * @module
 */

import type { FileList, FileSummary } from "../protocol/messages.ts";
import { MIN_ID_PREFIX } from "../protocol/limits.ts";
import { distinctPrefixes } from "../util/distinct_prefixes.ts";
import { formatSize } from "../util/format_size.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { DownloadError } from "./_download_error.ts";

/**
 * The error for ID prefix `id`, which the tracker found ambiguous: one
 * sentence naming its `candidates` (none from an older tracker: the
 * sentence alone).
 *
 * @example
 * ```ts
 * ambiguousId("01b6e76209c02e4b", candidates).message;
 * // "ID 01b6e76209c02e4b matches 2 files; give more of its characters, as
 * // the sharer's full ID has them: 01b6e76209c02e4b8 (b.bin, 293 KiB,
 * // 1 sharer) or 01b6e76209c02e4b0 (b.bin, 293 KiB, 1 sharer)."
 * ```
 */
export function ambiguousId(id: string, candidates?: FileList): DownloadError {
  if (!candidates || candidates.length < 2) {
    return new DownloadError(
      `ID ${id} matches more than one file; give more of its characters.`,
    );
  }
  const more = candidates.more ?? 0;
  const ids = distinctPrefixes(
    candidates.map((file) => file.id),
    Math.max(MIN_ID_PREFIX, id.length),
  );
  const named = candidates.map((file, i) =>
    `${ids[i]} (${terminalSafe(file.name)}${
      file.files === undefined ? "" : "/"
    }, ${formatSize(file.size)}, ${holders(file)})`
  );
  if (more > 0) named.push(`${more} more`);
  const list = `${named.slice(0, -1).join(", ")} or ${named.at(-1)}`;
  return new DownloadError(
    `ID ${id} matches ${
      candidates.length + more
    } files; give more of its characters, as the sharer's full ID has them: ${list}.`,
  );
}

/** Who holds `file`, in `peer list`'s words: `1 sharer`, `2 sharers, 1 getting`. */
function holders(file: FileSummary): string {
  const getting = Math.min(file.partial ?? 0, file.peers);
  const sharers = file.peers - getting;
  const whole = `${sharers} ${sharers === 1 ? "sharer" : "sharers"}`;
  return getting === 0 ? whole : `${whole}, ${getting} getting`;
}
