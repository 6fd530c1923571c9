/**
 * A folder download trusts neither the tracker nor the peers: a manifest
 * whose paths could escape or clash in the download folder is refused
 * before anything is created (even though its ID is its true SHA-256, so
 * only the path rules can stop it), a peer's wrong bytes only cost that
 * peer, and piece hashes that are not the files' (a lying metadata
 * variant) save nothing under the folder's name.
 *
 * Liars are real servers on the real encrypted transport: a tracker that
 * answers any query with the metadata it is given, and a peer that serves
 * the bytes it is given (`_folders.ts`).
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { lyingTracker, tempDir, testTracker, within } from "../fixtures.ts";
import { download, DownloadError } from "../../lib/download/download.ts";
import { PeerNode } from "../../lib/app/peer_node.ts";
import { TrackerClient } from "../../lib/discovery/tracker_client.ts";
import { folderLayoutOf } from "../../lib/protocol/folder_layout.ts";
import { MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import type { Address } from "../../lib/net/connection.ts";
import type { FileMeta } from "../../lib/protocol/messages.ts";
import {
  decodeSealedMeta,
  SEALED_META_LENGTH_BYTES,
} from "../../lib/protocol/sealed_meta.ts";
import { deriveShareKeys, sealMetadata } from "../../lib/secure/share_keys.ts";
import { bytesOf } from "../_folder_meta.ts";
import {
  fakePeer,
  metaAround,
  namesIn,
  pieceHashesOf,
  pieceOf,
  type RawEntry,
  rawManifest,
  treeOf,
  writeTree,
} from "./_folders.ts";

const LOCAL = "127.0.0.1";
const DOWNLOAD_MS = 15_000;

const file = (path: string[], seed = 1): RawEntry => ({
  path,
  kind: "file",
  bytes: bytesOf(10, seed),
});
const folder = (path: string[]): RawEntry => ({ path, kind: "folder" });

/**
 * Manifests no honest sharer can make, each written byte by byte in the
 * canonical order so that only a path rule can refuse it.
 */
const HOSTILE: {
  what: string;
  name?: string;
  entries: RawEntry[];
  /** What refused it: the rule's own sentence, found in the error's cause. */
  rule: RegExp;
}[] = [
  {
    what: 'a ".." component',
    entries: [folder([".."]), file(["..", "escaped.txt"])],
    rule: /^Refusing "holiday\/\.\.": ".." would point outside/,
  },
  {
    what: "an absolute path as a component",
    entries: [folder(["/etc"]), file(["/etc", "passwd"])],
    rule: /"\/etc" contains "\/"/,
  },
  {
    what: "an absolute folder name",
    name: "/tmp/evil",
    entries: [file(["a"])],
    rule: /^Refusing the shared folder's name "\/tmp\/evil"/,
  },
  {
    what: "an empty component",
    entries: [file([""])],
    rule: /a name is empty/,
  },
  {
    what: "an ESC control character",
    entries: [file(["a\u001b[2Jb.txt"])],
    rule: /contains the control character U\+001B/,
  },
  {
    what: "the Windows device name CON",
    entries: [file(["CON"])],
    rule: /"CON" is a device name on Windows/,
  },
  {
    what: "a Windows device name with an extension",
    entries: [folder(["sub"]), file(["sub", "nul.txt"])],
    rule: /"NUL" is a device name on Windows/,
  },
  {
    what: "a trailing dot",
    entries: [file(["notes."])],
    rule: /ends in a dot or a space/,
  },
  {
    what: "two names equal after case folding",
    entries: [file(["README.txt"], 1), file(["readme.txt"], 2)],
    rule: /differs from "holiday\/README.txt" only in letter case/,
  },
  {
    // The format cannot say it but by listing the path twice.
    what: "a path that is both a folder and a file",
    entries: [folder(["x"]), file(["x"])],
    rule: /manifest is malformed: manifest entry 1 is out of order or repeated/,
  },
  {
    what: "a file with something inside it",
    entries: [file(["x"]), file(["x", "y"], 2)],
    rule: /"holiday\/x" is a file, so nothing can be inside it/,
  },
  {
    // The format cannot say it: a path's parent is the entry before.
    what: "a file deeper than the entry before it allows",
    entries: [file(["ghost", "y"])],
    rule: /manifest is malformed: manifest entry 0 has depth 2/,
  },
];

