/**
 * `peer get LINK` (or `peer get ID`): downloads and verifies a file, serving
 * the pieces it has to other downloaders meanwhile, and with `--seed` the
 * whole file afterwards. A link names its tracker and, for a private share,
 * carries the secret that finds and opens it.
 *
 * @module
 */

import {
  TrackerError,
  TrackerUnreachableError,
} from "../discovery/tracker_errors.ts";
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
import { waitingFor, whileDown } from "./_get_waits.ts";
import { seedUntilStopped } from "./_get_seed.ts";
import { quietServing, tellReachabilityAfter } from "./_json_events.ts";
import {
  formatDuration,
  formatSavedSize,
  formatSize,
  toJsonLine,
} from "./format.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { rateOver } from "../util/speed_meter.ts";
import { ProgressLine } from "./progress.ts";
import {
  checkedLine,
  CHECKING_NOTE,
  checkingLine,
  saysChecking,
} from "./resumed.ts";
import { resumedBytes } from "../app/resume.ts";
import { resolveTrackers } from "./args.ts";
import { UsageError } from "../app/usage_error.ts";
import { readGetTarget, STDIN_ARG } from "./get_target.ts";
import type { GetTarget } from "../app/lookup.ts";
import { LINK_ENV } from "../protocol/limits.ts";
import { prepareOutDir, removeEmptyFolders } from "./out_dir.ts";
import { DEFAULT_OUT_DIR } from "../app/session_types.ts";
import { partsIn, stoppedMessage } from "./get_stopped.ts";
import { isAbsolute, join } from "node:path";
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
  const lookup = lookupOf(wanted);
  const target = saveTarget(flags);
  await refuseFolderOutput(target, flags.output);
  // The folder is --output's alone when no --out was given.
  const byOutput = flags.output !== undefined &&
    (flags.out === undefined || flags.out === DEFAULT_OUT_DIR);
  const created = await prepareOutDir(target.outDir, byOutput);
  try {
    await downloadInto(target, lookup, trackers, flags);
  } catch (error) {
    // A folder this get made and saved nothing in is taken away again.
    await removeEmptyFolders(created);
    throw wanted.kind === "link" ? withLinkAdvice(error) : error;
  }
}

/** The advice to set --tracker, which a link's get does not use. */
const SET_TRACKER_ADVICE = /Set --tracker or P2P_TRACKER\./;
/** The same, for a peer where the tracker should be. */
const POINT_TRACKER =
  /point --tracker \(or P2P_TRACKER\) at the tracker's address\./;

/**
 * `error` with the advice to set `--tracker` (a link names its trackers,
 * and `--tracker` is ignored) replaced by what a getter can do.
 */
function withLinkAdvice(error: unknown): unknown {
  if (error instanceof TrackerError && POINT_TRACKER.test(error.message)) {
    return new TrackerError(
      error.code,
      error.message.replace(
        POINT_TRACKER,
        "the link names it as its tracker; ask whoever gave you the link for a new one.",
      ),
    );
  }
  if (
    !(error instanceof TrackerUnreachableError) ||
    !SET_TRACKER_ADVICE.test(error.message)
  ) {
    return error;
  }
  return new TrackerUnreachableError(
    error.address,
    error.message.replace(
      SET_TRACKER_ADVICE,
      `The link names ${
        error.message.includes("Are they running?") ? "them" : "it"
      }: ask whoever gave you the link.`,
    ),
    { cause: error.cause },
  );
}

