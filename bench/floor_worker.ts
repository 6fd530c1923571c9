/**
 * The second thread of the floor sink (`floor_sink.ts`): feeds each run of
 * pieces it is handed to the whole-file SHA-256 and writes it past the page
 * cache (`lib/direct_file.ts`, or the usual way where the system refuses),
 * then hands the buffer back. This is the part of a get that `peer get`'s
 * hashing thread does, without the bookkeeping around it.
 *
 * Messages in: {@linkcode FloorOpen}, then {@linkcode FloorRun}s in file
 * order, then {@linkcode FloorEnd}. Messages out: each buffer back, then
 * {@linkcode FloorDone} (or `{ error }`).
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { createHash } from "node:crypto";
import { DirectFile, type DirectTarget } from "../lib/storage/direct_file.ts";
import { writeAll } from "../lib/util/write_all.ts";

/** Opens the output file the sink created and sized. */
export interface FloorOpen extends DirectTarget {
  kind: "open";
}

/** A run of received pieces, in file order. */
export interface FloorRun {
  kind: "run";
  /** The buffer, transferred; sent back once written. */
  buffer: ArrayBuffer;
  /** Bytes of it that hold data. */
  length: number;
  /** Where they go in the file. */
  offset: number;
}

/** No more runs: finish the hash and reply. */
export interface FloorEnd {
  kind: "end";
}

/** The reply to {@linkcode FloorEnd}. */
export interface FloorDone {
  kind: "done";
  /** Whole-file SHA-256, hex. */
  hex: string;
  /** Bytes written past the page cache (the rest went the usual way). */
  directBytes: number;
}

let file: Deno.FsFile | undefined;
let direct: DirectFile | undefined;
let directBytes = 0;
let expected = 0;
const whole = createHash("sha256");

self.onmessage = (event: MessageEvent<FloorOpen | FloorRun | FloorEnd>) => {
  try {
    handle(event.data);
  } catch (error) {
    self.postMessage({ error: String(error) });
  }
};

function handle(message: FloorOpen | FloorRun | FloorEnd): void {
  if (message.kind === "open") {
    file = Deno.openSync(message.path, { write: true });
    direct = DirectFile.open(message);
    return;
  }
  if (message.kind === "end") {
    direct?.close();
    file?.close();
    const done: FloorDone = {
      kind: "done",
      hex: whole.digest("hex"),
      directBytes,
    };
    self.postMessage(done);
    return;
  }
  if (!file) throw new Error("run before open");
  if (message.offset !== expected) {
    throw new Error(`run at ${message.offset}, expected ${expected}`);
  }
  const bytes = new Uint8Array(message.buffer, 0, message.length);
  whole.update(bytes);
  if (direct?.write(message.offset, bytes)) directBytes += bytes.length;
  else {
    file.seekSync(message.offset, Deno.SeekMode.Start);
    writeAll(file, bytes);
  }
  expected += message.length;
  self.postMessage(message.buffer, [message.buffer]);
}