for (const hostile of HOSTILE) {
  Deno.test(`a folder manifest with ${hostile.what}, ID its true SHA-256, is refused in one sentence and nothing is created`, async () => {
    await using dir = await tempDir();
    const name = hostile.name ?? "holiday";
    const manifest = rawManifest(name, hostile.entries);
    const meta = metaAround(
      name,
      manifest,
      hostile.entries.flatMap((e) => e.bytes ? [e.bytes] : []),
    );
    // A peer that would serve the files, to prove nobody is even asked.
    await using peer = fakePeer(meta, () => new Uint8Array(10));
    await using liar = lyingTracker(meta, [peer.address]);
    const out = join(dir.path, "out");
    let error: unknown;
    await within(
      download(meta.id, { tracker: liar.address, outDir: out }),
      5_000,
      "the refusal",
    ).catch((e) => error = e);
    assert(error instanceof Error, "the hostile folder was downloaded");
    const { message } = error;
    console.log(
      `${hostile.what}: ${error.name}: ${message}\n  cause: ${
        (error.cause as Error)?.name
      }: ${(error.cause as Error)?.message}`,
    );
    assertOneSentence(message);
    // Refused for the right reason: the rule, not a slip in these bytes.
    const cause = error.cause as Error | undefined;
    assert(
      cause !== undefined && hostile.rule.test(cause.message),
      `refused for another reason: ${cause?.message}`,
    );
    assertEquals(peer.connections, 0);
    assertEquals(await namesIn(dir.path), []);
  });
}

Deno.test('a private link whose sealed metadata holds a manifest with a ".." component is refused and nothing is created', async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const entries = [folder([".."]), file(["..", "escaped.txt"])];
  const meta = metaAround(
    "holiday",
    rawManifest("holiday", entries),
    [entries[1].bytes!],
  );
  // The hand-made bytes are sound: a safe manifest so sealed decodes.
  const safe = metaAround("holiday", rawManifest("holiday", [file(["a"])]), [
    file(["a"]).bytes!,
  ]);
  assertEquals(decodeSealedMeta(sealedBytes(safe)).id, safe.id);
  await using peer = fakePeer(meta, () => new Uint8Array(10));
  // The liar holds the link's secret: its metadata opens with the link's key.
  const secret = crypto.getRandomValues(new Uint8Array(32));
  const keys = deriveShareKeys(secret);
  const client = await TrackerClient.connect(tracker.address);
  try {
    await client.registerSealed({
      lookup: keys.lookupKey,
      blob: sealMetadata(keys.metadataKey, sealedBytes(meta)),
    }, peer.address.port);
    const out = join(dir.path, "out");
    let error: unknown;
    await within(
      download(meta.id.slice(0, 16), {
        tracker: tracker.address,
        outDir: out,
        secret,
      }),
      5_000,
      "the refusal",
    ).catch((e) => error = e);
    assert(error instanceof Error, "the hostile folder was downloaded");
    console.log(`a private link's hostile manifest: ${error.message}`);
    assertOneSentence(error.message);
    assertEquals(peer.connections, 0);
    assertEquals(await namesIn(dir.path), []);
  } finally {
    client.close();
  }
});

