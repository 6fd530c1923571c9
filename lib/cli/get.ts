/**
 * `peer get LINK` (or `peer get ID`): downloads and verifies a file, serving
 * the pieces it has to other downloaders meanwhile, and with `--seed` the
 * whole file afterwards. A link names its tracker and, for a private share,
 * carries the secret that finds and opens it.
 *
 * @module
 */

import { StoppedError } from "./errors.ts";
import {
  DEFAULT_WAIT_MS,
  type GetFlags,
  logger,
  SHUTDOWN_TIMEOUT_MS,
  startServing,
  trackersFrom,
  withTeamKey,
} from "./flags.ts";
import { formatAddress } from "../net/connection.ts";
import type { Trackers } from "../discovery/tracker_group.ts";
import { download, type DownloadResult } from "../download/download.ts";
import {
  formatDuration,
  formatSavedSize,
  formatSize,
  toJsonLine,
} from "./format.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { ShareError } from "../app/peer_node.ts";
import { ProgressLine } from "./progress.ts";
import { showServing } from "./serving_line.ts";
import { resolveTrackers } from "./args.ts";
import { UsageError } from "../app/usage_error.ts";
import { readGetTarget, STDIN_ARG } from "./get_target.ts";
import type { GetTarget } from "../app/lookup.ts";
import { LINK_ENV } from "../protocol/limits.ts";
import { prepareOutDir } from "./out_dir.ts";
import { VERSION } from "../protocol/version.ts";
import { folderLayoutOf } from "../protocol/folder_layout.ts";
import type { FileMeta } from "../protocol/messages.ts";
import { settleWithin } from "../util/settle_within.ts";
import { listenForStop, stoppedExitCode } from "./stop_signal.ts";

/** How a peer reached other than straight is said after its bytes. */
const ROUTE_WORDS = {
  mapped: "through its router's port mapping",
  punched: "by hole punching",
  relayed: "through the relay",
} as const;

/**
 * Runs `peer get [LINK|ID|-]`; resolves once saved (and, with `--seed`,
 * stopped). With `-` the link is read from standard input, with nothing
 * from P2P_LINK.
 */
export async function get(
  arg: string | undefined,
  flags: GetFlags,
): Promise<void> {
  if (arg === STDIN_ARG && Deno.stdin.isTerminal() && !flags.quiet) {
    console.error("Paste the share link (or file ID) and press Enter:");
  }
  const wanted = await readGetTarget(arg, {
    env: arg === undefined ? Deno.env.get(LINK_ENV) : undefined,
    stdin: arg === STDIN_ARG ? Deno.stdin.readable : undefined,
  });
  const trackers = trackersFor(wanted, flags);
  const [tracker, ...moreTrackers] = trackers;
  const { id, secret } = lookupOf(wanted);
  const target = saveTarget(flags);
  await prepareOutDir(target.outDir);
  using stop = listenForStop();
  const progress = new ProgressLine({ quiet: flags.quiet || flags.json });
  // Serves the pieces verified so far to other downloaders (swarming).
  const { node, lost } = await startServing(flags, trackers, progress);
  try {
    let result;
    try {
      result = await download(id, {
        tracker,
        moreTrackers,
        lan: node.lan,
        dht: node.dht,
        secret,
        ...target,
        force: flags.force ?? false,
        downloadLimit: flags.downloadLimit,
        swarm: node,
        seed: flags.seed ?? false,
        waitMs: flags.wait ?? DEFAULT_WAIT_MS,
        signal: stop.signal,
        log: logger(flags, progress),
        onProgress: (p) =>
          progress.update({
            label: p.waiting
              ? `${p.name}: waiting for peers`
              : p.files
              ? `${p.name} (${p.files.done}/${p.files.total} files)`
              : p.name,
            done: p.received,
            total: p.size,
            bytesPerSecond: p.bytesPerSecond,
            peers: p.peers,
            routes: p.routes,
            found: p.found,
          }),
      });
    } catch (error) {
      if (stop.signal.aborted) {
        throw new StoppedError(
          `Download stopped; the partial file is kept in ${target.outDir}. Run the same get again to retry.`,
          stoppedExitCode(stop.by),
        );
      }
      throw error;
    } finally {
      progress.clear();
    }
    printSaved(result, flags, secret !== undefined);
    if (flags.seed && node.shared().length > 0) {
      if (!flags.quiet && !flags.json) {
        console.error(
          `Seeding on ${formatAddress(node.address)}. Press Ctrl-C to stop.`,
        );
      }
      using _serving = showServing(node, flags, progress);
      const reason = await Promise.race([
        stop.stopped.then(() => undefined),
        lost.getReader().read().then((next) => next.value?.reason),
      ]);
      if (reason !== undefined) {
        throw new ShareError(
          `Stopped seeding ${terminalSafe(result.meta.name)}: ${reason}.`,
        );
      }
    }
  } finally {
    await settleWithin(node.close(), SHUTDOWN_TIMEOUT_MS);
  }
}

