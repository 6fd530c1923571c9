/**
 * `peer share FILE`: hashes the file, serves it and registers it with the
 * tracker until Ctrl-C, printing its share link (the one string to pass
 * on) and its ID. With `--private`, only holders of the link can find and
 * get the file.
 *
 * @module
 */

import { resolve } from "node:path";
import { isDenied } from "../util/denied.ts";
import {
  emptySharePath,
  notFileOrFolder,
  UsageError,
} from "../app/usage_error.ts";
import {
  type LostFile,
  type ShareFlags,
  SHUTDOWN_TIMEOUT_MS,
  startServing,
  trackersFrom,
} from "./flags.ts";
import { formatAddress } from "../net/connection.ts";
import { formatShared, toJsonLine } from "./format.ts";
import { shortId } from "../app/file_id.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import {
  type PeerNode,
  refuseUnfinished,
  ShareError,
  type SkippedEntry,
} from "../app/peer_node.ts";
import { isLoopbackHost } from "../net/address.ts";
import { folderLayoutOf } from "../protocol/folder_layout.ts";
import type { FileMeta } from "../protocol/messages.ts";
import { VERSION } from "../protocol/version.ts";
import { ProgressLine } from "./progress.ts";
import { showServing } from "./serving_line.ts";
import { quietServing, tellReachabilityAfter } from "./_json_events.ts";
import { settleWithin } from "../util/settle_within.ts";
import { listenForStop, stoppedExitCode } from "./stop_signal.ts";
import { leftOutLines } from "./left_out.ts";
import { explainError, FAILURE_EXIT_CODE, StoppedError } from "./errors.ts";
import { SaidError } from "../app/user_errors.ts";
import {
  localLinkNote,
  placesOf,
  servingSentence,
  tellUnreachable,
  watchTrackers,
} from "./tracker_news.ts";

/**
 * Runs `peer share FILE…`: one serving node for all the files, one ID each;
 * resolves when stopped, throws a sentence for the user.
 */
export async function share(files: string[], flags: ShareFlags): Promise<void> {
  const started = performance.now();
  const trackers = trackersFrom(flags);
  for (const file of files) await checkShareable(file, flags.as !== undefined);
  files = await withoutRepeats(files);
  using stop = listenForStop();
  const progress = new ProgressLine({ quiet: flags.quiet || flags.json });
  const talk = !flags.quiet && !flags.json;
  // `lost`: a shared file stopped being shareable (changed or vanished).
  const { node, lost, tellTrouble } = await startServing(
    quietServing(flags),
    trackers,
    progress,
  );
  using news = watchTrackers(node, { trackers, flags, tell: tellTrouble });
  const localNote = localLinkNote(trackers, flags);
  const shared: FileMeta[] = [];
  let failure: unknown;
  try {
    for (const group of shareGroups(files, flags.as)) {
      const label = `hashing ${flags.as ?? baseName(group[0])}`;
      const options = {
        pieceSize: flags.pieceSize,
        private: flags.private ?? false,
        signal: stop.signal,
        onProgress: (done: number, total: number) =>
          progress.update({ label, done, total }),
      };
      const { meta, skipped } = flags.as !== undefined ||
          (await Deno.stat(group[0])).isDirectory
        ? await node.shareFolder(group, { ...options, as: flags.as })
        : { meta: await node.share(group[0], options), skipped: [] };
      progress.clear();
      shared.push(meta);
      if (!flags.json) leftOutLines(skipped).forEach((l) => console.error(l));
      printShared(meta, flags, {
        link: node.shareLink(meta.id),
        private: node.isPrivate(meta.id),
        address: formatAddress(node.address),
        tracker: trackers.map(formatAddress).join(","),
        registeredWith: node.trackers.registeredWith().map(formatAddress),
        findableOn: findableOn(node),
        linkWorksHereOnly: localNote !== undefined,
        localOnly: localNote !== undefined,
        elapsedMs: Math.round(performance.now() - started),
        skipped,
      });
    }
    news.start();
    tellUnreachable(node, trackers, tellTrouble, news.unreachable);
    if (talk) {
      progress.clear();
      if (localNote) console.error(localNote);
      console.log(servingSentence(
        formatAddress(node.address),
        node.trackers.registeredWith(),
        placesOf(node),
      ));
    }
    using _reachability = tellReachabilityAfter(node, flags);
    using _serving = showServing(node, flags, progress);
    const gone = await serveUntilStopped(
      shared.length,
      lost,
      stop.stopped,
      progress,
    );
    if (gone !== undefined) failure = new ShareError(gone);
  } catch (error) {
    if (!stop.signal.aborted) failure = error;
    else if (shared.length === 0) {
      failure = new StoppedError(
        "Stopped before anything was shared.",
        stoppedExitCode(stop.by),
      );
    }
  }
  progress.clear();
  // The reason comes before the stop line it leads to.
  const said = talk && shared.length > 0 && sayFirst(failure);
  if (talk && shared.length > 0) {
    console.error(stoppingLine(node.trackers.registeredWith().length));
  }
  await settleWithin(node.close(), SHUTDOWN_TIMEOUT_MS);
  if (said) throw new SaidError(failure);
  if (failure !== undefined) throw failure;
}

