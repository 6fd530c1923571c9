/**
 * Folder shares (issue #23): a folder of many small files and one of a few
 * large ones, each shared as one ID (`peer share DIR --json`, timed from
 * spawn to its JSON line: hashing and registering) and fetched by one
 * `peer get ID --json` process (timed from spawn to exit, the whole folder
 * verified and renamed into place), against the same folder sent as a
 * `tar` stream over one TCP connection on this machine (`tar -c` written
 * by bash into `/dev/tcp`, received by this process and piped into
 * `tar -x`, as `nc -l | tar -x` would), timed from the sender's start to
 * `tar -x`'s exit. The large folder is also shared as its single files
 * (one `peer share f1 f2 f3 f4`) and fetched by one get per file, one after
 * the other: the sum of their times.
 *
 * Every measurement runs `runs` times, interleaved (tar, folder get, single
 * gets), each on a fresh share. Both sides read their sources warm: the
 * folders are written just before and read once more, untimed, so every
 * reader finds them in the page cache; neither side drops caches. The
 * received copies are checked outside the timing (`diff -r`, or each
 * file's SHA-256 against its ID) and deleted. `tar -x` syncs nothing to
 * disk; `peer get` syncs every file before the rename.
 *
 * The small folder's copies are deleted only once all its runs are done.
 * On ext4 without a journal (this VM's disk), making a file skips every
 * inode deleted in the last minutes (`recently_deleted()` in the kernel's
 * inode allocator, up to 5 minutes while its inode table block is dirty),
 * and after 10,000 deletions each new file costs ~0.6 ms of system time
 * instead of ~0.03 ms (`perf`: `ext4_create` → `recently_deleted`): tar
 * -x of the small folder took 8.5 s instead of 0.35 s. A run that deleted
 * one copy would slow the next run's gets and tars, and a bench started
 * within minutes of another one's deletions is slow throughout; the time
 * to write the source folder (`writeMs`) shows that state.
 *
 * @module
 */

import { size } from "./_format.ts";
import { type Child, run, spawn, spawnDeno, withTimeout } from "./_process.ts";
import { writeTestFile } from "./baselines.ts";
import { summarizeProfile } from "./profile.ts";
import { floorCopy } from "./folder_floor.ts";
import { settle } from "./settle.ts";
import {
  getToExit,
  PEER_PERMISSIONS,
  REPO_ROOT,
  runGet,
  startTrackerProcess,
  startupMs,
} from "./transfer.ts";
import type { Profile } from "./crypto.ts";

/** Bytes in one KiB. */
const KIB = 1024;
/** Bytes in one MiB. */
const MIB = 1024 ** 2;
/** Bytes of each file of the small-files folder. */
export const FOLDER_SMALL_FILE_BYTES = 4 * KIB;
/** Subfolders the small files are spread over. */
export const FOLDER_SUBFOLDERS = 100;
/** Files of the large-files folder. */
export const FOLDER_LARGE_FILES = 4;
/** Times each measurement runs. */
export const FOLDER_RUNS = 2;

/** Sizes of the folder part in a full run and a quick one. */
export const FOLDER_PLANS = {
  full: { smallFiles: 10_000, largeFileBytes: 256 * MIB },
  quick: { smallFiles: 1_000, largeFileBytes: 32 * MIB },
} as const;

/** Fixed allowance in every timeout (process start, tracker). */
const TIMEOUT_SLACK_MS = 60_000;
/** Slowest rate allowed before a share, get or tar is declared stuck. */
const MIN_BYTES_PER_MS = 10_000;
/** Allowance per file before a share, get or tar is declared stuck. */
const MS_PER_FILE = 20;
/** Longest `diff -r` may take. */
const DIFF_TIMEOUT_MS = 120_000;

/** One run of one folder: ours and the baselines, measured back to back. */
export interface FolderRun {
  /** `peer share DIR`: ms from spawn to its JSON line. */
  shareMs: number;
  /** The same as the share reported it (from the command's start). */
  shareReportedMs: number;
  /** `peer get ID`: ms from spawn to exit, the folder verified in place. */
  getMs: number;
  /** The get's own `elapsedMs` (from its start, Deno start-up not). */
  getReportedMs: number;
  /** The get's own `firstPieceMs`: from its start to its first piece. */
  firstPieceMs?: number;
  /** Peak RSS (VmHWM) of the getter, bytes. */
  peakRssBytes: number;
  /** CPU-ms the getter used. */
  getCpuMs: number;
  /** `tar -c | TCP | tar -x`: ms from the sender's start to tar -x's exit. */
  tarMs: number;
  /**
   * The bare Deno copier (`folder_floor.ts`): its receiver's ms from spawn
   * to exit, with the peer's permissions and with `--allow-all` (small
   * folder only).
   */
  floor?: { peerMs: number; allMs: number };
  /** The same files as single-file shares and gets (large folder only). */
  singles?: SinglesRun;
}

