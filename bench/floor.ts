/**
 * The floor under `peer get` on this machine, measured in the same run: this
 * process streams the test file over 127.0.0.1 (256 KiB reads from the page
 * cache, as a sharer serves pieces) to a child (`floor_sink.ts`) that does
 * only the work every get must do: the SHA-256 of each piece, the whole-file
 * SHA-256 on a second thread, and 1 MiB writes past the page cache into a
 * new file. No protocol, scheduling or bookkeeping: if this takes N SHA-256
 * passes, no get on this machine takes fewer.
 *
 * @module
 */

import { median, summarize, type Throughput } from "./baselines.ts";
import { readFull } from "../lib/util/read_full.ts";
import { writeAllAsync } from "../lib/util/write_all.ts";
import { machineBusySeconds, spawnDeno } from "./_process.ts";
import { FLOOR_RUN_BYTES } from "./floor_sink.ts";
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
  let direct = true;
  for (let run = 0; run < runs; run++) {
    await settle(options.settleMs ?? 0);
    const out = `${options.work}/floor-${run}.bin`;
    try {
      const report = await floorRun(path, size, out);
      if (report.bytes !== size || report.hex !== options.hex) {
        throw new Error(
          `The floor sink got ${report.bytes} of ${size} bytes hashing to ${report.hex}`,
        );
      }
      times.push(report.ms);
      cpu.push(report.cpuMs);
      busy.push(report.busyMs);
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
}

async function floorRun(
  path: string,
  size: number,
  out: string,
): Promise<SinkReport> {
  const sink = spawnDeno([
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    new URL("./floor_sink.ts", import.meta.url).pathname,
    out,
  ]);
  try {
    const { line } = await sink.waitForLine(
      (text) => text.startsWith("port "),
      FLOOR_START_TIMEOUT_MS,
    );
    const port = Number(line.slice("port ".length));
    using file = Deno.openSync(path, { read: true });
    const busyBefore = machineBusySeconds();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const header = new Uint8Array(8);
      new DataView(header.buffer).setBigUint64(0, BigInt(size));
      await writeAllAsync(conn, header);
      const buffer = new Uint8Array(SEND_BYTES);
      for (let sent = 0; sent < size;) {
        const n = readFull(file, buffer);
        if (n === 0) throw new Error(`${path} ended at ${sent} bytes`);
        await writeAllAsync(conn, buffer.subarray(0, n));
        sent += n;
      }
    } finally {
      conn.close();
    }
    const result = await sink.waitForLine(
      (text) => text.startsWith("{"),
      FLOOR_RUN_TIMEOUT_MS,
    );
    const busyMs = (machineBusySeconds() - busyBefore) * 1000;
    return { ...JSON.parse(result.line), busyMs } as SinkReport;
  } finally {
    await sink.stop();
  }
}