/**
 * Prints the sentence of `failure` now, if it is one for the user with
 * exit code 1 (what {@linkcode SaidError} exits with); true if it did.
 */
function sayFirst(failure: unknown): boolean {
  if (failure === undefined) return false;
  const { message, exitCode, unexpected } = explainError(failure, "peer share");
  if (!message || unexpected || exitCode !== FAILURE_EXIT_CODE) return false;
  console.error(message);
  return true;
}

/** What `peer share` says as it stops, with `registered` trackers holding its files. */
function stoppingLine(registered: number): string {
  return registered === 0
    ? "Stopping."
    : `Stopping: unregistering from the tracker${registered > 1 ? "s" : ""}.`;
}

/** Where a shared file is served, for the lines printed about it. */
interface Serving {
  /** The share link to pass on (with the secret, for a private share). */
  link?: string;
  /** Only holders of the link can find and get it. */
  private: boolean;
  address: string;
  tracker: string;
  /** The trackers that took it, when it was shared. */
  registeredWith: string[];
  /** How others find it now: `tracker`, `lan`, `dht` (see {@linkcode findableOn}). */
  findableOn: Place[];
  /** The link works only on this machine (it names the default tracker here). */
  linkWorksHereOnly: boolean;
  /**
   * `linkWorksHereOnly` under its first name, kept for the scripts that
   * read it: it says nothing of the local network.
   */
  localOnly: boolean;
  /** From the command's start to registered: hashing and registering. */
  elapsedMs: number;
  /** What a folder left out, and why. */
  skipped?: SkippedEntry[];
}

/** A way others find a shared file. */
type Place = "tracker" | "lan" | "dht";

/**
 * How others find `node`'s files now, for `--json`'s `findableOn`: through
 * a tracker that took them, on the local network (not from a loopback
 * address, as `placesOf` says), in the DHT. Without `tracker` they are
 * found only in the others until a tracker answers (the serving line's
 * "on the local network only, until a tracker answers").
 */
function findableOn(
  node: Pick<PeerNode, "trackers" | "lan" | "dht" | "address">,
): Place[] {
  const places: Place[] = [];
  if (node.trackers.registeredWith().length > 0) places.push("tracker");
  if (node.lan !== undefined && !isLoopbackHost(node.address.host)) {
    places.push("lan");
  }
  if (node.dht !== undefined) places.push("dht");
  return places;
}

function printShared(meta: FileMeta, flags: ShareFlags, serving: Serving) {
  if (flags.json) {
    const { id, name, size, pieceSize } = meta;
    const { skipped, ...rest } = serving;
    const files = folderLayoutOf(meta)?.files.length;
    console.log(toJsonLine({
      id,
      shortId: shortId(id),
      name,
      size,
      pieceSize,
      ...(files === undefined ? {} : { folder: true, files, skipped }),
      ...rest,
      version: VERSION,
    }));
  } else if (flags.quiet) {
    // A private file cannot be got by its ID alone: the link is the result.
    console.log(serving.private && serving.link ? serving.link : meta.id);
  } else {
    for (const line of sharedLines(meta, serving)) console.log(line);
  }
}

