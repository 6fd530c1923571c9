/**
 * A shared folder whose files change while it is shared, in process with a
 * real tracker and peer node on 127.0.0.1: a file only touched (new
 * modification time, same bytes) is hashed again and the folder shared on;
 * a file whose bytes changed stops the folder's share, and no getter ever
 * saves bytes other than the folder's.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { pollUntil, sha256File, tempDir, testTracker } from "../fixtures.ts";
import { download } from "../../lib/download/download.ts";
import { PeerNode } from "../../lib/app/peer_node.ts";
import type { Address } from "../../lib/net/connection.ts";
import { MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import { namesIn, treeOf, writeTree } from "../download/_folders.ts";

const LOCAL = "127.0.0.1";
const PIECE = MIN_PIECE_SIZE;

const random = (size: number) => {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65_536) {
    crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65_536)));
  }
  return bytes;
};

/**
 * A folder `album` under `dir` of a file of several pieces, a small one in
 * a subfolder and one of a single piece.
 */
async function album(dir: string): Promise<string> {
  const root = join(dir, "album");
  await writeTree(root, [
    { path: "big.bin", bytes: random(5 * PIECE + 123) },
    { path: "notes/b.txt", bytes: new TextEncoder().encode("hello\n") },
    { path: "c.bin", bytes: random(PIECE - 7) },
  ]);
  return root;
}

/**
 * A peer node sharing `root`, with what it said it stopped sharing and
 * what it logged.
 */
async function folderSharer(tracker: Address, root: string) {
  const dropped: string[] = [];
  const logged: string[] = [];
  const node = await PeerNode.start({
    tracker,
    host: LOCAL,
    port: 0,
    onDropped: (meta, reason) => dropped.push(`${meta.name}: ${reason}`),
    log: (line) => logged.push(line),
  });
  const { meta } = await node.shareFolder([root], { pieceSize: PIECE });
  return { node, meta, dropped, logged };
}

/** Sets `path`'s modification time a minute ahead (a `touch`). */
async function touch(path: string): Promise<void> {
  const later = new Date(Date.now() + 60_000);
  await Deno.utime(path, later, later);
}

Deno.test("a shared folder whose files were only touched is hashed again and shared on: gets of it save every byte, and nothing is said stopped", async () => {
  await using dir = await tempDir();
  const root = await album(dir.path);
  await using tracker = testTracker();
  const { node, meta, dropped, logged } = await folderSharer(
    tracker.address,
    root,
  );
  await using _node = node;
  await touch(join(root, "big.bin"));
  await touch(join(root, "notes", "b.txt"));
  for (const out of ["out", "again"]) {
    const got = await download(meta.id, {
      tracker: tracker.address,
      outDir: join(dir.path, out),
      waitMs: 20_000,
    });
    assertEquals(await treeOf(got.path), await treeOf(root));
  }
  assertEquals(dropped, []);
  assert(node.shared().some((shared) => shared.id === meta.id));
  // Served on because hashed again, not because the change went unseen.
  assert(
    logged.includes("album was touched, its bytes unchanged: shared on."),
    logged.join("\n"),
  );
});

Deno.test("a shared folder one of whose files changed its bytes but not its size stops being shared, saying which file and to share the folder again; no getter saves its bytes", async () => {
  await using dir = await tempDir();
  const root = await album(dir.path);
  await using tracker = testTracker();
  const { node, meta, dropped } = await folderSharer(tracker.address, root);
  await using _node = node;
  const changed = join(root, "notes", "b.txt");
  await Deno.writeTextFile(changed, "HELLO\n");
  await touch(changed);
  const out = join(dir.path, "out");
  let error: unknown;
  await download(meta.id, { tracker: tracker.address, outDir: out })
    .catch((e) => error = e);
  assert(error instanceof Error, "the changed folder was downloaded");
  await pollUntil(5_000, () => Promise.resolve(dropped.length > 0));
  assertEquals(dropped, [
    `album: "${await Deno.realPath(
      changed,
    )}" was modified since it was shared; share the folder again`,
  ]);
  assert(!node.shared().some((shared) => shared.id === meta.id));
  // Nothing of the changed file was saved, under any name.
  assertEquals((await namesIn(out)).filter((name) => name === "album"), []);
});

Deno.test("a folder's file registered on its own whose bytes changed, found by a get of that file alone, stops the folder's share in the folder's words, not the file's", async () => {
  await using dir = await tempDir();
  const root = await album(dir.path);
  await using tracker = testTracker();
  const { node, dropped } = await folderSharer(tracker.address, root);
  await using _node = node;
  const big = join(root, "big.bin");
  const bigId = await sha256File(big);
  const bytes = await Deno.readFile(big);
  bytes[PIECE + 1] ^= 1;
  await Deno.writeFile(big, bytes);
  await touch(big);
  let error: unknown;
  await download(bigId, {
    tracker: tracker.address,
    outDir: join(dir.path, "out"),
  }).catch((e) => error = e);
  assert(error instanceof Error, "the changed file was downloaded");
  await pollUntil(5_000, () => Promise.resolve(dropped.length > 0));
  assertEquals(dropped, [
    `album: "${await Deno.realPath(
      big,
    )}" was modified since it was shared; share the folder again`,
  ]);
  assertEquals(node.shared(), []);
});
