/**
 * Our own share and get, as a user runs them: a `tracker` process, `peer
 * share --json` processes, and a separate `peer get --json` process timed
 * from spawn to exit (the file is verified and renamed before it exits),
 * with its peak RSS sampled from /proc.
 *
 * @module
 */

import { PERMISSIONS, shareArgs } from "../scripts/_child.ts";
import { TRACKER_V8_FLAGS } from "../scripts/compile.ts";
import { type Child, machineBusySeconds, spawnDeno } from "./_process.ts";
import { megabytesPerSecond, sha256File } from "./baselines.ts";

/** Repository root (the folder holding peer.ts and tracker.ts). */
export const REPO_ROOT = new URL("../", import.meta.url).pathname;
/** Permissions and runtime flags the peer processes run with (as `deno task peer`). */
export const PEER_PERMISSIONS = PERMISSIONS["peer.ts"];
/** Longest a tracker may take to start listening. */
const TRACKER_START_TIMEOUT_MS = 15_000;
/** Slowest hashing rate allowed before a share is declared stuck: 20 MB/s. */
const MIN_SHARE_BYTES_PER_MS = 20_000;
/** Slowest get allowed before it is declared stuck: 10 MB/s. */
const MIN_GET_BYTES_PER_MS = 10_000;
/** Fixed allowance added to every size-based timeout (process start, tracker). */
const TIMEOUT_SLACK_MS = 30_000;

/** A tracker process and the address peers use for it. */
export interface TrackerProcess {
  /** The process. */
  child: Child;
  /** `127.0.0.1:PORT`. */
  address: string;
  /** Port it listens on. */
  port: number;
}

/** Options for {@linkcode startTrackerProcess}. */
export interface StartTrackerOptions {
  /** Extra `deno run` flags, e.g. a permission. @default {none} */
  denoFlags?: string[];
  /** Extra environment variables. @default {none} */
  env?: Record<string, string>;
}

/**
 * Starts `tracker.ts` on 127.0.0.1 with a free port; with `entry`, that
 * script instead (it must print the same "listening on" line).
 */