/** The large folder's files shared one ID each and fetched one by one. */
export interface SinglesRun {
  /** `peer share f1 … fN`: ms from spawn to the last JSON line. */
  shareMs: number;
  /** Each get's ms from spawn to exit, in order. */
  getMs: number[];
  /** Each get's own `elapsedMs`. */
  reportedMs: number[];
  /** Sum of `getMs`. */
  sumMs: number;
  /** Sum of `reportedMs`. */
  sumReportedMs: number;
  /** Highest peak RSS of the gets, bytes. */
  peakRssBytes: number;
  /** CPU-ms the gets used, together. */
  cpuMs: number;
}

/** One folder and its runs. */
export interface FolderWorkload {
  /** What the row says, e.g. "10,000 files of 4 KiB". */
  name: string;
  /** Files in the folder. */
  files: number;
  /** Bytes of all its files. */
  bytes: number;
  /**
   * Ms writing the folder took (untimed set-up): on a file system slow to
   * make files just then, much more than usual (see the module doc).
   */
  writeMs: number;
  /** The runs, in the order run. */
  runs: FolderRun[];
}

/** Everything the folder part measured. */
export interface FoldersResults {
  /** Many small files in subfolders. */
  small?: FolderWorkload;
  /** A few large files, with single-file gets beside. */
  large?: FolderWorkload;
  /** How the caches stood for every timing. */
  caches: string;
  /** Top self time of one profiled small-folder get (`--profile`). */
  profile?: { getter: Profile; sharer: Profile };
}

/** How the caches stood for every timing, as the report says it. */
export const FOLDER_CACHES =
  "both sides warm: each folder was written just before and read once more, untimed, so every reader finds it in the page cache; no caches dropped. tar -x syncs nothing to disk; peer get syncs every file before its rename.";

/** Options for {@linkcode foldersBench}. */
export interface FoldersBenchOptions {
  /** Working folder: the test folders, downloads, profiles. */
  work: string;
  /** Sizes of a quick run instead of a full one. */
  quick: boolean;
  /** Runs of each measurement. @default {FOLDER_RUNS} */
  runs?: number;
  /** Ms the machine idles before each timed run of the large folder. */
  settleMs: number;
  /** Also profile one get of the small folder (`--cpu-prof`). */
  profile?: boolean;
  /** Says what is being measured. */
  step: (text: string) => void;
}

/**
 * Builds both folders in `options.work`, measures them and fills `into` as
 * it goes (so a failure keeps what was measured); removes what it wrote.
 */
export async function foldersBench(
  into: FoldersResults,
  options: FoldersBenchOptions,
): Promise<void> {
  const plan = options.quick ? FOLDER_PLANS.quick : FOLDER_PLANS.full;
  const runs = options.runs ?? FOLDER_RUNS;
  // Untimed: so that no timed process compiles peer.ts's modules first.
  await startupMs();
  const tracker = await startTrackerProcess();
  // The small folder's copies are deleted only after all its runs: see the
  // module doc.
  const copies: string[] = [];
  const small = `${options.work}/small-files`;
  const large = `${options.work}/large-files`;
  try {
    options.step(
      `writing ${
        count(plan.smallFiles)
      } files of 4 KiB in ${FOLDER_SUBFOLDERS} folders`,
    );
    let started = performance.now();
    writeSmallFolder(small, plan.smallFiles);
    into.small = {
      name: `${
        count(plan.smallFiles)
      } files of 4 KiB in ${FOLDER_SUBFOLDERS} folders`,
      files: plan.smallFiles,
      bytes: plan.smallFiles * FOLDER_SMALL_FILE_BYTES,
      writeMs: performance.now() - started,
      runs: [],
    };
    await measureFolder(small, into.small, tracker.address, {
      ...options,
      runs,
      settleMs: 0,
      keep: copies,
      floor: true,
    });
    if (options.profile) {
      options.step("profiling one get of the small-files folder");
      into.profile = await profileGet(small, into.small, tracker.address, {
        ...options,
      });
    }
    await removeAll([small, ...copies.splice(0)]);
    options.step(
      `writing ${FOLDER_LARGE_FILES} files of ${size(plan.largeFileBytes)}`,
    );
    started = performance.now();
    const files = writeLargeFolder(large, plan.largeFileBytes);
    into.large = {
      name: `${FOLDER_LARGE_FILES} files of ${size(plan.largeFileBytes)}`,
      files: FOLDER_LARGE_FILES,
      bytes: FOLDER_LARGE_FILES * plan.largeFileBytes,
      writeMs: performance.now() - started,
      runs: [],
    };
    await measureFolder(large, into.large, tracker.address, {
      ...options,
      runs,
      singles: files,
    });
  } finally {
    await tracker.child.stop();
    await removeAll([small, large, ...copies]);
  }
}

