/**
 * An interrupted get resumes from its `.part` even when the next get saves
 * the file under another name: its only sharer left calls it differently,
 * or `-o` names another. The `.part` is found by its record, which names
 * the file's ID. A real tracker and sharers in process.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  randomFile,
  sha256File,
  sharer,
  tempDir,
  testTracker,
} from "../fixtures.ts";
import { download } from "../../lib/download/download.ts";
import type { Address } from "../../lib/net/connection.ts";
import { namesIn } from "./_folders.ts";

const MiB = 1024 * 1024;
const SIZE = 12 * MiB;
/** Bytes received before the first get is stopped. */
const BEFORE_STOP = 3 * MiB;

function sum(peers: { bytes: number }[]): number {
  return peers.reduce((total, peer) => total + peer.bytes, 0);
}

/**
 * Shares `dir/f3.bin` (random, SIZE bytes) from a sharer that then leaves,
 * after a get of it into `out` was stopped once BEFORE_STOP bytes arrived.
 * Resolves to the file's ID.
 */
async function interruptedThenGone(
  tracker: Address,
  dir: string,
  out: string,
): Promise<string> {
  const source = await randomFile(dir, "f3.bin", SIZE);
  await using first = await sharer(tracker, [source]);
  const { id } = first.shared()[0];
  const stop = new AbortController();
  await assertRejects(() =>
    download(id, {
      tracker,
      outDir: out,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.received >= BEFORE_STOP) stop.abort();
      },
    })
  );
  assert(await Deno.lstat(join(out, "f3.bin.part")).then(() => true));
  return id;
}

Deno.test("a get resumes the .part an interrupted get of the same file left when the only sharer left calls the file by another name, and saves it under that name", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const out = join(dir.path, "out");
  const id = await interruptedThenGone(tracker.address, dir.path, out);
  const copy = join(dir.path, "f3copy.bin");
  await Deno.copyFile(join(dir.path, "f3.bin"), copy);
  await using second = await sharer(tracker.address, [copy]);
  assertEquals(second.shared()[0].id, id);
  const result = await download(id, { tracker: tracker.address, outDir: out });
  assertEquals(result.path, join(out, "f3copy.bin"));
  assertEquals(await sha256File(result.path), id);
  const fetched = sum(result.peers);
  assert(fetched <= SIZE - BEFORE_STOP, `fetched ${fetched} of ${SIZE} again`);
  assertEquals(await namesIn(out), ["f3copy.bin"]);
});

Deno.test("a get with -o NAME resumes the .part an interrupted get of the same file left under the file's own name, and saves it as NAME", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const out = join(dir.path, "out");
  const id = await interruptedThenGone(tracker.address, dir.path, out);
  await using _again = await sharer(tracker.address, [
    join(dir.path, "f3.bin"),
  ]);
  const result = await download(id, {
    tracker: tracker.address,
    outDir: out,
    saveAs: "mine.bin",
  });
  assertEquals(result.path, join(out, "mine.bin"));
  assertEquals(await sha256File(result.path), id);
  const fetched = sum(result.peers);
  assert(fetched <= SIZE - BEFORE_STOP, `fetched ${fetched} of ${SIZE} again`);
  assertEquals(await namesIn(out), ["mine.bin"]);
});
