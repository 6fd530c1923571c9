/**
 * The anchor: the same transfer with aria2c as BitTorrent seeder and
 * downloader on 127.0.0.1, through a local HTTP tracker (bench/bt_tracker.ts)
 * and a torrent made with mktorrent (256 KiB pieces, like ours). The
 * downloader is timed from spawn to exit (it verifies every piece and
 * exits once complete, `--seed-time=0`), with peak RSS from /proc.
 *
 * If aria2c, mktorrent or the npm tracker are missing, it returns why.
 *
 * @module
 */

import { basename, dirname } from "node:path";
import { type Child, hasCommand, run, spawn, spawnDeno } from "./_process.ts";
import { megabytesPerSecond } from "./baselines.ts";
import { settle } from "./settle.ts";

/** log2 of the torrent piece size: 2^18 = 256 KiB, our default. */
const PIECE_SIZE_LOG2 = 18;
/** Listening ports of the two aria2c instances. */
const SEEDER_PORT = 51_413;
const DOWNLOADER_PORT = 51_414;
/** Longest the npm tracker may take to start (it may be fetched first). */
const TRACKER_START_TIMEOUT_MS = 120_000;
/** Longest mktorrent may take, per byte (5 MB/s) plus a fixed allowance. */
const MKTORRENT_MS_PER_BYTE = 1 / 5_000;
const FIXED_TIMEOUT_MS = 30_000;
/** Longest the seeder may take to announce itself. */
const SEEDER_ANNOUNCE_TIMEOUT_MS = 30_000;
/** Slowest download allowed before it is declared stuck: 5 MB/s. */
const MIN_DOWNLOAD_BYTES_PER_MS = 5_000;
/** Options both aria2c instances share: only the local tracker finds peers. */
const COMMON_ARIA2_FLAGS = [
  "--enable-dht=false",
  "--enable-dht6=false",
  "--bt-enable-lpd=false",
  "--enable-peer-exchange=false",
  "--summary-interval=0",
  "--console-log-level=warn",
  "--file-allocation=none",
  "--allow-overwrite=true",
  "--auto-file-renaming=false",
];

/** What the aria2c transfer measured, or why it did not run. */
export type Aria2Result =
  | {
    ran: true;
    /** Bytes transferred. */
    bytes: number;
    /** Ms from spawning the downloader to its exit. */
    wallMs: number;
    /** bytes / wallMs in MB/s. */
    mbps: number;
    /** Average speed aria2c itself reported (its transfer only), MB/s. */
    reportedMbps?: number;
    /** Peak RSS of the downloading aria2c, bytes. */
    peakRssBytes: number;
    /** Ms mktorrent took to hash the file (not part of the transfer). */
    mktorrentMs: number;
    /** aria2c version line. */
    version: string;
  }
  | { ran: false; reason: string };

/** Runs the aria2c transfer of `file` into `workDir`; never throws. */
export async function aria2Anchor(
  file: string,
  size: number,
  workDir: string,
  options: { settleMs?: number } = {},
): Promise<Aria2Result> {
  if (!await hasCommand("aria2c")) {
    return notRun("aria2c is not installed (apt-get install aria2)");
  }
  if (!await hasCommand("mktorrent", ["-h"])) {
    return notRun("mktorrent is not installed (apt-get install mktorrent)");
  }
  const children: Child[] = [];
  try {
    return await transfer(file, size, workDir, children, options.settleMs ?? 0);
  } catch (error) {
    return notRun(error instanceof Error ? error.message : String(error));
  } finally {
    for (const child of children.reverse()) await child.stop();
  }
}

async function transfer(
  file: string,
  size: number,
  workDir: string,
  children: Child[],
  settleMs: number,
): Promise<Aria2Result> {
  const tracker = spawnDeno([
    "run",
    "--no-lock",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "--allow-sys",
    new URL("./bt_tracker.ts", import.meta.url).pathname,
  ]);
  children.push(tracker);
  const { line } = await tracker.waitForLine(
    (text) => text.startsWith("listening "),
    TRACKER_START_TIMEOUT_MS,
  ).catch((error) => {
    throw new Error(
      `the BitTorrent tracker (npm bittorrent-tracker) did not start: ${error.message}`,
    );
  });
  const announce = `http://127.0.0.1:${line.split(" ")[1]}/announce`;
  const torrent = `${workDir}/anchor.torrent`;
  const made = await run(
    "mktorrent",
    ["-a", announce, "-l", String(PIECE_SIZE_LOG2), "-o", torrent, file],
    FIXED_TIMEOUT_MS + size * MKTORRENT_MS_PER_BYTE,
  );
  if (made.code !== 0) throw new Error(`mktorrent failed: ${made.stderr}`);
  const seeder = spawn("aria2c", [
    ...COMMON_ARIA2_FLAGS,
    `--dir=${dirname(file)}`,
    "--bt-seed-unverified=true",
    "--seed-ratio=0.0",
    `--listen-port=${SEEDER_PORT}`,
    torrent,
  ]);
  children.push(seeder);
  await tracker.waitForLine(
    (text) => text.startsWith("announce "),
    SEEDER_ANNOUNCE_TIMEOUT_MS,
  );
  const outDir = `${workDir}/aria2-out`;
  await Deno.mkdir(outDir, { recursive: true });
  // As before our own gets (see settle.ts).
  await settle(settleMs);
  const downloader = spawn("aria2c", [
    ...COMMON_ARIA2_FLAGS,
    `--dir=${outDir}`,
    "--seed-time=0",
    `--listen-port=${DOWNLOADER_PORT}`,
    torrent,
  ]);
  children.push(downloader);
  const status = await downloader.waitForExit(
    FIXED_TIMEOUT_MS + size / MIN_DOWNLOAD_BYTES_PER_MS,
  );
  const peakRssBytes = downloader.peakRssBytes;
  const saved = `${outDir}/${basename(file)}`;
  try {
    if (!status.success) {
      throw new Error(
        `aria2c download exited with code ${status.code}: ${downloader.stderrTail}`,
      );
    }
    const got = (await Deno.stat(saved)).size;
    if (got !== size) throw new Error(`aria2c saved ${got} of ${size} bytes`);
  } finally {
    await Deno.remove(outDir, { recursive: true }).catch(() => {});
  }
  const version = await run("aria2c", ["--version"], FIXED_TIMEOUT_MS);
  const wallMs = downloader.wallMs ?? 0;
  return {
    ran: true,
    bytes: size,
    wallMs,
    mbps: megabytesPerSecond(size, wallMs),
    reportedMbps: reportedSpeed(downloader.lines),
    peakRssBytes,
    mktorrentMs: made.ms,
    version: version.stdout.split("\n")[0],
  };
}

/** Powers of 1024 of aria2c's speed units. */
const UNIT_POWERS: Record<string, number> = { "": 0, K: 1, M: 2, G: 3 };

/** The average speed in aria2c's "Download Results" (`|OK  |   22MiB/s|`), MB/s. */
function reportedSpeed(lines: readonly string[]): number | undefined {
  for (const line of lines) {
    const match = /\|OK\s*\|\s*([\d.]+)([KMG]?)i?B\/s\|/.exec(line);
    if (match) {
      return Number(match[1]) * 1024 ** UNIT_POWERS[match[2]] / 1e6;
    }
  }
  return undefined;
}

function notRun(reason: string): Aria2Result {
  return { ran: false, reason };
}
