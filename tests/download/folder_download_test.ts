/**
 * Folder downloads end to end, in process: a real tracker, real peer nodes
 * sharing a folder from disk, and `download()` writing `OUT/NAME.part/`
 * and renaming it to `OUT/NAME` once every file verifies. Each test
 * compares the saved tree with the shared one: kinds, bytes and modes.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { pollUntil, tempDir, testTracker, within } from "../fixtures.ts";
import {
  download,
  DownloadError,
  type DownloadProgress,
} from "../../lib/download/download.ts";
import { PeerNode } from "../../lib/app/peer_node.ts";
import { TrackerClient } from "../../lib/discovery/tracker_client.ts";
import { TrackerError } from "../../lib/discovery/tracker_errors.ts";
import { parseShareLink } from "../../lib/protocol/share_link.ts";
import { MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import type { Address } from "../../lib/net/connection.ts";
import {
  namesIn,
  tinyFiles,
  type TreeFile,
  treeOf,
  writeTree,
} from "./_folders.ts";
import { bytesOf } from "../_folder_meta.ts";

const LOCAL = "127.0.0.1";
const KIB = 1024;
const MIB = 1024 * KIB;
/** Every download here is bounded; the 2,000-file one the longest. */
const DOWNLOAD_MS = 20_000;

/** A peer node on 127.0.0.1 port 0, closed on dispose. */
async function localNode(
  tracker: Address,
  options: { uploadLimit?: number } = {},
): Promise<PeerNode & AsyncDisposable> {
  const node = await PeerNode.start({
    tracker,
    host: LOCAL,
    port: 0,
    ...options,
  });
  return Object.assign(node, { [Symbol.asyncDispose]: () => node.close() });
}

/** Random bytes, in 64 KiB calls. */
function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let at = 0; at < length; at += 65536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(length, at + 65536)));
  }
  return bytes;
}

/** The big file of {@linkcode mixedTree}: several 16 KiB pieces, and a short one. */
const BIG = "big/data.bin";

/**
 * A tree with what a folder can hold: an empty file, an executable, names
 * in several scripts, a file of several pieces (at 16 KiB), nesting, and
 * an empty folder.
 */
function mixedTree(): { files: TreeFile[]; folders: string[] } {
  return {
    files: [
      { path: "empty", bytes: new Uint8Array(0) },
      { path: "run.sh", bytes: bytesOf(300, 1), executable: true },
      // Composed (NFC) letters, CJK and an emoji outside the BMP.
      { path: "\u00dcn\u00efc\u00f6d\u00e9 日本 🎉.txt", bytes: bytesOf(5, 2) },
      { path: BIG, bytes: randomBytes(5 * MIN_PIECE_SIZE + 123) },
      { path: "big/nested/deep.txt", bytes: bytesOf(MIN_PIECE_SIZE, 3) },
      { path: "big/nested/tool", bytes: bytesOf(20, 4), executable: true },
    ],
    folders: ["void", "big/empty inside"],
  };
}

/** Resolves once `tracker` knows `id` (registered in the background); fails after `ms`. */
async function untilFound(tracker: Address, id: string, ms = 5_000) {
  const client = await TrackerClient.connect(tracker);
  try {
    await pollUntil(ms, () => client.query(id).then(() => true, () => false));
  } finally {
    client.close();
  }
}

const sha256 = (bytes: Uint8Array) =>
  createHash("sha256").update(bytes).digest("hex");