/**
 * The trackers a get asks: those the link names (a `--tracker` given too
 * is ignored, and a note says so), else `--tracker` as for any command;
 * with the team key when a team secret is given.
 */
function trackersFor(wanted: GetTarget, flags: GetFlags): Trackers {
  if (wanted.kind === "id") return trackersFrom(flags);
  const [first, ...more] = wanted.link.trackers.map((t) =>
    withTeamKey({ host: t.host, port: t.port }, flags)
  );
  if (flags.tracker !== undefined && !flags.quiet && !flags.json) {
    let given: string | undefined;
    try {
      given = resolveTrackers({ flag: flags.tracker }).map(formatAddress)
        .join(",");
    } catch {
      // Malformed, and unused: the note below says so all the same.
    }
    const named = [first, ...more].map(formatAddress).join(",");
    if (given !== named) {
      console.error(
        `Using the tracker${
          more.length > 0 ? "s" : ""
        } the link names, ${named}, not --tracker ${
          terminalSafe(flags.tracker)
        }.`,
      );
    }
  }
  return [first, ...more];
}

/**
 * What `download()` is given: the file ID, or for a private link its short
 * ID and the secret that finds and opens the share.
 */
function lookupOf(wanted: GetTarget): { id: string; secret?: Uint8Array } {
  if (wanted.kind === "id") return { id: wanted.id };
  const { link } = wanted;
  return link.kind === "public"
    ? { id: link.id }
    : { id: link.shortId, secret: link.secret };
}

/**
 * The folder and file name `--out` and `--output` ask for: `--output` names
 * the saved file, and a folder in it wins over `--out`.
 */
export function saveTarget(
  flags: Pick<GetFlags, "out" | "output">,
): { outDir: string; saveAs?: string } {
  const output = flags.output;
  if (output === undefined) return { outDir: flags.out };
  if (
    output === "" || /[\\/]$/.test(output) || /(^|[\\/])\.{1,2}$/.test(output)
  ) {
    throw new UsageError(
      `--output names the file to save, not a folder ("${output}"); use --out DIR for the folder.`,
    );
  }
  const slash = Math.max(output.lastIndexOf("/"), output.lastIndexOf("\\"));
  if (slash < 0) return { outDir: flags.out, saveAs: output };
  return {
    outDir: output.slice(0, slash) || "/",
    saveAs: output.slice(slash + 1),
  };
}

function printSaved(
  result: DownloadResult,
  flags: GetFlags,
  isPrivate: boolean,
): void {
  const { meta, path, peers, elapsedMs } = result;
  if (flags.json) {
    console.log(
      toJsonLine({
        id: meta.id,
        name: meta.name,
        size: meta.size,
        private: isPrivate,
        path,
        elapsedMs: Math.round(elapsedMs),
        ...(result.foundMs === undefined
          ? {}
          : { foundMs: Math.round(result.foundMs) }),
        ...(result.firstPieceMs === undefined
          ? {}
          : { firstPieceMs: Math.round(result.firstPieceMs) }),
        peers,
        alreadyHere: result.alreadyHere,
        ...folderFiles(meta),
        version: VERSION,
      }),
    );
  } else if (flags.quiet) {
    console.log(terminalSafe(path));
  } else if (result.alreadyHere) {
    console.log(
      `Already have ${terminalSafe(path)} (${
        formatSize(meta.size)
      }, SHA-256 verified); nothing to download.`,
    );
  } else {
    const sent = peers.filter((peer) => peer.bytes > 0);
    const from = sent.map((peer) =>
      `${terminalSafe(peer.address)} (${formatSize(peer.bytes)}${
        peer.via && peer.via !== "direct" ? `, ${ROUTE_WORDS[peer.via]}` : ""
      })`
    ).join(", ");
    console.log(
      `Saved ${terminalSafe(path)} (${
        formatSavedSize(meta)
      }, SHA-256 verified) in ${formatDuration(elapsedMs)}.`,
    );
    if (from) {
      const count = sent.length;
      console.log(
        `Received from ${count} ${count === 1 ? "peer" : "peers"}: ${from}`,
      );
    }
  }
}

/**
 * A folder's files for `--json`: each one's path (with `/`), size, ID and
 * whether it is executable; nothing for a single file.
 */
function folderFiles(meta: FileMeta): { files?: object[] } {
  const layout = folderLayoutOf(meta);
  if (!layout) return {};
  return {
    files: layout.files.map((file) => ({
      path: file.path.join("/"),
      size: file.size,
      id: file.id,
      ...(file.executable ? { executable: true } : {}),
    })),
  };
}
