/**
 * Encrypted transfers and private shares end to end, in process, with a
 * real tracker and peer node on 127.0.0.1: every byte between them passes
 * a recording relay, and the recording is searched for what must never be
 * on the wire (the file's contents, and for private shares its name, ID
 * and piece hashes).
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { sha256File, tempDir, testTracker } from "../fixtures.ts";
import { download } from "../../lib/download/download.ts";
import { PeerNode } from "../../lib/app/peer_node.ts";
import { TrackerClient } from "../../lib/discovery/tracker_client.ts";
import { parseShareLink } from "../../lib/protocol/share_link.ts";
import { deriveShareKeys } from "../../lib/secure/share_keys.ts";
import type { Address } from "../../lib/net/connection.ts";
import type { FileMeta } from "../../lib/protocol/messages.ts";
import {
  contains,
  MARKED_NAME as NAME,
  markedFile,
  MARKER,
  recordingRelay,
} from "../_wiretap.ts";

const LOCAL = "127.0.0.1";

/** A peer node on 127.0.0.1 registering with `tracker`, closed on dispose. */
function localNode(tracker: Address): Promise<PeerNode> {
  return PeerNode.start({ tracker, host: LOCAL, port: 0 });
}

/** A node sharing `source` privately, with the file and its private link. */
async function privateSharer(tracker: Address, source: string) {
  const node = await localNode(tracker);
  const meta = await node.share(source, { private: true });
  const link = parseShareLink(node.shareLink(meta.id)!);
  if (link.kind !== "private") throw new Error("the link is not private");
  return { node, meta, link };
}

