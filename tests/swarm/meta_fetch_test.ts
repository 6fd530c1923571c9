/**
 * `meta-request`: a getter that found a peer without a tracker asks it for
 * the file's metadata. In memory (the frames) and against a real peer node
 * (public files by ID, private ones only by lookup key over a keyed
 * connection).
 */

import { assert, assertEquals, assertThrows } from "../assert.ts";
import { randomFile, tempDir, testTracker } from "../fixtures.ts";
import { PeerNode } from "../../lib/app/peer_node.ts";
import {
  type FileMeta,
  fromFrame,
  toFrame,
} from "../../lib/protocol/messages.ts";
import { fetchMeta, MetaFetchError } from "../../lib/swarm/meta_fetch.ts";
import { parseShareLink } from "../../lib/protocol/share_link.ts";
import { deriveShareKeys } from "../../lib/secure/share_keys.ts";

const ID = "ab".repeat(32);

/** A file's metadata with its fields in one order, to compare. */
function plain(meta: FileMeta) {
  const { id, name, size, pieceSize, pieceHashes, manifest } = meta;
  return { id, name, size, pieceSize, pieceHashes, manifest };
}

Deno.test("meta-request and meta round-trip through frames; a bad ID or a meta whose hashes do not fit is refused", () => {
  assertEquals(fromFrame(toFrame({ type: "meta-request", id: ID })), {
    type: "meta-request",
    id: ID,
  });
  const meta = {
    id: ID,
    name: "a.bin",
    size: 300_000,
    pieceSize: 262_144,
    pieceHashes: new Uint8Array(64).fill(9),
  };
  assertEquals(fromFrame(toFrame({ type: "meta", meta })), {
    type: "meta",
    meta,
  });
  assertThrows(() =>
    fromFrame({
      header: { type: "meta-request", id: "xyz" },
      binary: new Uint8Array(0),
    })
  );
  const short = toFrame({ type: "meta", meta });
  assertThrows(() =>
    fromFrame({ header: short.header, binary: short.binary.subarray(0, 40) })
  );
});

Deno.test("a peer gives a public file's metadata by its ID, and nothing for a file it does not share", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const node = await PeerNode.start({
    tracker: tracker.address,
    host: "127.0.0.1",
    port: 0,
  });
  try {
    const meta = await node.share(
      await randomFile(dir.path, "pub.bin", 600_000),
    );
    assertEquals(plain(await fetchMeta(node.address, meta.id)), plain(meta));
    let failed: unknown;
    await fetchMeta(node.address, "cd".repeat(32)).catch((e) => failed = e);
    assert(failed instanceof MetaFetchError, String(failed));
  } finally {
    await node.close();
  }
});

Deno.test("a private file's metadata goes only to a connection with its key, asked by its lookup key, never by its ID", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const node = await PeerNode.start({
    tracker: tracker.address,
    host: "127.0.0.1",
    port: 0,
  });
  try {
    const meta = await node.share(
      await randomFile(dir.path, "secret.bin", 400_000),
      { private: true },
    );
    const link = parseShareLink(node.shareLink(meta.id)!);
    assert(link.kind === "private");
    const keys = deriveShareKeys(link.secret);
    const got = await fetchMeta(node.address, keys.lookupKey, {
      psk: keys.psk,
      idPrefix: link.shortId,
    });
    assertEquals(plain(got), plain(meta));
    const refusals: unknown[] = [];
    // No key: the handshake itself is refused.
    await fetchMeta(node.address, keys.lookupKey).catch((e) =>
      refusals.push(e)
    );
    // The key, but the file's ID instead of its lookup key.
    await fetchMeta(node.address, meta.id, { psk: keys.psk }).catch((e) =>
      refusals.push(e)
    );
    // No key, by ID.
    await fetchMeta(node.address, meta.id).catch((e) => refusals.push(e));
    // Another share's key.
    const other = deriveShareKeys(new Uint8Array(16).fill(1));
    await fetchMeta(node.address, other.lookupKey, { psk: other.psk }).catch((
      e,
    ) => refusals.push(e));
    assertEquals(refusals.length, 4);
    for (const refusal of refusals) {
      assert(refusal instanceof MetaFetchError, String(refusal));
    }
  } finally {
    await node.close();
  }
});
