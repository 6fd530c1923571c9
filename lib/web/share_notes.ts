/**
 * A share from the page, with the notes the command line prints beside its
 * "Sharing …" line: what a folder left out, and a file shared both
 * privately and publicly (asked private but public before; asked public
 * but private before).
 *
 * @module
 */

import type { Session } from "../app/session.ts";
import type { SkippedEntry } from "../app/peer_node.ts";
import type { FileMeta } from "../protocol/messages.ts";

/** Entries of a folder's left-out list told; the rest are counted. */
export const MAX_SKIPPED_TOLD = 20;

/**
 * Shares `path` on `session` as `peer share` would, telling `note` what
 * the command line warns of; resolves as the share does. The transfer
 * starts before the first await, as `startTracked` needs.
 */
export async function shareWithNotes(
  session: Session,
  path: string,
  isPrivate: boolean,
  note: (text: string) => void,
): Promise<FileMeta | undefined> {
  const privateBefore = new Set(
    session.status().shared.filter((s) => s.private).map((s) => s.meta.id),
  );
  let skipped: SkippedEntry[] = [];
  const meta = await session.share(path, {
    private: isPrivate,
    onSkipped: (entries) => skipped = entries,
  });
  if (!meta) return meta;
  if (skipped.length > 0) note(leftOut(meta.name, skipped));
  const now = session.status().shared.find((s) => s.meta.id === meta.id);
  if (isPrivate && now && !now.private) {
    note(
      `${meta.name} was already shared publicly, so anyone with its ID can get it too: to keep it private, use Stop sharing and share it again with Private ticked.`,
    );
  } else if (
    !isPrivate && privateBefore.has(meta.id) && now?.private === false
  ) {
    note(
      `${meta.name} was shared privately: now it is shared publicly too, so anyone with its ID can get it.`,
    );
  }
  return meta;
}

/**
 * `Left out 3 entries of NAME that cannot be shared: PATH: why; …`, as
 * `peer share` lists them, in one note.
 */
export function leftOut(
  name: string,
  skipped: readonly SkippedEntry[],
): string {
  const shown = skipped.slice(0, MAX_SKIPPED_TOLD)
    .map((entry) => `${entry.path}: ${entry.reason}`);
  const more = skipped.length - shown.length;
  return `Left out ${skipped.length} ${
    skipped.length === 1 ? "entry" : "entries"
  } of ${name} that cannot be shared: ${shown.join("; ")}${
    more > 0 ? `; … and ${more} more` : ""
  }.`;
}