export async function startTrackerProcess(
  entry?: string,
  options: StartTrackerOptions = {},
): Promise<TrackerProcess> {
  const flags = [
    "run",
    "--allow-net",
    ...TRACKER_V8_FLAGS,
    ...(options.denoFlags ?? []),
  ];
  const child = spawnDeno(
    entry ? [...flags, entry] : [
      ...flags,
      `${REPO_ROOT}tracker.ts`,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
    ],
    { env: options.env },
  );
  try {
    const { line } = await child.waitForLine(
      (text) => /listening on \S+:\d+/i.test(text),
      TRACKER_START_TIMEOUT_MS,
    );
    const port = Number(/:(\d+)\s*$/.exec(line)?.[1]);
    return { child, address: `127.0.0.1:${port}`, port };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/** A running sharer and what its share cost. */
export interface Sharer {
  /** The `peer share` process (serving until stopped). */
  child: Child;
  /** Full file ID it printed. */
  id: string;
  /** `host:port` it serves on, as getters name it in their `peers`. */
  address: string;
  /** Ms from spawn to the JSON line: start-up, hashing and registering. */
  ms: number;
  /** Ms the share reported itself: from the command's start to registered. */
  reportedMs: number;
}

/** Options for {@linkcode startSharer}. */
export interface StartSharerOptions {
  /** More `peer share` arguments, e.g. `["--upload-limit", "16M"]`. */
  args?: string[];
  /** Extra `deno run` flags, e.g. `--cpu-prof`. @default {none} */
  denoFlags?: string[];
  /** Extra environment variables. @default {none} */
  env?: Record<string, string>;
}

/** Starts `peer share FILE --json` and waits until it has registered. */
export async function startSharer(
  file: string,
  size: number,
  tracker: string,
  options: StartSharerOptions = {},
): Promise<Sharer> {
  const child = spawnDeno([
    "run",
    ...PEER_PERMISSIONS,
    ...(options.denoFlags ?? []),
    `${REPO_ROOT}peer.ts`,
    ...shareArgs(file, tracker, options.args),
  ], { env: options.env });
  try {
    const { line, ms } = await child.waitForLine(
      (text) => text.startsWith("{"),
      TIMEOUT_SLACK_MS + size / MIN_SHARE_BYTES_PER_MS,
    );
    const { id, address, elapsedMs } = JSON.parse(line) as {
      id: string;
      address: string;
      elapsedMs: number;
    };
    return { child, id, address, ms, reportedMs: elapsedMs };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/** What one `peer get` run measured. */
export interface GetResult {
  /** Bytes of the file. */
  bytes: number;
  /** Ms from spawn to exit (verified file in place). */
  wallMs: number;
  /** Ms the get reported itself (from its start to the verified file). */
  reportedMs: number;
  /** bytes / wallMs, in MB/s. */
  mbps: number;
  /** Peak RSS of the get process (VmHWM), bytes. */
  peakRssBytes: number;
  /**
   * CPU-ms the whole machine was busy during the get (getter, sharers,
   * kernel): on N cores no get doing this work can take under busyMs / N.
   */
  busyMs: number;
  /**
   * CPU-ms the get process itself used (user + system, all its threads),
   * as last sampled before it exited (up to RSS_POLL_MS short).
   */
  cpuMs: number;
  /** Bytes received from each peer. */
  peers: { address: string; bytes: number }[];
}

/** Options for {@linkcode runGet}. */
export interface RunGetOptions {
  /** Extra `deno run` flags, e.g. `--cpu-prof`. */
  denoFlags?: string[];
  /** Working directory of the process. @default {Deno.cwd()} */
  cwd?: string;
  /** More `peer get` arguments, e.g. `["--port", "0"]`. */
  args?: string[];
  /** Longest the get may take before it is killed. @default {30 s + 1 ms per 10 kB} */
  timeoutMs?: number;
  /** Also check that the saved file's SHA-256 is the file ID. @default {false} */
  checkHash?: boolean;
  /** Extra environment variables. @default {none} */
  env?: Record<string, string>;
}

/**
 * Runs `peer get ID --json --out OUT_DIR` as a separate process to its exit
 * (killed after `options.timeoutMs`); resolves to the process (for its
 * peak RSS, CPU and wall time) and the JSON line it printed, and throws if
 * it failed or printed none.
 */
export async function getToExit<Report>(
  id: string,
  tracker: string,
  outDir: string,
  options: RunGetOptions & { timeoutMs: number },
): Promise<{ child: Child; report: Report }> {
  const child = spawnDeno([
    "run",
    ...PEER_PERMISSIONS,
    ...(options.denoFlags ?? []),
    `${REPO_ROOT}peer.ts`,
    "get",
    id,
    "--tracker",
    tracker,
    "--out",
    outDir,
    "--json",
    ...(options.args ?? []),
  ], { cwd: options.cwd, env: options.env });
  const status = await child.waitForExit(options.timeoutMs);
  if (!status.success) {
    throw new Error(
      `peer get exited with code ${status.code}: ${child.stderrTail}`,
    );
  }
  const line = child.lines.find((text) => text.startsWith("{"));
  if (!line) throw new Error("peer get printed no JSON result");
  return { child, report: JSON.parse(line) as Report };
}

/**
 * Runs `peer get ID --json` into `outDir` as a separate process, checks the
 * file it saved (its size; with `checkHash`, its SHA-256 against the ID),
 * and deletes it.
 */
export async function runGet(
  id: string,
  size: number,
  tracker: string,
  outDir: string,
  options: RunGetOptions = {},
): Promise<GetResult> {
  const busyBefore = machineBusySeconds();
  const { child, report } = await getToExit<{
    path: string;
    size: number;
    elapsedMs: number;
    peers: { address: string; bytes: number }[];
  }>(id, tracker, outDir, {
    ...options,
    timeoutMs: options.timeoutMs ??
      TIMEOUT_SLACK_MS + size / MIN_GET_BYTES_PER_MS,
  });
  const busyMs = (machineBusySeconds() - busyBefore) * 1000;
  const peakRssBytes = child.peakRssBytes;
  const cpuMs = child.lastCpuSeconds * 1000;
  try {
    const saved = await Deno.stat(report.path);
    if (saved.size !== size) {
      throw new Error(`peer get saved ${saved.size} of ${size} bytes`);
    }
    const hex = options.checkHash ? sha256File(report.path) : id;
    if (hex !== id) {
      throw new Error(
        `peer get saved a file whose SHA-256 is ${hex}, not its ID ${id}`,
      );
    }
  } finally {
    await Deno.remove(report.path).catch(() => {});
  }
  const wallMs = child.wallMs ?? 0;
  return {
    bytes: size,
    wallMs,
    reportedMs: report.elapsedMs,
    mbps: megabytesPerSecond(size, wallMs),
    peakRssBytes,
    busyMs,
    cpuMs,
    peers: report.peers,
  };
}

/** Ms for `deno run peer.ts --help`: the start-up cost inside every timing. */
export async function startupMs(): Promise<number> {
  const child = spawnDeno([
    "run",
    ...PEER_PERMISSIONS,
    `${REPO_ROOT}peer.ts`,
    "--help",
  ]);
  await child.waitForExit(TIMEOUT_SLACK_MS);
  return child.wallMs ?? 0;
}
