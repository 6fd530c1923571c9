/**
 * What this machine can do without our code, measured in the same run: raw
 * Deno TCP over loopback (256 KiB writes, a reader in another process that
 * discards) and streaming SHA-256 of the test file along the path our code
 * uses for the whole-file hash (`node:crypto` `createHash`, fed by 256 KiB
 * synchronous reads, as in lib/file_hash.ts). Also writes the test files.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { DirectFile } from "../lib/storage/direct_file.ts";
import { writeAll } from "../lib/util/write_all.ts";
import { spawnDeno } from "./_process.ts";
import { settle } from "./settle.ts";

/** Bytes per TCP write and per file read: one default piece. */
export const CHUNK_BYTES = 256 * 1024;
/** Bytes of random data repeated (shifted and stamped) to make test files. */
const RANDOM_POOL_BYTES = 64 * 1024 * 1024;
/** Largest request `crypto.getRandomValues` accepts. */
const RANDOM_CALL_BYTES = 65_536;
/** Bytes written per call while making a test file. */
const WRITE_BLOCK_BYTES = 1024 * 1024;
/** Step between pool offsets of consecutive blocks (prime, so blocks differ). */
const POOL_STRIDE_BYTES = 7_919 * 4_096;
/** Longest one TCP baseline run may take. */
const TCP_RUN_TIMEOUT_MS = 60_000;
/** Longest the sink process may take to start listening. */
const SINK_START_TIMEOUT_MS = 10_000;

/** One throughput measurement: the median of several runs. */
export interface Throughput {
  /** Bytes per run. */
  bytes: number;
  /** Median ms of the runs. */
  ms: number;
  /** Median throughput, MB/s (10^6 bytes). */
  mbps: number;
  /** MB/s of every run, in order. */
  runs: number[];
}

/**
 * Writes `size` bytes of pseudo-random data to `path` and syncs it, so the
 * write-back does not overlap later measurements. Every 1 MiB block is a
 * different slice of a 64 MiB random pool with its index stamped in, so no
 * two pieces are alike and writing 4 GiB costs little CPU.
 */
export function writeTestFile(path: string, size: number): void {
  const pool = new Uint8Array(RANDOM_POOL_BYTES);
  for (let i = 0; i < pool.length; i += RANDOM_CALL_BYTES) {
    crypto.getRandomValues(pool.subarray(i, i + RANDOM_CALL_BYTES));
  }
  const block = new Uint8Array(WRITE_BLOCK_BYTES);
  const view = new DataView(block.buffer);
  using file = Deno.openSync(path, {
    write: true,
    create: true,
    truncate: true,
  });
  let written = 0;
  for (let index = 0; written < size; index++) {
    const offset = (index * POOL_STRIDE_BYTES) %
      (RANDOM_POOL_BYTES - WRITE_BLOCK_BYTES);
    block.set(pool.subarray(offset, offset + WRITE_BLOCK_BYTES));
    for (let at = 0; at < block.length; at += CHUNK_BYTES) {
      view.setFloat64(at, index * WRITE_BLOCK_BYTES + at);
    }
    const part = block.subarray(0, Math.min(block.length, size - written));
    writeAll(file, part);
    written += part.length;
  }
  file.syncSync();
}

/**
 * Streaming SHA-256 of `path`, `runs` times: the throughput ceiling of
 * verifying a download on one thread. Returns the median and the hex digest.
 */
export function sha256Baseline(
  path: string,
  runs: number,
): Throughput & { hex: string } {
  const times: number[] = [];
  let hex = "";
  const size = Deno.statSync(path).size;
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    hex = sha256File(path);
    times.push(performance.now() - started);
  }
  return { ...summarize(size, times), hex };
}

/** SHA-256 of a file as lowercase hex, read in 256 KiB synchronous reads. */
export function sha256File(path: string): string {
  const hash = createHash("sha256");
  const buffer = new Uint8Array(CHUNK_BYTES);
  using file = Deno.openSync(path, { read: true });
  for (;;) {
    const n = file.readSync(buffer);
    if (n === null || n === 0) break;
    hash.update(buffer.subarray(0, n));
  }
  return hash.digest("hex");
}

/** Options for {@linkcode writeBaseline}. */
export interface WriteBaselineOptions {
  /** Ms the machine idles before each run (see `settle.ts`). @default {0} */
  settleMs?: number;
  /**
   * Write past the page cache, as `peer get` does where the system allows
   * (`lib/direct_file.ts`): the file is sized first, as a `.part` is.
   * Resolves to undefined where direct writes are not possible.
   * @default {false}
   */
  direct?: boolean;
}