/** Removes every path given that exists. */
async function removeAll(paths: string[]): Promise<void> {
  for (const path of paths) {
    await Deno.remove(path, { recursive: true }).catch(() => {});
  }
}

/** Writes `files` files of random bytes spread over FOLDER_SUBFOLDERS folders. */
export function writeSmallFolder(dir: string, files: number): void {
  for (let folder = 0; folder < FOLDER_SUBFOLDERS; folder++) {
    Deno.mkdirSync(`${dir}/d${pad(folder, 3)}`, { recursive: true });
  }
  const bytes = new Uint8Array(FOLDER_SMALL_FILE_BYTES);
  for (let file = 0; file < files; file++) {
    crypto.getRandomValues(bytes);
    const folder = file % FOLDER_SUBFOLDERS;
    Deno.writeFileSync(`${dir}/d${pad(folder, 3)}/f${pad(file, 5)}.bin`, bytes);
  }
}

/** Writes FOLDER_LARGE_FILES test files of `bytes` each; their paths. */
export function writeLargeFolder(dir: string, bytes: number): string[] {
  Deno.mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  for (let file = 1; file <= FOLDER_LARGE_FILES; file++) {
    paths.push(`${dir}/f${file}.bin`);
    writeTestFile(paths[file - 1], bytes);
  }
  return paths;
}

/** Options of one folder's measurement. */
interface MeasureOptions extends FoldersBenchOptions {
  runs: number;
  /** The folder's files, to share and get one by one too. */
  singles?: string[];
  /** Also time the bare Deno copier (`folder_floor.ts`). */
  floor?: boolean;
  /**
   * Keep the verified copies until the caller deletes them, listed here.
   * @default {deleted at once}
   */
  keep?: string[];
}

/** `runs` rounds of tar, the folder share and get (and single gets). */
async function measureFolder(
  dir: string,
  into: FolderWorkload,
  tracker: string,
  options: MeasureOptions,
): Promise<void> {
  readAll(dir);
  for (let round = 1; round <= options.runs; round++) {
    const label = `${into.name}, run ${round} of ${options.runs}`;
    options.step(`${label}: tar over TCP`);
    await settle(options.settleMs);
    const tarOut = `${options.work}/tar-out-${round}`;
    const getOut = `${options.work}/get-out-${round}`;
    options.keep?.push(tarOut, getOut);
    const tarMs = await tarOverTcp(dir, tarOut, into, !options.keep);
    options.step(`${label}: peer share + peer get of the folder`);
    await settle(options.settleMs);
    const ours = await shareAndGet(dir, into, tracker, {
      out: getOut,
      remove: !options.keep,
    });
    // After the get, so that the get meets the file system as before the
    // floor was measured.
    let floor: FolderRun["floor"];
    if (options.floor) {
      options.step(`${label}: the bare Deno copier (floor)`);
      floor = await floorRun(dir, `${options.work}/floor-${round}`, into);
      options.keep?.push(`${options.work}/floor-${round}`);
    }
    let singles: SinglesRun | undefined;
    if (options.singles) {
      options.step(`${label}: ${options.singles.length} single-file gets`);
      singles = await singleGets(options.singles, into, tracker, options);
    }
    into.runs.push({ ...ours, tarMs, floor, singles });
  }
}

/**
 * `tar -c -C DIR .` written by bash straight into a TCP connection to this
 * process, which pipes it into `tar -x` (started before the clock, as a
 * listening `nc -l | tar -x` would be); ms from the sender's spawn to
 * tar -x's exit. The copy is compared with `diff -r`, then removed if
 * `remove`.
 */