Deno.test("a peer that sends a wrong piece of a folder is dropped and the piece comes from an honest one", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = join(dir.path, "holiday");
  const files = [
    { path: "a.bin", bytes: bytesOf(40 * MIN_PIECE_SIZE + 3, 1) },
    { path: "sub/b.bin", bytes: bytesOf(20 * MIN_PIECE_SIZE, 2) },
    { path: "c.txt", bytes: bytesOf(7, 3) },
  ];
  await writeTree(source, files);
  // Capped, so that the liar is asked for pieces before the honest one is done.
  await using honest = await localNode(tracker.address, 512 * 1024);
  const { meta } = await honest.shareFolder([source], {
    pieceSize: MIN_PIECE_SIZE,
  });
  const wrong = new Map(
    files.map((f) => [f.path, f.bytes.map((b) => b ^ 0x5a)]),
  );
  await using liar = fakePeer(meta, pieceOf(meta, wrong));
  await using _registered = await registered(tracker.address, meta, liar);
  const logs: string[] = [];
  const result = await within(
    download(meta.id, {
      tracker: tracker.address,
      outDir: join(dir.path, "out"),
      log: (line) => logs.push(line),
    }),
    DOWNLOAD_MS,
    "the download",
  );
  assertEquals(await treeOf(result.path), await treeOf(source));
  assert(liar.sent > 0, "the liar was never asked for a piece");
  const label = `${LOCAL}:${liar.address.port}`;
  assert(
    logs.some((line) =>
      line.startsWith(`Dropped peer ${label}`) && line.includes("bad copy")
    ),
    logs.join("\n"),
  );
  const fromHonest = result.peers.find((p) =>
    p.address === `${LOCAL}:${honest.address.port}`
  );
  assertEquals(fromHonest?.bytes, meta.size);
});

Deno.test("piece hashes of other bytes than a folder's file (every piece valid for them) fail that file's ID: nothing is saved", async () => {
  await using dir = await tempDir();
  const { meta, lie, liarBytes } = await lyingVariant(dir.path);
  await using tracker = testTracker();
  await using liar = fakePeer(lie, pieceOf(lie, liarBytes));
  await using _registered = await registered(tracker.address, lie, liar);
  const out = join(dir.path, "out");
  let error: unknown;
  await within(
    download(meta.id, { tracker: tracker.address, outDir: out }),
    DOWNLOAD_MS,
    "the download",
  ).catch((e) => error = e);
  assert(error instanceof DownloadError, `${error}`);
  console.log(`a lying variant alone: ${error.message}`);
  assertEquals(
    error.message,
    "The downloaded a.bin in holiday does not match its ID; the peers' metadata is wrong, nothing was saved under its name.",
  );
  assert(liar.sent >= 3, `only ${liar.sent} pieces were asked for`);
  // Neither the folder nor its `.part` folder and record are left.
  assertEquals(await namesIn(out), []);
});

Deno.test("a lying variant of a folder registered first is followed by the honest one, whose folder alone is saved", async () => {
  await using dir = await tempDir();
  const { source, meta, lie, liarBytes } = await lyingVariant(dir.path);
  await using tracker = testTracker("::");
  const trackerV4 = { host: LOCAL, port: tracker.address.port };
  // The liar registers from ::1 (another host), so both variants stand.
  await using liar = fakePeer(lie, pieceOf(lie, liarBytes), "::1");
  await using _registered = await registered(
    { host: "::1", port: tracker.address.port },
    lie,
    liar,
  );
  await using honest = await localNode(trackerV4);
  const shared = await honest.shareFolder([source], {
    pieceSize: MIN_PIECE_SIZE,
  });
  assertEquals(shared.meta.id, meta.id);
  const logs: string[] = [];
  const out = join(dir.path, "out");
  const result = await within(
    download(meta.id, {
      tracker: trackerV4,
      outDir: out,
      log: (line) => logs.push(line),
    }),
    DOWNLOAD_MS,
    "the download",
  );
  assert(liar.sent > 0, "the lying variant was not tried first");
  assert(
    logs.some((line) =>
      line.includes("does not match its ID") && line.includes("next variant")
    ),
    logs.join("\n"),
  );
  assertEquals(result.path, join(out, "holiday"));
  assertEquals(await treeOf(result.path), await treeOf(source));
  assertEquals(await namesIn(out), ["holiday"]);
});

