/**
 * The floor under `peer get` on this machine, measured in the same run: this
 * process streams the test file over 127.0.0.1 (256 KiB reads from the page
 * cache, as a sharer serves pieces) to a child (`floor_sink.ts`) that does
 * only the work every get must do: the SHA-256 of each piece, the whole-file
 * SHA-256 on a second thread, and 1 MiB writes past the page cache into a
 * new file. No protocol, scheduling or bookkeeping: if this takes N SHA-256
 * passes, no get on this machine takes fewer.
 *
 * Encrypted (`encrypted: true`), the same over the product's secret stream
 * (`lib/secure/secret_stream.ts`, a Noise `NN` handshake before the timing):
 * this process seals each 256 KiB read into one ChaCha20-Poly1305 record,
 * as a sharer seals each piece, and the sink opens each before its work.
 * Since every connection is encrypted, this is the floor under a real get.
 *
 * @module
 */

import { cpuUsage } from "node:process";
import { median, summarize, type Throughput } from "./baselines.ts";
import { readFull } from "../lib/util/read_full.ts";
import { writeAllAsync } from "../lib/util/write_all.ts";
import { machineBusySeconds, spawnDeno } from "./_process.ts";
import {
  FLOOR_ENCRYPTED_FLAG,
  FLOOR_HEADER_BYTES,
  FLOOR_RUN_BYTES,
} from "./floor_sink.ts";
import {
  type ByteStream,
  openSecretStream,
} from "../lib/secure/secret_stream.ts";
import { settle } from "./settle.ts";

/** Bytes per file read and socket write: one default piece. */
const SEND_BYTES = 256 * 1024;
/** Longest the sink may take to start listening. */
const FLOOR_START_TIMEOUT_MS = 10_000;
/** Longest one run may take after the last byte is sent. */
const FLOOR_RUN_TIMEOUT_MS = 60_000;

/** What {@linkcode floorBaseline} measured. */
export interface FloorResult extends Throughput {
  /** Median CPU ms the sink used from its first byte (both threads). */
  cpuMs: number;
  /**
   * Median CPU ms the whole machine spent from connecting to the sink's
   * report (sender, sink and kernel): on N cores no schedule of this work
   * takes under busyMs / N.
   */
  busyMs: number;
  /**
   * Median CPU ms the sending process used, connect to report: with
   * `cpuMs`, the floor's own work, which others' load on the machine does
   * not inflate as it does `busyMs`.
   */
  senderCpuMs: number;
  /** Whether every run wrote all but a short last run past the page cache. */
  direct: boolean;
}

/** Options for {@linkcode floorBaseline}. */
export interface FloorOptions {
  /** Folder for the sink's output files (each removed after its run). */
  work: string;
  /** Whole-file SHA-256 the sink must find, hex. */
  hex: string;
  /** Ms the machine idles before each run (see `settle.ts`). @default {0} */
  settleMs?: number;
  /** Send through the product's secret stream (see above). @default {false} */
  encrypted?: boolean;
}

/**
 * Streams `path` to the floor sink `runs` times; returns the median time
 * from the sink's first byte to its file written and both hashes done.
 */
export async function floorBaseline(
  path: string,
  runs: number,
  options: FloorOptions,
): Promise<FloorResult> {
  const size = Deno.statSync(path).size;
  const times: number[] = [];
  const cpu: number[] = [];
  const busy: number[] = [];
  const sender: number[] = [];
  let direct = true;
  for (let run = 0; run < runs; run++) {
    await settle(options.settleMs ?? 0);
    const out = `${options.work}/floor-${run}.bin`;
    try {
      const report = await floorRun(path, out, options.encrypted);
      if (report.bytes !== size || report.hex !== options.hex) {
        throw new Error(
          `The floor sink got ${report.bytes} of ${size} bytes hashing to ${report.hex}`,
        );
      }
      times.push(report.ms);
      cpu.push(report.cpuMs);
      busy.push(report.busyMs);
      sender.push(report.senderCpuMs);
      // Only a short last run may go through the page cache.
      direct &&= size - report.directBytes < FLOOR_RUN_BYTES;
    } finally {
      await Deno.remove(out).catch(() => {});
    }
  }
  return {
    ...summarize(size, times),
    cpuMs: median(cpu),
    busyMs: median(busy),
    senderCpuMs: median(sender),
    direct,
  };
}

interface SinkReport {
  bytes: number;
  ms: number;
  hex: string;
  directBytes: number;
  cpuMs: number;
  /** Added here: see {@linkcode FloorResult.busyMs}. */
  busyMs: number;
  /** Added here: see {@linkcode FloorResult.senderCpuMs}. */
  senderCpuMs: number;
}

/**
 * The `deno run` arguments of a floor sink writing to `out`; `encrypted`:
 * through a secret stream.
 */
export function floorSinkArgs(out: string, encrypted = false): string[] {
  return [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    new URL("./floor_sink.ts", import.meta.url).pathname,
    out,
    ...(encrypted ? [FLOOR_ENCRYPTED_FLAG] : []),
  ];
}

/**
 * Sends what a floor sink expects over `stream` (a socket, or a secret
 * stream over one): the size of the file at `path`, then the file in
 * 256 KiB writes (each one record when `stream` is a secret stream).
 */
export async function sendToFloorSink(
  stream: ByteStream,
  path: string,
): Promise<void> {
  using file = Deno.openSync(path, { read: true });
  const size = file.statSync().size;
  const header = new Uint8Array(FLOOR_HEADER_BYTES);
  new DataView(header.buffer).setBigUint64(0, BigInt(size));
  await writeAllAsync(stream, header);
  const buffer = new Uint8Array(SEND_BYTES);
  for (let sent = 0; sent < size;) {
    const n = readFull(file, buffer);
    if (n === 0) throw new Error(`${path} ended at ${sent} bytes`);
    await writeAllAsync(stream, buffer.subarray(0, n));
    sent += n;
  }
}

async function floorRun(
  path: string,
  out: string,
  encrypted = false,
): Promise<SinkReport> {
  const sink = spawnDeno(floorSinkArgs(out, encrypted));
  try {
    const { line } = await sink.waitForLine(
      (text) => text.startsWith("port "),
      FLOOR_START_TIMEOUT_MS,
    );
    const port = Number(line.slice("port ".length));
    const busyBefore = machineBusySeconds();
    const cpuBefore = cpuUsage();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const stream = encrypted ? await openSecretStream(conn) : conn;
      await sendToFloorSink(stream, path);
    } finally {
      conn.close();
    }
    const result = await sink.waitForLine(
      (text) => text.startsWith("{"),
      FLOOR_RUN_TIMEOUT_MS,
    );
    const busyMs = (machineBusySeconds() - busyBefore) * 1000;
    const cpu = cpuUsage(cpuBefore);
    const senderCpuMs = (cpu.user + cpu.system) / 1000;
    return { ...JSON.parse(result.line), busyMs, senderCpuMs } as SinkReport;
  } finally {
    await sink.stop();
  }
}