Deno.test("a folder round-trips: empty folder and file, executable, unicode names, a file of several pieces; progress counts files and bytes to the end", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = join(dir.path, "holiday");
  const tree = mixedTree();
  await writeTree(source, tree.files, tree.folders);
  await using node = await localNode(tracker.address);
  const { meta, skipped } = await node.shareFolder([source], {
    pieceSize: MIN_PIECE_SIZE,
  });
  assertEquals(skipped, []);
  assertEquals(meta.pieceSize, MIN_PIECE_SIZE);
  assertEquals(
    meta.size,
    tree.files.reduce((sum, file) => sum + file.bytes.length, 0),
  );
  const out = join(dir.path, "out");
  const progress: DownloadProgress[] = [];
  const result = await within(
    download(meta.id, {
      tracker: tracker.address,
      outDir: out,
      onProgress: (p) => progress.push(p),
    }),
    DOWNLOAD_MS,
    "the download",
  );
  assertEquals(result.path, join(out, "holiday"));
  assertEquals(result.meta.id, meta.id);
  assertEquals(await treeOf(result.path), await treeOf(source));
  // Only the folder: no `.part` folder or record left beside it.
  assertEquals(await namesIn(out), ["holiday"]);
  // Files of the folder are counted (the empty one done from the start),
  // up to all six; bytes up to the folder's size.
  const last = progress.at(-1)!;
  assertEquals(last.files, { done: 6, total: 6 });
  assertEquals(last.received, meta.size);
  assertEquals(last.size, meta.size);
  assert(progress.every((p) => p.files?.total === 6), "files.total varies");
  const done = progress.map((p) => p.files!.done);
  assert(
    done.every((n, i) => i === 0 || n >= done[i - 1]) && done[0] < 6,
    `files done went ${done.join(", ")}`,
  );
  // The big file is also registered on its own, as part of the folder.
  const bigId = sha256(tree.files.find((f) => f.path === BIG)!.bytes);
  await untilFound(tracker.address, bigId);
});

Deno.test("getting a folder already in the download folder fetches nothing; one file changed there gets NAME (1)", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = join(dir.path, "holiday");
  const tree = mixedTree();
  await writeTree(source, tree.files, tree.folders);
  await using node = await localNode(tracker.address);
  const { meta } = await node.shareFolder([source], {
    pieceSize: MIN_PIECE_SIZE,
  });
  const out = join(dir.path, "out");
  const get = () =>
    within(
      download(meta.id, { tracker: tracker.address, outDir: out }),
      DOWNLOAD_MS,
      "the download",
    );
  const first = await get();
  assertEquals(first.alreadyHere, false);
  const again = await get();
  assertEquals(again.alreadyHere, true);
  assertEquals(again.path, join(out, "holiday"));
  assertEquals(await namesIn(out), ["holiday"]);
  // Same sizes, other bytes: not the folder any more.
  const big = join(out, "holiday", BIG);
  const bytes = await Deno.readFile(big);
  bytes[0] ^= 1;
  await Deno.writeFile(big, bytes);
  const third = await get();
  assertEquals(third.alreadyHere, false);
  assertEquals(third.path, join(out, "holiday (1)"));
});

Deno.test("a forced get of a folder into a copy holding the user's own file and folder is refused in one sentence before any piece is fetched, and changes nothing", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = join(dir.path, "holiday");
  const tree = mixedTree();
  await writeTree(source, tree.files, tree.folders);
  await using node = await localNode(tracker.address);
  const { meta } = await node.shareFolder([source], {
    pieceSize: MIN_PIECE_SIZE,
  });
  const out = join(dir.path, "out");
  const copy = join(out, "holiday");
  const get = (force: boolean) =>
    within(
      download(meta.id, { tracker: tracker.address, outDir: out, force }),
      DOWNLOAD_MS,
      "the download",
    );
  await get(false);
  await Deno.writeTextFile(join(copy, "MY-NOTES.txt"), "mine");
  await Deno.mkdir(join(copy, "my-photos"));
  await Deno.writeFile(join(copy, "my-photos", "1.jpg"), bytesOf(900, 7));
  await Deno.writeTextFile(join(copy, BIG), "edited by me");
  const before = await treeOf(copy);
  const sent = node.uploaded;

  const error = await assertRejects(() => get(true), DownloadError);
  assertEquals(
    error.message,
    `Cannot replace the folder ${copy}: it holds 2 entries the share does not have (MY-NOTES.txt, my-photos/); --force would delete them. Move them away, or leave out --force to save under a free name.`,
  );
  assertEquals(await treeOf(copy), before);
  // Nothing fetched, no `holiday.part` or record left beside it.
  assertEquals(node.uploaded, sent);
  assertEquals(await namesIn(out), ["holiday"]);
});