/**
 * The lines `peer share` prints about a shared file: its link first, the
 * thing to pass on, then its IDs.
 *
 * @example
 * ```ts
 * sharedLines(meta, { link, private: false });
 * // ["Sharing a.bin (1.0 MiB)",
 * //  "  Share this link: p2p://10.0.0.5:5000/v1/pub/9f86…",
 * //  "  short ID: 9f86d081884c7d65",
 * //  "  full ID:  9f86d081884c7d65…"]
 * ```
 */
export function sharedLines(
  meta: FileMeta,
  serving: Pick<Serving, "link" | "private">,
): string[] {
  const lines = [
    `Sharing ${formatShared(meta)}${serving.private ? ", privately" : ""}`,
  ];
  if (serving.link) lines.push(`  Share this link: ${serving.link}`);
  if (serving.private) lines.push(`  ${PRIVATE_NOTE}`);
  lines.push(`  short ID: ${shortId(meta.id)}`, `  full ID:  ${meta.id}`);
  return lines;
}

/** What a private share means, said under its link. */
export const PRIVATE_NOTE =
  "Whoever has this link can download the file; the tracker does not list it and search does not find it.";

/**
 * Waits for Ctrl-C; a file that stops being shareable is reported and the
 * others go on being served, until none is left: resolves to the sentence
 * for the last one then, to undefined on Ctrl-C.
 */
async function serveUntilStopped(
  count: number,
  lost: ReadableStream<LostFile>,
  stopped: Promise<unknown>,
  progress: ProgressLine,
): Promise<string | undefined> {
  let left = count;
  const iterator = lost[Symbol.asyncIterator]();
  while (true) {
    const next = await Promise.race([
      stopped.then(() => undefined),
      iterator.next(),
    ]);
    if (next === undefined || next.done) return undefined;
    const { meta, reason } = next.value;
    const message = stoppedSharing(meta.name, reason);
    if (--left === 0) return message;
    progress.clear();
    console.error(message);
  }
}

/**
 * "Stopped sharing NAME: why." and, for a file that changed, what to do;
 * not for one deleted, nor a folder's (its reason says to share it again).
 */
export function stoppedSharing(name: string, reason: string): string {
  const advice = /was deleted|share the folder again/.test(reason)
    ? ""
    : " Share it again once it stops changing.";
  return `Stopped sharing ${terminalSafe(name)}: ${reason}.${advice}`;
}

/**
 * `files` with each file or folder once, the first time it is named: the
 * same one given twice (`tree tree`, `./a a`) is shared, and listed, once.
 */
async function withoutRepeats(files: string[]): Promise<string[]> {
  const seen = new Set<string>();
  const once: string[] = [];
  for (const file of files) {
    const key = await Deno.realPath(file).catch(() => resolve(file));
    if (seen.has(key)) continue;
    seen.add(key);
    once.push(file);
  }
  return once;
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/**
 * What is shared as one ID each: every file or folder on its own, or all
 * of them as one folder with `--as`.
 */
function shareGroups(files: string[], as?: string): string[][] {
  return as === undefined ? files.map((file) => [file]) : [files];
}

async function checkShareable(file: string, asOne: boolean): Promise<void> {
  if (file === "") throw emptySharePath();
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`Cannot share "${file}": there is no such file.`);
    }
    // Deno keeps some paths (/proc, /sys) to programs with every permission.
    if (isDenied(error)) {
      throw new UsageError(
        `Cannot share "${file}": this program is not allowed to read it.`,
      );
    }
    throw error;
  }
  if (info.isDirectory && asOne) {
    throw new UsageError(
      `Cannot share "${file}" with --as: it is a folder. Give files with --as, or share the folder alone.`,
    );
  }
  if (!info.isFile && !info.isDirectory) throw notFileOrFolder(file);
  await refuseUnfinished(file);
  await checkReadable(file, info);
}

/**
 * Throws a `UsageError` if `file` (a file or folder, as `info` says)
 * cannot be read, as for one that is not there: both are what was typed.
 */
async function checkReadable(file: string, info: Deno.FileInfo) {
  try {
    if (info.isDirectory) {
      for await (const _ of Deno.readDir(file)) break;
    } else (await Deno.open(file, { read: true })).close();
  } catch (error) {
    // Anything else is left for the share to meet and put in words.
    if (!(error instanceof Deno.errors.PermissionDenied)) return;
    throw new UsageError(
      `Cannot share "${file}": permission denied. Check that you can read it.`,
    );
  }
}