const text = (value: string) => new TextEncoder().encode(value);
const hex = (bytes: Uint8Array) =>
  [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (value: string) =>
  Uint8Array.from(value.match(/../g)!, (pair) => parseInt(pair, 16));

/** What must never cross the wire for `meta`, by what it is. */
function secretsOf(meta: FileMeta, isPrivate: boolean): [string, Uint8Array][] {
  const found: [string, Uint8Array][] = [["the file's contents", text(MARKER)]];
  if (!isPrivate) return found;
  found.push(
    ["the file name", text(NAME)],
    ["the ID in hex", text(meta.id)],
    ["the ID's bytes", unhex(meta.id)],
    ["a piece hash's bytes", meta.pieceHashes.subarray(0, 32)],
    ["a piece hash in hex", text(hex(meta.pieceHashes.subarray(32, 64)))],
  );
  return found;
}

for (const isPrivate of [false, true]) {
  Deno.test(`a ${isPrivate ? "private" : "public"} transfer through a recording relay: the file arrives whole and the wire shows ${isPrivate ? "neither its contents nor its name, ID or piece hashes" : "none of its contents"}`, async () => {
    await using dir = await tempDir();
    const source = await markedFile(dir.path);
    await using tracker = testTracker();
    await using trackerRelay = recordingRelay(tracker.address);
    await using node = await localNode(trackerRelay.address);
    const meta = await node.share(source, { private: isPrivate });
    const link = parseShareLink(node.shareLink(meta.id)!);
    assertEquals(link.kind, isPrivate ? "private" : "public");
    await using peerRelay = recordingRelay(node.address);
    // The relay's port is registered too; the getter never uses the node's
    // own port (`self`), so every piece byte passes the relay.
    const client = await TrackerClient.connect(trackerRelay.address);
    try {
      if (link.kind === "private") {
        const keys = deriveShareKeys(link.secret);
        const { blob } = await client.querySealed(keys.lookupKey);
        await client.registerSealed(
          { lookup: keys.lookupKey, blob },
          peerRelay.address.port,
        );
      } else {
        await client.register(meta, peerRelay.address.port);
      }
      const out = join(dir.path, "out");
      const result = await download(
        link.kind === "private" ? link.shortId : link.id,
        {
          tracker: trackerRelay.address,
          outDir: out,
          secret: link.kind === "private" ? link.secret : undefined,
          self: [node.address],
        },
      );
      assertEquals(await sha256File(result.path), meta.id);
      assertEquals(result.meta.name, NAME);
      assert(
        result.peers.every((peer) =>
          peer.address === `${LOCAL}:${peerRelay.address.port}`
        ),
        `pieces came around the relay: ${JSON.stringify(result.peers)}`,
      );
    } finally {
      client.close();
    }
    const wire = [
      ["tracker", trackerRelay.recorded()],
      ["peer", peerRelay.recorded()],
    ] as const;
    assert(wire[1][1].length > 1_500_000, "the pieces crossed the relay");
    for (const [where, bytes] of wire) {
      for (const [what, secret] of secretsOf(meta, isPrivate)) {
        assert(!contains(bytes, secret), `${what} crossed the ${where} link`);
      }
    }
  });
}

Deno.test("a private file is never listed or searched, and the tracker's answers hold no trace of its name or ID", async () => {
  await using dir = await tempDir();
  const source = await markedFile(dir.path);
  await using tracker = testTracker();
  const { node, meta } = await privateSharer(tracker.address, source);
  await using _node = node;
  assert(node.isPrivate(meta.id));
  const client = await TrackerClient.connect(tracker.address);
  try {
    assertEquals(await client.list(), []);
    assertEquals(await client.search("quarterly"), []);
    let unknown = false;
    await client.query(meta.id).catch(() => unknown = true);
    assert(unknown, "the private file's ID is known to the tracker");
    const answers = JSON.stringify([
      await client.list(),
      await client.search("secret"),
      tracker.stats(),
    ]);
    assert(!answers.includes(meta.id.slice(0, 16)), answers);
    assert(!answers.includes("quarterly"), answers);
  } finally {
    client.close();
  }
});

Deno.test("a get by a private share's ID is not known to the trackers asked and says only its link can fetch it, in the words said of any unknown ID", async () => {
  await using dir = await tempDir();
  const source = await markedFile(dir.path);
  await using tracker = testTracker();
  await using other = testTracker();
  const { node, meta } = await privateSharer(tracker.address, source);
  await using _node = node;
  const hint =
    "If it was shared privately, only its link (p2p://…/priv/…) can fetch it.";
  const at = (address: Address) => `${LOCAL}:${address.port}`;
  const both = `the trackers at ${at(tracker.address)}, ${at(other.address)}`;
  // The hint is the same for an ID nobody shares: nothing tells a private
  // share's ID apart.
  const one = `the tracker at ${at(tracker.address)}`;
  const asked = [
    [meta.id, [], one],
    [meta.id.slice(0, 16), [], one],
    [meta.id, [other.address], both],
    ["0123456789abcdef".repeat(4), [other.address], both],
  ] as const;
  for (const [id, moreTrackers, which] of asked) {
    let error: unknown;
    await download(id, {
      tracker: tracker.address,
      moreTrackers,
      outDir: join(dir.path, "out"),
    }).catch((e) => error = e);
    assertEquals(
      (error as Error)?.message,
      `No file with ID ${id} is known to ${which}. ${hint}`,
    );
  }
});

Deno.test("a private share's secret is needed end to end: another secret finds no sharer, a sharer refuses a connection without its key, and nothing of the file is received", async () => {
  await using dir = await tempDir();
  const source = await markedFile(dir.path);
  await using tracker = testTracker();
  const { node, meta, link } = await privateSharer(tracker.address, source);
  await using _node = node;
  const wrong = link.secret.slice();
  wrong[0] ^= 1;
  let error: unknown;
  await download(link.shortId, {
    tracker: tracker.address,
    outDir: join(dir.path, "out"),
    secret: wrong,
  }).catch((e) => error = e);
  assertEquals(
    (error as Error)?.message,
    "This link's secret does not match any sharer: nobody shares its file right now, or the link is not the one its sharer printed.",
  );
  // Straight to the sharer with the public ID and no key: not served.
  error = undefined;
  const client = await TrackerClient.connect(tracker.address);
  try {
    const keys = deriveShareKeys(link.secret);
    const { blob } = await client.querySealed(keys.lookupKey);
    // A registration that points at the sharer publicly, as a getter who
    // learnt the ID elsewhere might try: the sharer still refuses.
    await client.register(meta, node.address.port);
    assert(blob.length > 0);
  } finally {
    client.close();
  }
  await download(meta.id, {
    tracker: tracker.address,
    outDir: join(dir.path, "out2"),
  }).catch((e) => error = e);
  assert(error instanceof Error, "the private file was served without its key");
  const entries = [];
  for await (const entry of Deno.readDir(dir.path)) entries.push(entry.name);
  for (const out of ["out", "out2"]) {
    if (!entries.includes(out)) continue;
    for await (const entry of Deno.readDir(join(dir.path, out))) {
      const info = await Deno.stat(join(dir.path, out, entry.name));
      assertEquals(info.size, 0, `${entry.name} holds received bytes`);
    }
  }
});

Deno.test("a private download that seeds the finished file stays private: not listed, registered under the lookup key only", async () => {
  await using dir = await tempDir();
  const source = await markedFile(dir.path);
  await using tracker = testTracker();
  const { node, meta, link } = await privateSharer(tracker.address, source);
  await using _node = node;
  await using getter = await localNode(tracker.address);
  const result = await download(link.shortId, {
    tracker: tracker.address,
    outDir: join(dir.path, "out"),
    secret: link.secret,
    swarm: getter,
    seed: true,
  });
  assertEquals(await sha256File(result.path), meta.id);
  assert(getter.isPrivate(meta.id), "the seeded copy is not private");
  const client = await TrackerClient.connect(tracker.address);
  try {
    assertEquals(await client.list(), []);
    let unknown = false;
    await client.query(meta.id).catch(() => unknown = true);
    assert(unknown, "the seeded copy was registered under its ID");
    const found = await client.querySealed(
      deriveShareKeys(link.secret).lookupKey,
    );
    assertEquals(found.peers.length, 2);
  } finally {
    client.close();
  }
});
