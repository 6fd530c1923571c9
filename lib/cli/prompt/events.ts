/**
 * What the prompt prints of the session's background work: hashing and
 * gets starting, and each share's and get's answer when it ends.
 *
 * @module
 */

import { formatAddress } from "../../net/connection.ts";
import { PRIVATE_NOTE } from "../share.ts";
import { leftOutLines } from "../left_out.ts";
import {
  formatDuration,
  formatSavedSize,
  formatShared,
  formatSize,
} from "../format.ts";
import { shortId } from "../../app/file_id.ts";
import { terminalSafe } from "../../util/terminal_safe.ts";
import type { SessionEvent } from "../../app/session.ts";
import type { CommandContext } from "./commands.ts";

/** Prints what a share or get running in the background has to say. */
export function showEvent(event: SessionEvent, context: CommandContext): void {
  const { transfer } = event;
  switch (event.type) {
    case "hashing":
      context.note(
        `#${transfer.number} hashing ${terminalSafe(event.path)}…`,
      );
      return;
    case "shared": {
      const { meta } = event;
      context.drawBars();
      context.print(
        `Sharing ${formatShared(meta)}${event.private ? " privately" : ""}: ${
          shortId(meta.id)
        }  full ID ${meta.id}`,
      );
      // What a folder left out, each with why, as peer share lists it.
      for (const line of leftOutLines(event.skipped ?? [])) {
        context.print(`  ${line}`);
      }
      if (event.link) context.print(`  Share this link: ${event.link}`);
      if (event.private) context.print(`  ${PRIVATE_NOTE}`);
      if (event.alsoPublic) {
        context.print(
          "  It was already shared publicly, so anyone with its ID can get it too: to keep it private, unshare it and share it again with --private.",
        );
      }
      return;
    }
    case "share-cancelled":
      context.print(
        `Cancelled #${transfer.number}: ${
          terminalSafe(event.path)
        } is not shared.`,
      );
      return;
    case "getting":
      context.note(
        `#${transfer.number} getting ${terminalSafe(transfer.name)}…`,
      );
      if (event.elsewhere) {
        context.note(
          `#${transfer.number} asks tracker ${
            formatAddress(event.elsewhere)
          }, which the link names: the file is saved, not shared afterwards.`,
        );
      }
      return;
    case "saved": {
      const { result } = event;
      context.drawBars();
      if (result.alreadyHere) {
        // In the download folder already (`peer get` says the same).
        context.print(
          `Already have ${terminalSafe(result.path)} (${
            formatSize(result.meta.size)
          }, SHA-256 verified); nothing to download.`,
        );
        return;
      }
      const count = result.peers.length;
      context.print(
        `Saved ${terminalSafe(result.path)} (${
          formatSavedSize(result.meta)
        }, SHA-256 verified) in ${
          formatDuration(result.elapsedMs)
        } from ${count} ${count === 1 ? "peer" : "peers"}.`,
      );
      return;
    }
    case "get-cancelled":
      // Said by the get's command, which knows the .part files before it.
      return;
  }
}
