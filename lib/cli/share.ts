/**
 * `peer share FILE`: hashes the file, serves it and registers it with the
 * tracker until Ctrl-C, printing its ID.
 *
 * @module
 */

import { UsageError } from "./args.ts";
import {
  type ShareFlags,
  SHUTDOWN_TIMEOUT_MS,
  startServing,
  trackerOf,
} from "./flags.ts";
import { formatAddress } from "../net/connection.ts";
import { formatSize, shortId, terminalSafe, toJsonLine } from "./format.ts";
import { ShareError } from "../app/peer_node.ts";
import { ProgressLine } from "./progress.ts";
import { settleWithin } from "../util/settle_within.ts";
import { listenForStop } from "./stop_signal.ts";

/** Runs `peer share`; resolves when stopped, throws a sentence for the user. */
export async function share(file: string, flags: ShareFlags): Promise<void> {
  const started = performance.now();
  const tracker = trackerOf(flags);
  await checkShareable(file);
  using stop = listenForStop();
  const progress = new ProgressLine({ quiet: flags.quiet || flags.json });
  // `lost`: the one file shared stopped being shareable, nothing to serve.
  const { node, lost } = await startServing(flags, tracker, progress);
  try {
    const meta = await node.share(file, {
      pieceSize: flags.pieceSize,
      signal: stop.signal,
      onProgress: (done: number, total: number) =>
        progress.update({ label: `hashing ${baseName(file)}`, done, total }),
    });
    progress.clear();
    const address = formatAddress(node.address);
    if (flags.json) {
      const { id, name, size, pieceSize } = meta;
      console.log(
        toJsonLine({
          id,
          shortId: shortId(id),
          name,
          size,
          pieceSize,
          address,
          tracker: formatAddress(tracker),
          // From the command's start to registered: hashing and registering.
          elapsedMs: Math.round(performance.now() - started),
        }),
      );
    } else if (flags.quiet) {
      console.log(meta.id);
    } else {
      console.log(
        `Sharing ${terminalSafe(meta.name)} (${formatSize(meta.size)})`,
      );
      console.log(`  short ID: ${shortId(meta.id)}`);
      console.log(`  full ID:  ${meta.id}`);
      console.log(
        `Serving on ${address} via tracker ${
          formatAddress(tracker)
        }. Press Ctrl-C to stop.`,
      );
    }
    const reason = await Promise.race([
      stop.stopped.then(() => undefined),
      lost,
    ]);
    if (reason !== undefined) {
      throw new ShareError(
        `Stopped sharing ${
          terminalSafe(meta.name)
        }: ${reason}. Share it again once it stops changing.`,
      );
    }
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  } finally {
    progress.clear();
    if (!flags.quiet && !flags.json) {
      console.error("Stopping: unregistering from the tracker.");
    }
    await settleWithin(node.close(), SHUTDOWN_TIMEOUT_MS);
  }
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

async function checkShareable(file: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`Cannot share "${file}": there is no such file.`);
    }
    throw error;
  }
  if (!info.isFile) {
    throw new UsageError(`Cannot share "${file}": it is not a regular file.`);
  }
}
