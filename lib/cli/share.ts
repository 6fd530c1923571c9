/**
 * `peer share FILE`: hashes the file, serves it and registers it with the
 * tracker until Ctrl-C, printing its ID.
 *
 * @module
 */

import { UsageError } from "./args.ts";
import {
  type LostFile,
  type ShareFlags,
  SHUTDOWN_TIMEOUT_MS,
  startServing,
  trackerOf,
} from "./flags.ts";
import { formatAddress } from "../net/connection.ts";
import { formatSize, shortId, terminalSafe, toJsonLine } from "./format.ts";
import { ShareError } from "../app/peer_node.ts";
import type { FileMeta } from "../protocol/messages.ts";
import { VERSION } from "../protocol/version.ts";
import { ProgressLine } from "./progress.ts";
import { showServing } from "./serving_line.ts";
import { settleWithin } from "../util/settle_within.ts";
import { listenForStop } from "./stop_signal.ts";

/**
 * Runs `peer share FILE…`: one serving node for all the files, one ID each;
 * resolves when stopped, throws a sentence for the user.
 */
export async function share(files: string[], flags: ShareFlags): Promise<void> {
  const started = performance.now();
  const tracker = trackerOf(flags);
  for (const file of files) await checkShareable(file);
  using stop = listenForStop();
  const progress = new ProgressLine({ quiet: flags.quiet || flags.json });
  // `lost`: a shared file stopped being shareable (changed or vanished).
  const { node, lost } = await startServing(flags, tracker, progress);
  const shared: FileMeta[] = [];
  try {
    for (const file of files) {
      const meta = await node.share(file, {
        pieceSize: flags.pieceSize,
        signal: stop.signal,
        onProgress: (done: number, total: number) =>
          progress.update({ label: `hashing ${baseName(file)}`, done, total }),
      });
      progress.clear();
      shared.push(meta);
      printShared(meta, flags, {
        address: formatAddress(node.address),
        tracker: formatAddress(tracker),
        elapsedMs: Math.round(performance.now() - started),
      });
    }
    if (!flags.quiet && !flags.json) {
      console.log(
        `Serving on ${formatAddress(node.address)} via tracker ${
          formatAddress(tracker)
        }. Press Ctrl-C to stop.`,
      );
    }
    using _serving = showServing(node, flags, progress);
    await serveUntilStopped(shared.length, lost, stop.stopped, progress);
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  } finally {
    progress.clear();
    if (!flags.quiet && !flags.json && shared.length > 0) {
      console.error("Stopping: unregistering from the tracker.");
    }
    await settleWithin(node.close(), SHUTDOWN_TIMEOUT_MS);
  }
}

/** Where a shared file is served, for the lines printed about it. */
interface Serving {
  address: string;
  tracker: string;
  /** From the command's start to registered: hashing and registering. */
  elapsedMs: number;
}

function printShared(meta: FileMeta, flags: ShareFlags, serving: Serving) {
  if (flags.json) {
    const { id, name, size, pieceSize } = meta;
    console.log(toJsonLine({
      id,
      shortId: shortId(id),
      name,
      size,
      pieceSize,
      ...serving,
      version: VERSION,
    }));
  } else if (flags.quiet) {
    console.log(meta.id);
  } else {
    console.log(
      `Sharing ${terminalSafe(meta.name)} (${formatSize(meta.size)})`,
    );
    console.log(`  short ID: ${shortId(meta.id)}`);
    console.log(`  full ID:  ${meta.id}`);
  }
}

/**
 * Waits for Ctrl-C; a file that stops being shareable is reported and the
 * others go on being served, until none is left.
 */
async function serveUntilStopped(
  count: number,
  lost: ReadableStream<LostFile>,
  stopped: Promise<unknown>,
  progress: ProgressLine,
): Promise<void> {
  let left = count;
  const iterator = lost[Symbol.asyncIterator]();
  while (true) {
    const next = await Promise.race([
      stopped.then(() => undefined),
      iterator.next(),
    ]);
    if (next === undefined || next.done) return;
    const { meta, reason } = next.value;
    const message = `Stopped sharing ${
      terminalSafe(meta.name)
    }: ${reason}. Share it again once it stops changing.`;
    if (--left === 0) throw new ShareError(message);
    progress.clear();
    console.error(message);
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
