/**
 * Folders at the tracker: the registry keeps a folder's manifest beside its
 * hashes (counted in the hash quotas) and lists its count of files; a real
 * tracker on 127.0.0.1 port 0 answers a query with the manifest as
 * registered, and closes a client that registers an inconsistent folder
 * while it keeps answering the others.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  exchange,
  outcomeWithin,
  rawFrame,
  secureConnect,
  writeQuietly,
} from "../_hostile.ts";
import { bytesOf, folderMeta, sameBytes } from "../_folder_meta.ts";
import type { Address } from "../../lib/net/connection.ts";
import { encodeFrame } from "../../lib/protocol/frame.ts";
import {
  HASH_BYTES,
  MAX_WIRE_MANIFEST_BYTES,
} from "../../lib/protocol/limits.ts";
import {
  type FileMeta,
  type Message,
  type PeerAddress,
  toFrame,
} from "../../lib/protocol/messages.ts";
import {
  TrackerClient,
  TrackerError,
} from "../../lib/discovery/tracker_client.ts";
import { startTracker, type TrackerServer } from "../../lib/tracker/server.ts";
import { RegistryError, TrackerService } from "../../lib/tracker/service.ts";
import { HashPool, POOLED_HASH_BYTES } from "../../lib/tracker/hash_pool.ts";

const LOCAL = "127.0.0.1";
const ALICE: PeerAddress = { host: "10.0.0.1", port: 6000 };
const BOB: PeerAddress = { host: "10.0.0.2", port: 6000 };
const FOLDER = folderMeta();
/** What the folder costs in the hash quotas: its hashes and its manifest. */
const FOLDER_BYTES = FOLDER.pieceHashes.length + FOLDER.manifest!.length;
/** A hostile input refused from its header is closed well within this. */
const PROMPT_MS = 400;

/** A tracker on 127.0.0.1 port 0, closed on dispose. */
function tracker(): TrackerServer & AsyncDisposable {
  const server = startTracker({ host: LOCAL, port: 0, frameDeadlineMs: 600 });
  return Object.assign(server, {
    [Symbol.asyncDispose]: () => server.close(),
  });
}

/** A client of `address`, closed on dispose. */
async function client(address: Address): Promise<TrackerClient & Disposable> {
  const c = await TrackerClient.connect(address);
  return Object.assign(c, { [Symbol.dispose]: () => c.close() });
}

/** The frame bytes of a `register` of `meta`, with `header` fields changed. */
function registerBytes(
  meta: FileMeta,
  header: Record<string, unknown> = {},
  binary?: Uint8Array,
): Uint8Array {
  const frame = toFrame({ type: "register", meta, port: 6000 });
  return encodeFrame({ ...frame.header, ...header }, binary ?? frame.binary);
}

function isBadRequest(replies: Message[]): boolean {
  return replies.length === 1 && replies[0].type === "error" &&
    replies[0].code === "bad-request";
}

function busy(fn: () => void): boolean {
  try {
    fn();
  } catch (error) {
    return error instanceof RegistryError && error.code === "busy";
  }
  return false;
}

Deno.test("HashPool keeps hashes and a manifest after them as one list, pooled or on its own", () => {
  const pool = new HashPool();
  for (const [handle, length] of [[0, 64], [1, POOLED_HASH_BYTES * 4]]) {
    const hashes = bytesOf(length, handle);
    const tail = bytesOf(length / 2 + 3, handle + 5);
    pool.store(handle, hashes, tail);
    const all = pool.get(handle);
    assertEquals(pool.length(handle), hashes.length + tail.length);
    assert(sameBytes(all.subarray(0, hashes.length), hashes));
    assert(sameBytes(all.subarray(hashes.length), tail));
    assert(pool.equals(handle, hashes, tail));
    assert(!pool.equals(handle, hashes));
    assert(!pool.equals(handle, hashes, tail.subarray(1)));
    const other = tail.slice();
    other[other.length - 1] ^= 1;
    assert(!pool.equals(handle, hashes, other));
  }
});

