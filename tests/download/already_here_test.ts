/**
 * A get of what the download folder already holds, under its own name or
 * under a numbered one an earlier get saved it as (`NAME (1).ext`, a
 * folder's `NAME (1)`): nothing is fetched and no further copy is saved.
 * A real tracker and sharer in process; `peer get` as a process for what
 * the user reads.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import {
  randomFile,
  sha256File,
  sharer,
  tempDir,
  testTracker,
} from "../fixtures.ts";
import { download } from "../../lib/download/download.ts";
import { runEntry } from "../../scripts/_child.ts";
import { namesIn, treeOf, writeTree } from "./_folders.ts";

const KIB = 1024;

Deno.test("a second get of a file saved as NAME (1) because NAME held other bytes says it is already there and fetches nothing", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "f.bin", 700 * KIB);
  await using node = await sharer(tracker.address, [source]);
  const { id } = node.shared()[0];
  const out = join(dir.path, "out");
  await Deno.mkdir(out);
  await Deno.writeTextFile(join(out, "f.bin"), "the user's own f.bin");
  const options = { tracker: tracker.address, outDir: out };
  const first = await download(id, options);
  assertEquals(first.path, join(out, "f (1).bin"));
  assertEquals(first.alreadyHere, false);
  const second = await download(id, options);
  assertEquals(second.alreadyHere, true);
  assertEquals(second.path, join(out, "f (1).bin"));
  assertEquals(second.peers, []);
  assertEquals(await namesIn(out), ["f (1).bin", "f.bin"]);
  assertEquals(
    await Deno.readTextFile(join(out, "f.bin")),
    "the user's own f.bin",
  );
});

Deno.test("numbered copies of the same size but other bytes are hashed and passed over: the file is found as NAME (2)", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const size = 300 * KIB;
  const source = await randomFile(dir.path, "g.bin", size);
  await using node = await sharer(tracker.address, [source]);
  const { id } = node.shared()[0];
  const out = join(dir.path, "out");
  await Deno.mkdir(out);
  await randomFile(out, "g.bin", size);
  await randomFile(out, "g (1).bin", size);
  await Deno.copyFile(source, join(out, "g (2).bin"));
  const result = await download(id, { tracker: tracker.address, outDir: out });
  assertEquals(result.alreadyHere, true);
  assertEquals(result.path, join(out, "g (2).bin"));
  assertEquals(await namesIn(out), ["g (1).bin", "g (2).bin", "g.bin"]);
});

Deno.test("with force only NAME itself counts: a copy at NAME (1) does not stop the get replacing NAME", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "h.bin", 300 * KIB);
  await using node = await sharer(tracker.address, [source]);
  const { id } = node.shared()[0];
  const out = join(dir.path, "out");
  await Deno.mkdir(out);
  await Deno.writeTextFile(join(out, "h.bin"), "old");
  await Deno.copyFile(source, join(out, "h (1).bin"));
  const result = await download(id, {
    tracker: tracker.address,
    outDir: out,
    force: true,
  });
  assertEquals(result.alreadyHere, false);
  assertEquals(result.path, join(out, "h.bin"));
  assertEquals(await sha256File(join(out, "h.bin")), id);
  assertEquals(await sha256File(join(out, "h (1).bin")), id);
});

Deno.test("a second get of a folder saved as NAME (1) because NAME held something else finds NAME (1) and saves no NAME (2)", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const root = join(dir.path, "share", "photos");
  await writeTree(root, [
    { path: "one.jpg", bytes: crypto.getRandomValues(new Uint8Array(9000)) },
    { path: "2024/two.jpg", bytes: new TextEncoder().encode("two") },
  ]);
  await using node = await sharer(tracker.address, [root]);
  const { id } = node.shared()[0];
  const out = join(dir.path, "out");
  await writeTree(join(out, "photos"), [
    { path: "note.txt", bytes: new TextEncoder().encode("mine") },
  ]);
  const options = { tracker: tracker.address, outDir: out };
  const first = await download(id, options);
  assertEquals(first.path, join(out, "photos (1)"));
  const second = await download(id, options);
  assertEquals(second.alreadyHere, true);
  assertEquals(second.path, join(out, "photos (1)"));
  assertEquals(await namesIn(out), ["photos", "photos (1)"]);
  assertEquals(await treeOf(second.path), await treeOf(root));
});

Deno.test("peer get of a file saved earlier as NAME (1) prints Already have OUT/NAME (1) and saves no NAME (2)", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "k.bin", 100_000);
  await using node = await sharer(tracker.address, [source]);
  const { id } = node.shared()[0];
  const out = join(dir.path, "out");
  await Deno.mkdir(out);
  await Deno.writeTextFile(join(out, "k.bin"), "other");
  const args = [
    "get",
    id,
    "--tracker",
    `127.0.0.1:${tracker.address.port}`,
    "--out",
    out,
    "--wait",
    "0",
  ];
  const first = await runEntry("peer.ts", args);
  assertEquals(first.code, 0, first.stderr);
  assert(
    first.stdout.includes(`Saved ${join(out, "k (1).bin")}`),
    first.stdout,
  );
  const second = await runEntry("peer.ts", args);
  assertEquals(second.code, 0, second.stderr);
  assertEquals(
    second.stdout.trim(),
    `Already have ${
      join(out, "k (1).bin")
    } (97.7 KiB, SHA-256 verified); nothing to download.`,
  );
  assertEquals(await namesIn(out), ["k (1).bin", "k.bin"]);
});
