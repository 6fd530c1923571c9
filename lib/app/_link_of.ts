/**
 * The share link a node prints for a file: every tracker it registers
 * with, and the file's ID, or for a private share its secret and short ID.
 *
 * @module
 */

import type { Trackers } from "../discovery/tracker_group.ts";
import { MIN_ID_PREFIX } from "../protocol/limits.ts";
import { formatShareLink } from "../protocol/share_link.ts";

/** The link of file `id` at `trackers`; private when a `secret` is given. */
export function linkOf(
  trackers: Trackers,
  id: string,
  secret: Uint8Array | undefined,
): string {
  const hosts = trackers.map(({ host, port }) => ({ host, port }));
  return secret
    ? formatShareLink({
      version: 1,
      trackers: hosts,
      kind: "private",
      secret,
      shortId: id.slice(0, MIN_ID_PREFIX),
    })
    : formatShareLink({ version: 1, trackers: hosts, kind: "public", id });
}