Deno.test("the registry keeps a folder's manifest and lists its count of files and total size", () => {
  const service = new TrackerService();
  service.register(FOLDER, ALICE);
  service.register(FOLDER, BOB);
  const found = service.query(FOLDER.id.slice(0, 16));
  assertEquals(found.variants, 1);
  assert(sameBytes(found.meta.manifest, FOLDER.manifest!));
  assert(sameBytes(found.meta.pieceHashes, FOLDER.pieceHashes));
  assertEquals(found.meta.size, FOLDER.size);
  assertEquals(service.list(), [
    {
      id: FOLDER.id,
      name: "holiday",
      size: FOLDER.size,
      peers: 2,
      partial: 0,
      files: 4,
    },
  ]);
  assertEquals(service.search("HOLI").map((f) => f.files), [4]);
});

Deno.test("an unlisted registration is found by its ID but not listed or searched until a listed one comes", () => {
  const service = new TrackerService();
  const single = {
    id: "ab".repeat(32),
    name: "big.bin",
    size: 10,
    pieceSize: 16384,
    pieceHashes: new Uint8Array(32),
  };
  service.register(single, ALICE, { unlisted: true });
  assertEquals(service.list(), []);
  assertEquals(service.search(single.name), []);
  assertEquals(service.query(single.id).peers.length, 1);
  service.register(single, BOB);
  assertEquals(service.list().map((summary) => summary.id), [single.id]);
  service.register(single, BOB, { unlisted: true });
  assertEquals(service.list(), []);
});

Deno.test("a single file's registration under a folder's ID is a variant of its own, without manifest or files", () => {
  const service = new TrackerService();
  service.register(FOLDER, ALICE);
  service.register(FOLDER, { ...ALICE, port: 6001 });
  const { manifest: _, ...single } = FOLDER;
  service.register(single, BOB);
  const best = service.query(FOLDER.id);
  const other = service.query(FOLDER.id, 1);
  assertEquals(best.variants, 2);
  assert(sameBytes(best.meta.manifest, FOLDER.manifest!));
  assertEquals(other.meta.manifest, undefined);
  assertEquals(other.peers, [BOB]);
  assertEquals(service.list()[0].files, 4);
  // Once the folder's sharers are gone, the single file is what is listed.
  service.unregister(FOLDER.id, ALICE);
  service.unregister(FOLDER.id, { ...ALICE, port: 6001 });
  assertEquals("files" in service.list()[0], false);
});

Deno.test("a folder's manifest counts in the per-host and total hash quotas", () => {
  assert(
    busy(() =>
      new TrackerService({ maxHashBytesPerHost: FOLDER_BYTES - 1 })
        .register(FOLDER, ALICE)
    ),
  );
  assert(busy(() =>
    new TrackerService({ maxHashBytes: FOLDER_BYTES - 1 })
      .register(FOLDER, ALICE)
  ));
  const service = new TrackerService({
    maxHashBytesPerHost: FOLDER_BYTES,
    maxHashBytes: FOLDER_BYTES,
  });
  service.register(FOLDER, ALICE);
  // Renewing, and a second host joining the same variant, cost nothing more.
  service.register(FOLDER, ALICE);
  service.register(FOLDER, BOB);
  const other = folderMeta({ name: "other" });
  assert(busy(() => service.register(other, { host: "10.0.0.3", port: 1 })));
  // Gone, its bytes are free again.
  service.unregister(FOLDER.id, ALICE);
  service.unregister(FOLDER.id, BOB);
  service.register(other, ALICE);
  assertEquals(service.list().map((f) => f.name), ["other"]);
});

Deno.test("the registry refuses a folder whose manifest does not decode, as bad-request", () => {
  const service = new TrackerService();
  const broken = { ...FOLDER, manifest: FOLDER.manifest!.subarray(1) };
  let code = "";
  try {
    service.register(broken, ALICE);
  } catch (error) {
    if (error instanceof RegistryError) code = error.code;
  }
  assertEquals(code, "bad-request");
  assertEquals(service.stats().registrations, 0);
});