/**
 * Writing `bytes` to a new file in 256 KiB synchronous writes, the way a
 * download fills its `.part` (no sync to disk): the writing part of
 * any download, since every received byte is written once (the floor row,
 * `floor.ts`, adds receiving and hashing). Each run writes its
 * own file (`PATH.N`, all removed at the end) so that each, like a download,
 * fills page-cache pages nobody freed a moment ago: on a VM whose memory the
 * host backs lazily, those cost several times more to write into than
 * just-freed ones (seen here: ~520 against ~9,700 MB/s). With `direct`, the
 * writes go past the page cache instead.
 */
export async function writeBaseline(
  path: string,
  bytes: number,
  runs: number,
  options: WriteBaselineOptions = {},
): Promise<Throughput | undefined> {
  const buffer = new Uint8Array(CHUNK_BYTES);
  crypto.getRandomValues(buffer.subarray(0, RANDOM_CALL_BYTES));
  const times: number[] = [];
  const paths: string[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      await settle(options.settleMs ?? 0);
      paths.push(`${path}.${run}`);
      using file = Deno.openSync(paths[run], { write: true, createNew: true });
      using direct = options.direct
        ? openDirect(file, paths[run], bytes)
        : undefined;
      if (options.direct && !direct) return undefined;
      const started = performance.now();
      for (let written = 0; written < bytes;) {
        const chunk = buffer.subarray(
          0,
          Math.min(CHUNK_BYTES, bytes - written),
        );
        if (!direct) writeAll(file, chunk);
        else if (!direct.write(written, chunk)) return undefined;
        written += chunk.length;
      }
      times.push(performance.now() - started);
    }
  } finally {
    for (const written of paths) Deno.removeSync(written);
  }
  return summarize(bytes, times);
}

/** Sizes `file` to `bytes` and opens it for direct writes, where possible. */
function openDirect(
  file: Deno.FsFile,
  path: string,
  bytes: number,
): DirectFile | undefined {
  file.truncateSync(bytes);
  const { dev, ino } = file.statSync();
  return DirectFile.open({ path, dev, ino, maxBytes: CHUNK_BYTES });
}

/** The middle value (the upper one of an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Raw Deno TCP throughput over 127.0.0.1: this process writes `bytes` in
 * 256 KiB writes; a separate Deno process reads and discards them. Timed
 * by the reader, first byte to end of stream; median of `runs`.
 */
export async function tcpBaseline(
  bytes: number,
  runs: number,
): Promise<Throughput> {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    times.push(await tcpRun(bytes));
  }
  return summarize(bytes, times);
}

async function tcpRun(bytes: number): Promise<number> {
  const sink = spawnDeno([
    "run",
    "--allow-net",
    new URL("./tcp_sink.ts", import.meta.url).pathname,
  ]);
  try {
    const { line } = await sink.waitForLine(
      (text) => text.startsWith("port "),
      SINK_START_TIMEOUT_MS,
    );
    const port = Number(line.slice("port ".length));
    const chunk = new Uint8Array(CHUNK_BYTES);
    crypto.getRandomValues(chunk.subarray(0, RANDOM_CALL_BYTES));
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      let sent = 0;
      while (sent < bytes) {
        const want = Math.min(chunk.length, bytes - sent);
        sent += await conn.write(chunk.subarray(0, want));
      }
    } finally {
      conn.close();
    }
    const result = await sink.waitForLine(
      (text) => text.startsWith("{"),
      TCP_RUN_TIMEOUT_MS,
    );
    const report = JSON.parse(result.line) as { bytes: number; ms: number };
    if (report.bytes !== bytes) {
      throw new Error(`TCP sink got ${report.bytes} of ${bytes} bytes`);
    }
    return report.ms;
  } finally {
    await sink.stop();
  }
}

/** Median of `times` for `bytes` bytes each, as a {@linkcode Throughput}. */
export function summarize(bytes: number, times: number[]): Throughput {
  const ms = median(times);
  return {
    bytes,
    ms,
    mbps: megabytesPerSecond(bytes, ms),
    runs: times.map((t) => round(megabytesPerSecond(bytes, t))),
  };
}

/** MB/s (10^6 bytes per second) for `bytes` in `ms`. */
export function megabytesPerSecond(bytes: number, ms: number): number {
  return ms > 0 ? bytes / 1e6 / (ms / 1000) : 0;
}

/** Rounds to one decimal place. */
export function round(value: number): number {
  return Math.round(value * 10) / 10;
}