async function tarOverTcp(
  dir: string,
  dest: string,
  workload: FolderWorkload,
  remove: boolean,
): Promise<number> {
  await Deno.mkdir(dest);
  const timeoutMs = budget(workload);
  try {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const extract = new Deno.Command("tar", {
      args: ["-x", "-C", dest],
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const started = performance.now();
    const sender = spawn("bash", [
      "-c",
      'exec tar -c -C "$1" . > "/dev/tcp/127.0.0.1/$2"',
      "tar-send",
      dir,
      String(listener.addr.port),
    ]);
    let ms: number;
    try {
      const conn = await withTimeout(listener.accept(), timeoutMs);
      if (!conn) throw new Error("The tar sender never connected");
      await conn.readable.pipeTo(extract.stdin);
      const status = await withTimeout(extract.status, timeoutMs);
      ms = performance.now() - started;
      if (!status?.success) {
        throw new Error(`tar -x failed (${status?.code ?? "timed out"})`);
      }
    } finally {
      try {
        extract.kill("SIGKILL");
      } catch {
        // Exited.
      }
      await extract.stderr.cancel().catch(() => {});
      await extract.status;
    }
    const sent = await sender.waitForExit(timeoutMs);
    if (!sent.success) {
      throw new Error(`tar -c failed: ${sender.stderrTail}`);
    }
    await sameTree(dir, dest);
    return ms;
  } finally {
    if (remove) await Deno.remove(dest, { recursive: true }).catch(() => {});
  }
}

/**
 * The floor with the peer's permissions, then with `--allow-all`, into
 * `dest-peer` and `dest-all` below `dest`, each copy checked.
 */
async function floorRun(
  dir: string,
  dest: string,
  workload: FolderWorkload,
): Promise<NonNullable<FolderRun["floor"]>> {
  const timeoutMs = budget(workload);
  const peerMs = await floorCopy(dir, `${dest}/peer`, {
    permissions: "peer",
    timeoutMs,
  });
  await sameTree(dir, `${dest}/peer`);
  const allMs = await floorCopy(dir, `${dest}/all`, {
    permissions: "all",
    timeoutMs,
  });
  await sameTree(dir, `${dest}/all`);
  return { peerMs, allMs };
}

/**
 * One share of the folder and one get of it into `where.out`; the get's
 * copy is checked, then removed if `where.remove`.
 */
async function shareAndGet(
  dir: string,
  workload: FolderWorkload,
  tracker: string,
  where: { out: string; remove: boolean },
): Promise<Omit<FolderRun, "tarMs" | "singles">> {
  const sharer = await share([dir], tracker, workload);
  try {
    const { out } = where;
    const get = await folderGet(sharer.ids[0], tracker, out, workload);
    try {
      await sameTree(dir, get.path);
    } finally {
      if (where.remove) {
        await Deno.remove(out, { recursive: true }).catch(() => {});
      }
    }
    return {
      shareMs: sharer.ms,
      shareReportedMs: sharer.reportedMs,
      getMs: get.child.wallMs ?? 0,
      getReportedMs: get.report.elapsedMs,
      firstPieceMs: get.report.firstPieceMs,
      peakRssBytes: get.child.peakRssBytes,
      getCpuMs: get.child.lastCpuSeconds * 1000,
    };
  } finally {
    await sharer.child.stop();
  }
}

/** What `peer share --json` printed for its paths, and when. */
interface Shared {
  child: Child;
  /** One ID per path, in order. */
  ids: string[];
  /** Ms from spawn to the last JSON line. */
  ms: number;
  /** The last share's own `elapsedMs`. */
  reportedMs: number;
}

/** Starts `peer share PATH… --json`; resolves once every path is shared. */
async function share(
  paths: string[],
  tracker: string,
  workload: FolderWorkload,
  denoFlags: string[] = [],
): Promise<Shared> {
  const child = spawnDeno([
    "run",
    ...PEER_PERMISSIONS,
    ...denoFlags,
    `${REPO_ROOT}peer.ts`,
    "share",
    ...paths,
    "--json",
    "--tracker",
    tracker,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ]);
  try {
    // One JSON line per path, in order: done at the last one.
    let printed = 0;
    const { ms } = await child.waitForLine(
      (line) => line.startsWith("{") && ++printed === paths.length,
      budget(workload),
    );
    const reports = child.lines.filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { id: string; elapsedMs: number });
    return {
      child,
      ids: reports.map((report) => report.id),
      ms,
      reportedMs: reports[reports.length - 1].elapsedMs,
    };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/** What `peer get --json` of a folder printed. */
interface GetReport {
  path: string;
  elapsedMs: number;
  firstPieceMs?: number;
}

/** Runs `peer get ID --json --out OUT` to its exit. */
async function folderGet(
  id: string,
  tracker: string,
  out: string,
  workload: FolderWorkload,
  denoFlags: string[] = [],
): Promise<{ child: Child; report: GetReport; path: string }> {
  const { child, report } = await getToExit<GetReport>(id, tracker, out, {
    denoFlags,
    timeoutMs: budget(workload),
  });
  return { child, report, path: report.path };
}

/** One share of every file, then one get per file, one after the other. */
async function singleGets(
  files: string[],
  workload: FolderWorkload,
  tracker: string,
  options: MeasureOptions,
): Promise<SinglesRun> {
  const bytes = workload.bytes / files.length;
  const sharer = await share(files, tracker, workload);
  const out = `${options.work}/single-out`;
  const result: SinglesRun = {
    shareMs: sharer.ms,
    getMs: [],
    reportedMs: [],
    sumMs: 0,
    sumReportedMs: 0,
    peakRssBytes: 0,
    cpuMs: 0,
  };
  try {
    await Deno.mkdir(out);
    // One pause before all four, as before the folder get's one: both then
    // write the same bytes into memory in the same state.
    await settle(options.settleMs);
    for (const id of sharer.ids) {
      const get = await runGet(id, bytes, tracker, out, { checkHash: true });
      result.getMs.push(get.wallMs);
      result.reportedMs.push(get.reportedMs);
      result.peakRssBytes = Math.max(result.peakRssBytes, get.peakRssBytes);
      result.cpuMs += get.cpuMs;
    }
  } finally {
    await sharer.child.stop();
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
  result.sumMs = sum(result.getMs);
  result.sumReportedMs = sum(result.reportedMs);
  return result;
}

/** One get of the folder with sharer and getter under `--cpu-prof`. */
async function profileGet(
  dir: string,
  workload: FolderWorkload,
  tracker: string,
  options: FoldersBenchOptions,
): Promise<{ getter: Profile; sharer: Profile }> {
  const profiles = {
    getter: `${options.work}/profile/getter`,
    sharer: `${options.work}/profile/sharer`,
  };
  for (const folder of Object.values(profiles)) {
    await Deno.mkdir(folder, { recursive: true });
  }
  const flags = (folder: string) => ["--cpu-prof", `--cpu-prof-dir=${folder}`];
  const sharer = await share([dir], tracker, workload, flags(profiles.sharer));
  const out = `${options.work}/profile-out`;
  try {
    await folderGet(
      sharer.ids[0],
      tracker,
      out,
      workload,
      flags(profiles.getter),
    );
  } finally {
    // The profile is written as the process exits.
    await sharer.child.stop();
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
  const result = {
    getter: readProfile(profiles.getter),
    sharer: readProfile(profiles.sharer),
  };
  await Deno.remove(`${options.work}/profile`, { recursive: true });
  return result;
}

/** The main thread's profile in `folder`, summarized (workers have their own). */
function readProfile(folder: string): Profile {
  const main = [...Deno.readDirSync(folder)].find((entry) =>
    entry.name.endsWith(".cpuprofile") && !entry.name.includes("worker")
  );
  if (!main) throw new Error(`--cpu-prof wrote no profile in ${folder}`);
  return summarizeProfile(`${folder}/${main.name}`);
}

/** Throws unless `copy` holds the same files and bytes as `original`. */
async function sameTree(original: string, copy: string): Promise<void> {
  const diff = await run("diff", ["-rq", original, copy], DIFF_TIMEOUT_MS);
  if (diff.code !== 0) {
    throw new Error(
      `The copy differs from the original: ${
        (diff.stdout || diff.stderr).split("\n").slice(0, 3).join("; ")
      }`,
    );
  }
}

/** Reads every file below `dir` once, so every timed reader finds it cached. */
function readAll(dir: string): void {
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) readAll(path);
    else if (entry.isFile) {
      using file = Deno.openSync(path);
      const buffer = new Uint8Array(MIB);
      while ((file.readSync(buffer) ?? 0) > 0) {
        // Reading is the point.
      }
    }
  }
}

/** Longest one share, get or tar of `workload` may take. */
function budget(workload: FolderWorkload): number {
  return TIMEOUT_SLACK_MS + workload.bytes / MIN_BYTES_PER_MS +
    workload.files * MS_PER_FILE;
}

function pad(n: number, digits: number): string {
  return String(n).padStart(digits, "0");
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function count(n: number): string {
  return n.toLocaleString("en");
}

/** The folder part of a run's results, beside the report's own. */
export interface FoldersPart {
  /** Folder shares and gets against tar, if measured. */
  folders?: FoldersResults;
}