Deno.test("a forced get of a folder into a copy holding only the share's files, one edited and one gone, replaces it with the verified content", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = join(dir.path, "holiday");
  const tree = mixedTree();
  await writeTree(source, tree.files, tree.folders);
  await using node = await localNode(tracker.address);
  const { meta } = await node.shareFolder([source], {
    pieceSize: MIN_PIECE_SIZE,
  });
  const out = join(dir.path, "out");
  const get = (force: boolean) =>
    within(
      download(meta.id, { tracker: tracker.address, outDir: out, force }),
      DOWNLOAD_MS,
      "the download",
    );
  const first = await get(false);
  await Deno.writeTextFile(join(first.path, BIG), "edited by me");
  await Deno.remove(join(first.path, "run.sh"));
  const forced = await get(true);
  assertEquals(forced.alreadyHere, false);
  assertEquals(forced.path, join(out, "holiday"));
  assertEquals(await treeOf(forced.path), await treeOf(source));
  assertEquals(await namesIn(out), ["holiday"]);
});

Deno.test("a folder shared by two peers at once comes from both", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const files = [
    { path: "one.bin", bytes: randomBytes(4 * MIB) },
    { path: "sub/two.bin", bytes: randomBytes(4 * MIB + 1) },
  ];
  await writeTree(join(dir.path, "a", "pair"), files);
  await writeTree(join(dir.path, "b", "pair"), files);
  // Capped, so that neither can send it all before the other is linked.
  await using a = await localNode(tracker.address, { uploadLimit: 4 * MIB });
  await using b = await localNode(tracker.address, { uploadLimit: 4 * MIB });
  const shared = await a.shareFolder([join(dir.path, "a", "pair")]);
  const again = await b.shareFolder([join(dir.path, "b", "pair")]);
  assertEquals(again.meta.id, shared.meta.id);
  const result = await within(
    download(shared.meta.id, {
      tracker: tracker.address,
      outDir: join(dir.path, "out"),
    }),
    DOWNLOAD_MS,
    "the download",
  );
  assertEquals(
    await treeOf(result.path),
    await treeOf(join(dir.path, "a", "pair")),
  );
  const bytes = new Map(result.peers.map((p) => [p.address, p.bytes]));
  for (const node of [a, b]) {
    const got = bytes.get(`${LOCAL}:${node.address.port}`) ?? 0;
    assert(got > 0, `nothing from one sharer: ${JSON.stringify(result.peers)}`);
  }
  const total = result.peers.reduce((sum, p) => sum + p.bytes, 0);
  assert(total >= shared.meta.size, `${total} bytes received`);
});

Deno.test("two downloaders of a folder that serve while downloading both complete", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = join(dir.path, "swarmed");
  await writeTree(source, [
    { path: "a.bin", bytes: randomBytes(3 * MIB) },
    { path: "b/c.bin", bytes: randomBytes(2 * MIB + 7) },
    { path: "b/d.txt", bytes: bytesOf(1000, 5) },
  ], ["e"]);
  await using sharer = await localNode(tracker.address, {
    uploadLimit: 4 * MIB,
  });
  const { meta } = await sharer.shareFolder([source]);
  await using one = await localNode(tracker.address);
  await using two = await localNode(tracker.address);
  const [first, second] = await within(
    Promise.all([one, two].map((node, i) =>
      download(meta.id, {
        tracker: tracker.address,
        outDir: join(dir.path, `out${i}`),
        swarm: node,
      })
    )),
    DOWNLOAD_MS,
    "the downloads",
  );
  const expected = await treeOf(source);
  assertEquals(await treeOf(first.path), expected);
  assertEquals(await treeOf(second.path), expected);
  // Not seeding: once done, neither serves the folder any more.
  assertEquals(one.shared(), []);
  assertEquals(two.shared(), []);
  const fromEachOther = [first, second].map((result, i) =>
    result.peers.find((p) =>
      p.address === `${LOCAL}:${[two, one][i].address.port}`
    )?.bytes ?? 0
  );
  console.log(
    `swarmed folder: the downloaders got ${
      fromEachOther.join(" and ")
    } bytes from each other`,
  );
});

