/**
 * Child process for the floor baseline (`floor.ts`): the work a get must do
 * and nothing else. It listens on 127.0.0.1 port 0, prints the port, accepts
 * one connection that sends an 8-byte size and then the file, and
 *
 * - on this thread, receives the bytes into 1 MiB buffers and takes the
 *   SHA-256 of every 256 KiB piece as it arrives (`peer get` checks each
 *   against the piece hashes it was given);
 * - on a second thread (`floor_worker.ts`), feeds the pieces in order to the
 *   whole-file SHA-256 and writes them, 1 MiB at a time, past the page cache
 *   into a new file sized beforehand, as `peer get` fills its `.part`.
 *
 * No protocol, no requests, no scheduling, no second sharer: a get cannot
 * take less. It prints `{"bytes","ms","hex","directBytes","cpuMs"}`, timed
 * (wall clock and CPU of both threads) from the first byte to the hash and
 * the last write being done, without Deno's start-up.
 *
 * With `--encrypted` the connection is the product's secret stream
 * (`lib/secure/secret_stream.ts`: a Noise `NN` handshake, untimed, then
 * ChaCha20-Poly1305 records): the size and the file arrive sealed, and
 * each record is opened in place and copied into the run buffer, as a
 * getter's pull reader does, before the work above. A record that fails to
 * open ends the sink with an error and no result line.
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-write bench/floor_sink.ts OUT [--encrypted]
 * ```
 *
 * @module
 */

import { cpuUsage } from "node:process";
import { acceptOne } from "./_accept_one.ts";
import { createHash } from "node:crypto";
import { DEFAULT_PIECE_SIZE } from "../lib/protocol/limits.ts";
import {
  acceptSecretStream,
  type ByteStream,
} from "../lib/secure/secret_stream.ts";
import { readFullAsync } from "../lib/util/read_full.ts";
import type { FloorDone, FloorOpen, FloorRun } from "./floor_worker.ts";

/** Bytes handed to the second thread at a time: 4 pieces, as `peer get` writes. */
export const FLOOR_RUN_BYTES = 4 * DEFAULT_PIECE_SIZE;
/** Buffers of FLOOR_RUN_BYTES in flight between the threads. */
export const FLOOR_BUFFERS = 4;
/** Bytes of the size that comes first. */
export const FLOOR_HEADER_BYTES = 8;
/** The flag that makes the sink take the file through a secret stream. */
export const FLOOR_ENCRYPTED_FLAG = "--encrypted";

async function main(out: string, encrypted: boolean): Promise<void> {
  const worker = new Worker(
    new URL("./floor_worker.ts", import.meta.url).href,
    { type: "module" },
  );
  using conn = await acceptOne();
  const input: ByteStream = encrypted
    ? (await acceptSecretStream(conn)).stream
    : conn;
  const header = new Uint8Array(FLOOR_HEADER_BYTES);
  if (await readFullAsync(input, header) !== FLOOR_HEADER_BYTES) {
    throw new Error("The connection ended before the size");
  }
  const started = performance.now();
  const cpuBefore = cpuUsage();
  const bytes = Number(new DataView(header.buffer).getBigUint64(0));
  {
    using file = Deno.openSync(out, { write: true, createNew: true });
    file.truncateSync(bytes);
    const { dev, ino } = file.statSync();
    const open: FloorOpen = {
      kind: "open",
      path: out,
      dev,
      ino,
      maxBytes: FLOOR_RUN_BYTES,
    };
    worker.postMessage(open);
  }
  const free: ArrayBuffer[] = [];
  for (let i = 0; i < FLOOR_BUFFERS; i++) {
    free.push(new ArrayBuffer(FLOOR_RUN_BYTES));
  }
  let wake: (() => void) | undefined;
  let finish: (done: FloorDone) => void = () => {};
  let fail: (error: Error) => void = () => {};
  const done = new Promise<FloorDone>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  worker.onmessage = (event) => {
    const data = event.data;
    if (data instanceof ArrayBuffer) {
      free.push(data);
      wake?.();
    } else if (data.kind === "done") finish(data);
    else fail(new Error(data.error));
  };
  worker.onerror = (event) => {
    event.preventDefault();
    fail(new Error(event.message));
  };
  for (let offset = 0; offset < bytes;) {
    while (free.length === 0) {
      await Promise.race([
        new Promise<void>((resolve) => wake = resolve),
        done,
      ]);
    }
    const buffer = free.pop()!;
    const run = new Uint8Array(
      buffer,
      0,
      Math.min(FLOOR_RUN_BYTES, bytes - offset),
    );
    let filled = 0;
    let hashed = 0;
    while (filled < run.length) {
      const n = await input.read(run.subarray(filled));
      if (n === null) throw new Error(`The stream ended at ${offset + filled}`);
      filled += n;
      while (
        filled - hashed >= DEFAULT_PIECE_SIZE ||
        (filled === run.length && hashed < filled)
      ) {
        const end = Math.min(hashed + DEFAULT_PIECE_SIZE, run.length);
        createHash("sha256").update(run.subarray(hashed, end)).digest();
        hashed = end;
      }
    }
    const message: FloorRun = {
      kind: "run",
      buffer,
      length: run.length,
      offset,
    };
    offset += run.length;
    worker.postMessage(message, [buffer]); // detaches `run`
  }
  worker.postMessage({ kind: "end" });
  const { hex, directBytes } = await done;
  const ms = performance.now() - started;
  worker.terminate();
  const cpu = cpuUsage(cpuBefore);
  console.log(JSON.stringify({
    bytes,
    ms,
    hex,
    directBytes,
    cpuMs: (cpu.user + cpu.system) / 1000,
  }));
}

if (import.meta.main) {
  const [out, flag] = Deno.args;
  const encrypted = flag === FLOOR_ENCRYPTED_FLAG;
  if (!out || Deno.args.length > (encrypted ? 2 : 1)) {
    console.error(`Usage: floor_sink.ts OUT [${FLOOR_ENCRYPTED_FLAG}]`);
    Deno.exit(2);
  }
  await main(out, encrypted);
}