Deno.test("a real tracker registers a folder, answers a query with its manifest byte for byte, and lists it with its files", async () => {
  await using server = tracker();
  using sharer = await client(server.address);
  using getter = await client(server.address);
  await sharer.register(FOLDER, 6000);
  await sharer.register(FOLDER, 6000);
  const found = await getter.query(FOLDER.id.slice(0, 16));
  assert(sameBytes(found.meta.manifest, FOLDER.manifest!));
  assert(sameBytes(found.meta.pieceHashes, FOLDER.pieceHashes));
  assertEquals(
    { ...found.meta, pieceHashes: 0, manifest: 0 },
    { ...FOLDER, pieceHashes: 0, manifest: 0 },
  );
  assertEquals(found.peers, [{ host: LOCAL, port: 6000 }]);
  assertEquals(await getter.list(), [
    {
      id: FOLDER.id,
      name: "holiday",
      size: FOLDER.size,
      peers: 1,
      partial: 0,
      files: 4,
    },
  ]);
  assertEquals((await getter.search("holiday"))[0].files, 4);
  assertEquals(server.stats().registrations, 1);
});

Deno.test("a real tracker closes a client registering an inconsistent folder and keeps answering the others", async () => {
  await using server = tracker();
  using sharer = await client(server.address);
  await sharer.register(FOLDER, 6000);
  const tampered = FOLDER.manifest!.slice();
  tampered[tampered.length - 1] ^= 1;
  const joined = (hashes: Uint8Array, manifest: Uint8Array) => {
    const out = new Uint8Array(hashes.length + manifest.length);
    out.set(hashes);
    out.set(manifest, hashes.length);
    return out;
  };
  const other = folderMeta({ name: "other" });
  const cases: [string, Uint8Array][] = [
    ["size off by one", registerBytes(other, { size: other.size + 1 })],
    [
      "manifest not the ID",
      registerBytes(other, {}, joined(other.pieceHashes, tampered)),
    ],
    [
      "a hash missing",
      registerBytes(
        other,
        {},
        joined(other.pieceHashes.subarray(HASH_BYTES), other.manifest!),
      ),
    ],
    [
      "manifestBytes over the limit",
      registerBytes(other, { manifestBytes: MAX_WIRE_MANIFEST_BYTES + 1 }),
    ],
  ];
  for (const [what, bytes] of cases) {
    const outcome = exchange(server.address.port, bytes);
    // Answered while the bad client is being refused, and after.
    assertEquals((await sharer.query(FOLDER.id)).peers.length, 1, what);
    const { replies } = await outcome;
    assert(isBadRequest(replies), `${what}: ${JSON.stringify(replies)}`);
    assertEquals((await sharer.list()).map((f) => f.name), ["holiday"], what);
  }
  // Through the real client: refused, and that client's connection closed.
  using liar = await client(server.address);
  await assertRejects(
    () => liar.register({ ...other, size: other.size - 1 }, 6001),
    TrackerError,
  );
  assertEquals(server.stats().registrations, 1);
  assert(
    sameBytes((await sharer.query(FOLDER.id)).meta.manifest, FOLDER.manifest!),
  );
});

Deno.test("a real tracker refuses a folder register declaring more hashes than its manifest allows, from the header alone", async () => {
  await using server = tracker();
  const manifestBytes = FOLDER.manifest!.length;
  // Fewer than 44 bytes a file: at most size / pieceSize + files pieces.
  const bound = (4 + Math.floor(manifestBytes / 44)) * HASH_BYTES +
    manifestBytes;
  const frame = toFrame({ type: "register", meta: FOLDER, port: 6000 });
  const head = rawFrame(
    JSON.stringify({ ...frame.header, binary: bound + HASH_BYTES }),
  );
  const outcome = await exchange(server.address.port, head);
  assert(isBadRequest(outcome.replies), JSON.stringify(outcome.replies));
  assert(outcome.closedAfterMs < PROMPT_MS, `${outcome.closedAfterMs} ms`);
  // Exactly the bound: the tracker waits for the bytes (then the deadline).
  using conn = await secureConnect({ port: server.address.port });
  await writeQuietly(
    conn,
    rawFrame(JSON.stringify({ ...frame.header, binary: bound })),
  );
  assertEquals(await outcomeWithin(conn, PROMPT_MS), undefined);
});