Deno.test("a private folder share downloads with its link's secret, is not listed, and its files are not registered on their own", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = join(dir.path, "hidden");
  const tree = mixedTree();
  await writeTree(source, tree.files, tree.folders);
  await using node = await localNode(tracker.address);
  const { meta } = await node.shareFolder([source], {
    private: true,
    pieceSize: MIN_PIECE_SIZE,
  });
  assert(node.isPrivate(meta.id), "the folder is not private");
  const link = parseShareLink(node.shareLink(meta.id)!);
  if (link.kind !== "private") throw new Error("the link is not private");
  const result = await within(
    download(link.shortId, {
      tracker: tracker.address,
      outDir: join(dir.path, "out"),
      secret: link.secret,
    }),
    DOWNLOAD_MS,
    "the download",
  );
  assertEquals(result.path, join(dir.path, "out", "hidden"));
  assertEquals(await treeOf(result.path), await treeOf(source));
  const client = await TrackerClient.connect(tracker.address);
  try {
    assertEquals(await client.list(), []);
    for (const id of [meta.id, sha256(tree.files[3].bytes)]) {
      let error: unknown;
      await client.query(id).catch((e) => error = e);
      assert(
        error instanceof TrackerError && error.code === "not-found",
        `${id.slice(0, 16)} is known to the tracker: ${error}`,
      );
    }
  } finally {
    client.close();
  }
});

Deno.test("a folder downloaded with seed and swarm is served from the saved copy after the original sharer left", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = join(dir.path, "kept");
  const tree = mixedTree();
  await writeTree(source, tree.files, tree.folders);
  const sharer = await localNode(tracker.address);
  let seeder: PeerNode | undefined;
  try {
    const { meta } = await sharer.shareFolder([source], {
      pieceSize: MIN_PIECE_SIZE,
    });
    seeder = await localNode(tracker.address);
    const saved = await within(
      download(meta.id, {
        tracker: tracker.address,
        outDir: join(dir.path, "seed"),
        swarm: seeder,
        seed: true,
      }),
      DOWNLOAD_MS,
      "the seeding download",
    );
    assertEquals(await treeOf(saved.path), await treeOf(source));
    assertEquals(seeder.shared().map((m) => m.id), [meta.id]);
    await sharer.close();
    const late = await within(
      download(meta.id, {
        tracker: tracker.address,
        outDir: join(dir.path, "late"),
      }),
      DOWNLOAD_MS,
      "the later download",
    );
    assertEquals(await treeOf(late.path), await treeOf(source));
    const used = late.peers.filter((p) => p.bytes > 0).map((p) => p.address);
    assertEquals(used, [`${LOCAL}:${seeder.address.port}`]);
  } finally {
    await sharer.close();
    await seeder?.close();
  }
});

Deno.test("a folder of 2,000 files of 100 bytes in subfolders completes and verifies", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = join(dir.path, "many");
  const files = tinyFiles(2_000, 100, 19);
  await writeTree(source, files);
  await using node = await localNode(tracker.address);
  const started = performance.now();
  const { meta } = await node.shareFolder([source]);
  const shareMs = performance.now() - started;
  const progress: DownloadProgress[] = [];
  const result = await within(
    download(meta.id, {
      tracker: tracker.address,
      outDir: join(dir.path, "out"),
      onProgress: (p) => progress.push(p),
    }),
    DOWNLOAD_MS,
    "the download",
  );
  const tree = await treeOf(result.path);
  assertEquals(tree.length, 2_000 + 19);
  assertEquals(tree, await treeOf(source));
  assertEquals(progress.at(-1)?.files, { done: 2_000, total: 2_000 });
  console.log(
    `2,000 files: shared in ${Math.round(shareMs)} ms, downloaded in ${
      Math.round(result.elapsedMs)
    } ms`,
  );
});
