/**
 * A get that fails before a single verified piece arrived takes away the
 * `.part` (file or folder) it made, with its record, and does not say a
 * partial file is kept; a `.part` it resumed, one it wrote pieces into,
 * and that of a get stopped by its signal always stay. Real sharers and
 * trackers in process; a tracker that lists a peer nobody listens on
 * stands for a sharer that went away; `peer get` as a process for what
 * the user reads.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  lyingTracker,
  randomFile,
  sha256File,
  sharer,
  tempDir,
  testTracker,
} from "../fixtures.ts";
import { download, DownloadError } from "../../lib/download/download.ts";
import { PeerNode } from "../../lib/app/peer_node.ts";
import type { FileMeta, PeerAddress } from "../../lib/protocol/messages.ts";
import { runEntry } from "../../scripts/_child.ts";
import { namesIn, writeTree } from "./_folders.ts";

const MiB = 1024 * 1024;

/** An address on 127.0.0.1 that nothing listens on (any more). */
function deadPeer(): PeerAddress {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return { host: "127.0.0.1", port };
}

/** The metadata a sharer registers for `path`, the sharer gone since. */
async function metaOf(path: string): Promise<FileMeta> {
  await using tracker = testTracker();
  await using node = await sharer(tracker.address, [path]);
  return node.shared()[0];
}

Deno.test("a get that received no piece before its only sharer went away removes the .part it made and its record, and does not say it is kept", async () => {
  await using dir = await tempDir();
  const meta = await metaOf(await randomFile(dir.path, "gone.bin", 2 * MiB));
  await using liar = lyingTracker(meta, [deadPeer()]);
  const out = join(dir.path, "out");
  const error = await assertRejects(
    () => download(meta.id, { tracker: liar.address, outDir: out }),
    DownloadError,
    "8 of 8 pieces missing",
  );
  assert(!error.message.includes("kept"), error.message);
  assertEquals(await namesIn(out), []);
});

Deno.test("a get that fails carries its file's name as a field of the error (fileName), not only in its sentence", async () => {
  await using dir = await tempDir();
  const meta = await metaOf(await randomFile(dir.path, "named.bin", 100_000));
  await using liar = lyingTracker(meta, [deadPeer()]);
  const out = join(dir.path, "out");
  const error = await assertRejects(
    () => download(meta.id, { tracker: liar.address, outDir: out }),
    DownloadError,
    "pieces missing",
  );
  assertEquals((error as DownloadError).fileName, "named.bin");
});

Deno.test("a folder get that received no piece removes the NAME.part folder it made (empty files and folders) and its record", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "share", "album");
  await writeTree(root, [
    { path: "a.bin", bytes: crypto.getRandomValues(new Uint8Array(50_000)) },
    { path: "empty.txt", bytes: new Uint8Array(0) },
    { path: "sub/deep/b.txt", bytes: new TextEncoder().encode("b") },
  ], ["nothing here"]);
  const meta = await metaOf(root);
  await using liar = lyingTracker(meta, [deadPeer()]);
  const out = join(dir.path, "out");
  await Deno.mkdir(out);
  await Deno.writeTextFile(join(out, "mine.txt"), "the user's");
  const error = await assertRejects(
    () => download(meta.id, { tracker: liar.address, outDir: out }),
    DownloadError,
    "pieces missing",
  );
  assert(!error.message.includes("kept"), error.message);
  assertEquals(await namesIn(out), ["mine.txt"]);
});

Deno.test("a resumed .part that gets no piece this time is kept, and said to be", async () => {
  await using dir = await tempDir();
  const source = await randomFile(dir.path, "r.bin", 8 * MiB);
  const out = join(dir.path, "out");
  let meta: FileMeta;
  {
    await using tracker = testTracker();
    await using node = await sharer(tracker.address, [source]);
    meta = node.shared()[0];
    const stop = new AbortController();
    await assertRejects(() =>
      download(meta.id, {
        tracker: tracker.address,
        outDir: out,
        signal: stop.signal,
        onProgress: (p) => {
          if (p.received >= 2 * MiB) stop.abort();
        },
      })
    );
  }
  const before = await sha256File(join(out, "r.bin.part"));
  await using liar = lyingTracker(meta, [deadPeer()]);
  await assertRejects(
    () => download(meta.id, { tracker: liar.address, outDir: out }),
    DownloadError,
    "The partial file is kept for a retry.",
  );
  assertEquals(await namesIn(out), ["r.bin.part", "r.bin.part.json"]);
  assertEquals(await sha256File(join(out, "r.bin.part")), before);
});

Deno.test("a .part that got verified pieces before its only sharer left is kept, and said to be", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "half.bin", 4 * MiB);
  const node = await PeerNode.start({
    tracker: tracker.address,
    host: "127.0.0.1",
    port: 0,
    uploadLimit: MiB,
  });
  let leaving: Promise<void> | undefined;
  try {
    const { id } = await node.share(source);
    const out = join(dir.path, "out");
    await assertRejects(
      () =>
        download(id, {
          tracker: tracker.address,
          outDir: out,
          onProgress: (p) => {
            if (p.received > 0) leaving ??= node.close();
          },
        }),
      DownloadError,
      "The partial file is kept for a retry.",
    );
    assertEquals(await namesIn(out), ["half.bin.part", "half.bin.part.json"]);
  } finally {
    await (leaving ?? node.close());
  }
});

Deno.test("a get stopped by its signal before any piece arrived keeps its .part: whoever stopped it says it is kept", async () => {
  await using dir = await tempDir();
  const meta = await metaOf(await randomFile(dir.path, "s.bin", MiB));
  // A peer that accepts and never answers.
  using silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of silent) held.push(conn);
  })().catch(() => {});
  await using liar = lyingTracker(meta, [
    { host: "127.0.0.1", port: silent.addr.port },
  ]);
  const out = join(dir.path, "out");
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), 500);
  try {
    await assertRejects(() =>
      download(meta.id, {
        tracker: liar.address,
        outDir: out,
        signal: stop.signal,
      })
    );
  } finally {
    clearTimeout(timer);
    silent.close();
    for (const conn of held) conn.close();
    await accepting;
  }
  assertEquals(await namesIn(out), ["s.bin.part", "s.bin.part.json"]);
});

Deno.test("peer get whose only sharer went away before a piece arrived leaves neither a .part nor the folder it made, and says nothing is kept", async () => {
  await using dir = await tempDir();
  const meta = await metaOf(await randomFile(dir.path, "gone.bin", 2 * MiB));
  await using liar = lyingTracker(meta, [deadPeer()]);
  const out = join(dir.path, "new", "out");
  const result = await runEntry("peer.ts", [
    "get",
    meta.id,
    "--tracker",
    `127.0.0.1:${liar.address.port}`,
    "--out",
    out,
    "--wait",
    "0",
    "--no-lan",
    "--no-dht",
  ]);
  assertEquals(result.code, 1, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, result.stderr);
  assert(lines[0].startsWith("Could not download gone.bin: 8 of 8"), lines[0]);
  assert(!lines[0].includes("kept"), lines[0]);
  assertEquals(await namesIn(dir.path), ["gone.bin"]);
});