/** A peer node on 127.0.0.1 port 0, closed on dispose. */
async function localNode(
  tracker: Address,
  uploadLimit?: number,
): Promise<PeerNode & AsyncDisposable> {
  const node = await PeerNode.start({
    tracker,
    host: LOCAL,
    port: 0,
    uploadLimit,
  });
  return Object.assign(node, { [Symbol.asyncDispose]: () => node.close() });
}

/**
 * `meta` registered with `tracker` for `peer`'s port, for as long as the
 * result lives (the tracker drops a registration with its connection).
 */
async function registered(
  tracker: Address,
  meta: FileMeta,
  peer: { address: Address },
): Promise<AsyncDisposable> {
  const client = await TrackerClient.connect(tracker);
  try {
    await client.register(meta, peer.address.port);
  } catch (error) {
    client.close();
    throw error;
  }
  return { [Symbol.asyncDispose]: () => Promise.resolve(client.close()) };
}

/**
 * The folder `holiday` written under `dir` and its honest metadata, and a
 * lie about it: the same manifest (so the same ID), but its file `a.bin`'s
 * piece hashes are those of other bytes of its size, which `liarBytes`
 * holds. Every piece the liar sends checks out; only `a.bin`'s ID cannot.
 */
async function lyingVariant(dir: string) {
  const source = join(dir, "holiday");
  const a = bytesOf(3 * MIN_PIECE_SIZE + 1, 1);
  const b = bytesOf(2 * MIN_PIECE_SIZE, 2);
  const c = bytesOf(9, 3);
  await writeTree(source, [
    { path: "a.bin", bytes: a },
    { path: "sub/b.bin", bytes: b },
    { path: "sub/c.txt", bytes: c },
  ]);
  // The honest metadata, as a sharer of these files would register it.
  const manifest = rawManifest("holiday", [
    { path: ["a.bin"], kind: "file", bytes: a },
    folder(["sub"]),
    { path: ["sub", "b.bin"], kind: "file", bytes: b },
    { path: ["sub", "c.txt"], kind: "file", bytes: c },
  ]);
  const meta = metaAround("holiday", manifest, [a, b, c]);
  const other = a.map((byte) => byte ^ 0xff);
  const layout = folderLayoutOf(meta)!;
  const aFile = layout.files.find((f) => f.path.join("/") === "a.bin")!;
  const pieceHashes = meta.pieceHashes.slice();
  pieceHashesOf(other, meta.pieceSize).forEach((hash, i) =>
    pieceHashes.set(hash, (aFile.firstPiece + i) * 32)
  );
  const lie: FileMeta = { ...meta, pieceHashes };
  const liarBytes = new Map([
    ["a.bin", other],
    ["sub/b.bin", b],
    ["sub/c.txt", c],
  ]);
  return { source, meta, lie, liarBytes };
}

/**
 * `meta` as sealed-metadata bytes, written by hand as `sealed_meta.ts`
 * documents them (its encoder refuses a manifest that breaks a rule):
 * JSON length, JSON fields, piece hashes, manifest.
 */
function sealedBytes(meta: FileMeta): Uint8Array {
  const { id, name, size, pieceSize, pieceHashes, manifest } = meta;
  const json = new TextEncoder().encode(JSON.stringify({
    id,
    name,
    size,
    pieceSize,
    manifestBytes: manifest!.length,
  }));
  const at = SEALED_META_LENGTH_BYTES + json.length;
  const out = new Uint8Array(at + pieceHashes.length + manifest!.length);
  new DataView(out.buffer).setUint32(0, json.length);
  out.set(json, SEALED_META_LENGTH_BYTES);
  out.set(pieceHashes, at);
  out.set(manifest!, at + pieceHashes.length);
  return out;
}

/** Fails unless `message` is one sentence for a user: no stack, no error class. */
function assertOneSentence(message: string): void {
  assert(!message.includes("\n"), `more than one line: ${message}`);
  assert(/^[A-Z"].*[.]$/.test(message), `not a sentence: ${message}`);
  assert(
    !/(TypeError|RangeError|ManifestError|Error:|\bat \S+ \()/.test(message),
    `jargon or stack: ${message}`,
  );
}