/** Downloads into `target`, prints the result and, with `--seed`, seeds. */
async function downloadInto(
  target: SaveTarget,
  lookup: Lookup,
  trackers: Trackers,
  flags: GetFlags,
): Promise<void> {
  const { id, secret } = lookup;
  const [tracker, ...moreTrackers] = trackers;
  using stop = listenForStop();
  const progress = new ProgressLine({ quiet: flags.quiet || flags.json });
  // Serves the pieces verified so far to other downloaders (swarming).
  const { node, lost, tellTrouble } = await startServing(
    quietServing(flags),
    trackers,
    progress,
  );
  /** The name it is saved under, once a piece or a wait reports it. */
  let savingAs: string | undefined;
  /** Its `.part`, once the file is found. */
  let partPath: string | undefined;
  const partsBefore = await partsIn(target.outDir);
  const waitMs = flags.wait ?? DEFAULT_WAIT_MS;
  const waitingUntil = performance.now() + waitMs;
  /** The last wait said (a log says each once). */
  let toldWaiting: string | undefined;
  /** Bytes of a `.part` an earlier get left, once the download tells it. */
  let resumed: number | undefined;
  /** When the check of that `.part` started, once it did. */
  let checkSince: number | undefined;
  /** The `.part` said to be checked, when it was (a large one). */
  let saidChecking: string | undefined;
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
        waitMs,
        signal: stop.signal,
        log: logger(flags, progress),
        onTrackersDown: (error, how) => {
          if (flags.quiet || flags.json) return;
          progress.clear();
          const told = lookup.link ? withLinkAdvice(error) : error;
          console.error(terminalSafe(
            `${(told as Error).message} ${
              whileDown(how, { trackers: trackers.length, node })
            }`,
          ));
        },
        onTrackerTrouble: (trouble) =>
          tellTrouble(
            trouble,
            trouble.tracker === tracker
              ? ": the others were asked, but sharers behind a NAT are met only through it."
              : ": the others were asked.",
          ),
        onProgress: (p) => {
          if (p.waiting && p.size === 0) {
            // Nothing is known of the file yet, not even its size. In a
            // log (not a terminal) each wait is said once, not at every ask.
            const why = waitingFor(p, {
              private: secret !== undefined,
              trackers: trackers.length,
            });
            if (toldWaiting === why && !progress.live) return;
            toldWaiting = why;
            const left = Math.max(0, waitingUntil - performance.now());
            progress.show(
              `${why} (${formatDuration(left)} left, --wait to change).`,
            );
            return;
          }
          // Before the file is found, the name is a stand-in for its ID.
          if (!p.waiting || p.size > 0) savingAs = p.name;
          partPath = p.partPath ?? partPath;
          if (p.checking) {
            // A large .part takes a while: said before, shown as it goes.
            const { done, total } = p.checking;
            const now = performance.now();
            const say = checkSince === undefined && saysChecking(total);
            checkSince ??= now;
            if (say && !flags.quiet && !flags.json) {
              saidChecking = partPath ?? p.name;
              progress.clear();
              console.error(checkingLine(saidChecking));
            }
            const bytesPerSecond = rateOver(done, now - checkSince);
            const note = CHECKING_NOTE;
            progress.update({
              label: p.name,
              note,
              done,
              total,
              bytesPerSecond,
            });
            return;
          }
          if (resumed === undefined) {
            resumed = resumedBytes(p);
            const line = resumed === undefined ? undefined : checkedLine(
              p.name,
              { bytes: resumed, size: p.size, saidChecking },
            );
            if (line && !flags.quiet && !flags.json) {
              progress.clear();
              console.error(line);
            }
          }
          progress.update({
            label: p.files
              ? `${p.name} (${p.files.done}/${p.files.total} files)`
              : p.name,
            note: p.waiting ? "waiting for peers" : undefined,
            done: p.received,
            total: p.size,
            bytesPerSecond: p.bytesPerSecond,
            peers: p.peers,
            routes: p.routes,
            found: p.found,
          });
        },
      });
    } catch (error) {
      if (stop.signal.aborted) {
        throw new StoppedError(
          await stoppedMessage(target.outDir, {
            name: savingAs,
            partPath,
            partsBefore,
          }),
          stoppedExitCode(stop.by),
        );
      }
      throw error;
    } finally {
      progress.clear();
    }
    printSaved(result, flags, {
      isPrivate: secret !== undefined,
      resumed: resumed ?? 0,
    });
    if (flags.seed && node.shared().length > 0) {
      await seedUntilStopped(result, {
        node,
        lost,
        stop,
        progress,
        flags,
        isPrivate: secret !== undefined,
      });
    } else {
      // Its event after the result line; seeding tells it after its own.
      using _reachability = tellReachabilityAfter(node, flags);
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
 * ID and the secret that finds and opens the share; and whether a link
 * named it.
 */
interface Lookup {
  id: string;
  secret?: Uint8Array;
  link: boolean;
}

/** The {@linkcode Lookup} for `wanted`. */
function lookupOf(wanted: GetTarget): Lookup {
  if (wanted.kind === "id") return { id: wanted.id, link: false };
  const { link } = wanted;
  return link.kind === "public"
    ? { id: link.id, link: true }
    : { id: link.shortId, secret: link.secret, link: true };
}

/** Where a get saves: the folder, and the name `--output` gives, if any. */
export interface SaveTarget {
  /** The folder to save into. */
  outDir: string;
  /** The name to save under. @default {the file's own name} */
  saveAs?: string;
}

/**
 * The folder and file name `--out` and `--output` ask for. A relative
 * `--output` is inside `--out` when `--out` is given, else inside the current
 * folder, like any command's relative path; an absolute one is where it says.
 * (`--out` at its default, `downloads`, counts as not given.)
 */
export function saveTarget(
  flags: Pick<GetFlags, "output"> & { out?: string },
): SaveTarget {
  const { out, output } = flags;
  const outDir = out ?? DEFAULT_OUT_DIR;
  if (output === undefined) return { outDir };
  if (
    output === "" || /[\\/]$/.test(output) || /(^|[\\/])\.{1,2}$/.test(output)
  ) {
    throw notAFileError(output);
  }
  const base = out === undefined || out === DEFAULT_OUT_DIR ? "." : out;
  const slash = Math.max(output.lastIndexOf("/"), output.lastIndexOf("\\"));
  const saveAs = output.slice(slash + 1);
  if (slash < 0) return { outDir: base, saveAs };
  const folder = output.slice(0, slash) || "/";
  return { outDir: isAbsolute(folder) ? folder : join(base, folder), saveAs };
}

/**
 * Refuses, before anything is looked up, an `--output` that names a folder
 * already there: the file cannot be saved as a folder.
 */
async function refuseFolderOutput(
  target: SaveTarget,
  output: string | undefined,
): Promise<void> {
  if (output === undefined || target.saveAs === undefined) return;
  const info = await Deno.stat(join(target.outDir, target.saveAs)).catch(
    () => undefined,
  );
  if (info?.isDirectory) throw notAFileError(output);
}

/** The error for an `--output` that names a folder. */
function notAFileError(output: string): UsageError {
  return new UsageError(
    `--output names the file to save, not a folder ("${output}"); use --out DIR for the folder.`,
  );
}

/**
 * Prints where the file was saved: the `--json` result line, the path with
 * `--quiet`, else a sentence and who sent it. `resumed` is the bytes an
 * earlier get had saved (`resumedBytes` in `--json`, when not 0).
 */
function printSaved(
  result: DownloadResult,
  flags: GetFlags,
  options: { isPrivate: boolean; resumed: number },
): void {
  const { meta, path, peers, elapsedMs } = result;
  const { isPrivate, resumed } = options;
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
        ...(resumed > 0 ? { resumedBytes: resumed } : {}),
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
