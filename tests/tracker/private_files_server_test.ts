/**
 * Private (sealed) files end to end: a real tracker on 127.0.0.1 port 0 and
 * the real client over encrypted connections. A lookup key gets back the
 * blob and who holds it; nothing else the tracker answers mentions the
 * file; registrations go with their connection, expire and are renewed;
 * quotas and hostile frames are refused with one sentence.
 *
 * @module
 */

import { concatBytes } from "../../lib/util/concat_bytes.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  TrackerClient,
  TrackerError,
} from "../../lib/discovery/tracker_client.ts";
import type { Address } from "../../lib/net/connection.ts";
import { secureOpen } from "../../lib/net/secure_transport.ts";
import {
  encodeFrame,
  type Frame,
  FrameReader,
} from "../../lib/protocol/frame.ts";
import {
  HASH_BYTES,
  MAX_SEALED_BLOB_BYTES,
  MIN_PIECE_SIZE,
} from "../../lib/protocol/limits.ts";
import {
  type FileMeta,
  fromFrame,
  type Message,
  type SealedFile,
  toFrame,
} from "../../lib/protocol/messages.ts";
import {
  decodeSealedMeta,
  encodeSealedMeta,
} from "../../lib/protocol/sealed_meta.ts";
import {
  deriveShareKeys,
  openMetadata,
  SEALED_OVERHEAD_BYTES,
  sealMetadata,
} from "../../lib/secure/share_keys.ts";
import {
  startTracker,
  type TrackerOptions,
  type TrackerServer,
} from "../../lib/tracker/server.ts";
import { pollUntil } from "../fixtures.ts";

const LOCAL = "127.0.0.1";
/** A hostile frame refused from its header is closed well within this. */
const PROMPT_MS = 400;
const encoder = new TextEncoder();

/** A file of `pieces` pieces with random piece hashes (so they are easy to look for). */
function meta(name = "Quarterly secret plan.pdf", pieces = 4): FileMeta {
  const id = crypto.getRandomValues(new Uint8Array(32)).toHex();
  return {
    id,
    name,
    size: pieces * MIN_PIECE_SIZE - 7,
    pieceSize: MIN_PIECE_SIZE,
    pieceHashes: crypto.getRandomValues(new Uint8Array(pieces * HASH_BYTES)),
  };
}

/** `file` shared privately under a fresh secret: what the tracker gets, and the key that opens it. */
function seal(file: FileMeta) {
  const keys = deriveShareKeys(crypto.getRandomValues(new Uint8Array(32)));
  const sealed: SealedFile = {
    lookup: keys.lookupKey,
    blob: sealMetadata(keys.metadataKey, encodeSealedMeta(file)),
  };
  return { sealed, metadataKey: keys.metadataKey };
}

/** A tracker on 127.0.0.1 port 0, closed on dispose. */
function tracker(
  options: TrackerOptions = {},
): TrackerServer & AsyncDisposable {
  const server = startTracker({ host: LOCAL, port: 0, ...options });
  return Object.assign(server, {
    [Symbol.asyncDispose]: () => server.close(),
  });
}

/** A client of `address`, closed on dispose. */
async function client(address: Address): Promise<TrackerClient & Disposable> {
  const c = await TrackerClient.connect(address);
  return Object.assign(c, { [Symbol.dispose]: () => c.close() });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function errorOf(promise: Promise<unknown>): Promise<TrackerError> {
  return await assertRejects(() => promise, TrackerError) as TrackerError;
}

/** The ports holding the private file under `lookup`; none if the tracker knows none. */
async function holders(c: TrackerClient, lookup: string): Promise<number[]> {
  try {
    return (await c.querySealed(lookup)).peers.map((p) => p.port).sort();
  } catch (error) {
    if (error instanceof TrackerError && error.code === "not-found") return [];
    throw error;
  }
}

/** What a raw client saw: the frames sent back, and when the tracker closed. */
interface Outcome {
  frames: Frame[];
  replies: Message[];
  closedAfterMs: number;
}

/**
 * Opens an encrypted connection, sends `bytes` as they are (frames no
 * encoder would write), ends its side if `endStream`, and reads frames until
 * the tracker closes; fails if that takes over `limitMs`.
 */
async function exchange(
  address: Address,
  bytes: Uint8Array,
  options: { endStream?: boolean; limitMs?: number } = {},
): Promise<Outcome> {
  const conn = await Deno.connect({
    hostname: address.host,
    port: address.port,
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    closeQuietly(conn);
  }, options.limitMs ?? 3_000);
  try {
    const stream = (await secureOpen(conn))?.stream ?? conn;
    const started = performance.now();
    try {
      for (let done = 0; done < bytes.length;) {
        done += await stream.write(bytes.subarray(done));
      }
      if (options.endStream) await conn.closeWrite();
    } catch {
      // The tracker refused and closed: what the test waits to see.
    }
    const frames: Frame[] = [];
    try {
      const reader = new FrameReader(stream);
      for (let frame; (frame = await reader.read()) !== null;) {
        frames.push(frame);
      }
    } catch {
      // Reset by the tracker, or closed at the limit.
    }
    if (timedOut) throw new Error("The tracker kept the connection open");
    return {
      frames,
      replies: frames.map(fromFrame),
      closedAfterMs: performance.now() - started,
    };
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** Frame bytes of `message`, as the real encoder writes them. */
function bytesOf(...messages: Message[]): Uint8Array {
  const parts = messages.map((message) => {
    const { header, binary } = toFrame(message);
    return encodeFrame(header, binary);
  });
  return concatBytes(parts);
}

/** A frame whose JSON part is `json` exactly as given, and `binary` after it. */
function rawFrame(
  json: string,
  binary: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const text = encoder.encode(json);
  const out = new Uint8Array(4 + text.length + binary.length);
  new DataView(out.buffer).setUint32(0, text.length);
  out.set(text, 4);
  out.set(binary, 4 + text.length);
  return out;
}

/** True if `needle` occurs in `haystack`. */
function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  const first = needle[0];
  for (let at = haystack.indexOf(first); at !== -1;) {
    if (at + needle.length > haystack.length) return false;
    let i = 1;
    while (i < needle.length && haystack[at + i] === needle[i]) i++;
    if (i === needle.length) return true;
    at = haystack.indexOf(first, at + 1);
  }
  return false;
}

function isBadRequest(outcome: Outcome): boolean {
  return outcome.replies.length === 1 &&
    outcome.replies[0].type === "error" &&
    outcome.replies[0].code === "bad-request";
}

// --- Registering and finding --------------------------------------------

Deno.test("registerSealed() then querySealed() over the wire returns the same blob and the peer; it opens to the file", async () => {
  await using server = tracker();
  const file = meta();
  const { sealed, metadataKey } = seal(file);
  using sharer = await client(server.address);
  await sharer.registerSealed(sealed, 6001);
  using getter = await client(server.address);
  await getter.registerSealed(sealed, 6002, { partial: true });
  using asker = await client(server.address);
  const answer = await asker.querySealed(sealed.lookup);
  assertEquals(answer.blob, sealed.blob);
  assertEquals(
    answer.peers.map((p) => `${p.host}:${p.port}`).sort(),
    [`${LOCAL}:6001`, `${LOCAL}:6002`],
  );
  assertEquals(answer.partial, 1);
  assertEquals(
    decodeSealedMeta(openMetadata(metadataKey, answer.blob)),
    file,
  );
  // Registering again without partial makes it whole.
  await getter.registerSealed(sealed, 6002);
  assertEquals((await asker.querySealed(sealed.lookup)).partial, 0);
  const stats = await asker.stats();
  assertEquals(
    [stats.files, stats.registrations, stats.privateFiles],
    [0, 0, 1],
  );
});

Deno.test("querySealed() of a lookup key nobody registered rejects with TrackerError not-found, as query() does, and the connection stays usable", async () => {
  await using server = tracker();
  using c = await client(server.address);
  const error = await errorOf(c.querySealed("ab".repeat(32)));
  assertEquals(error.code, "not-found");
  assertEquals(
    error.message,
    "No private file with that lookup key is known to the tracker.",
  );
  assertEquals(await c.list(), []);
});

Deno.test("a private file is absent from list, search and queries by its ID, its prefix, or its lookup key or a prefix of it", async () => {
  await using server = tracker();
  const secret = meta("hidden report.pdf");
  const { sealed } = seal(secret);
  const visible = meta("visible report.pdf");
  using sharer = await client(server.address);
  await sharer.registerSealed(sealed, 6000);
  await sharer.register(visible, 6000);
  using asker = await client(server.address);
  assertEquals((await asker.list()).map((f) => f.name), [visible.name]);
  assertEquals((await asker.search("report")).map((f) => f.id), [visible.id]);
  assertEquals(await asker.search("hidden"), []);
  for (
    const id of [
      secret.id,
      secret.id.slice(0, 16),
      sealed.lookup,
      sealed.lookup.slice(0, 16),
    ]
  ) {
    assertEquals((await errorOf(asker.query(id))).code, "not-found", id);
  }
  assertEquals((await errorOf(asker.querySealed(secret.id))).code, "not-found");
});

// --- Lifetime -----------------------------------------------------------

Deno.test("a private registration goes as soon as the connection that made it closes", async () => {
  await using server = tracker();
  const { sealed } = seal(meta());
  using asker = await client(server.address);
  const sharer = await client(server.address);
  await sharer.registerSealed(sealed, 6001);
  using stays = await client(server.address);
  await stays.registerSealed(sealed, 6002);
  assertEquals(await holders(asker, sealed.lookup), [6001, 6002]);
  sharer.close();
  const ms = await pollUntil(1_000, async () => {
    return (await holders(asker, sealed.lookup)).length === 1;
  });
  assertEquals(await holders(asker, sealed.lookup), [6002]);
  assert(ms < 1_000, `${ms} ms`);
  stays.close();
  await pollUntil(1_000, async () => {
    return (await holders(asker, sealed.lookup)).length === 0;
  });
  assertEquals(server.stats().privateFiles, 0);
});

Deno.test("a private registration expires without announce, and announce renews it (also over a new connection)", async () => {
  await using server = tracker({ ttlMs: 300, sweepMs: 50 });
  const kept = seal(meta()).sealed;
  const lapsed = seal(meta()).sealed;
  using sharer = await client(server.address);
  await sharer.registerSealed(kept, 6000);
  await sharer.registerSealed(lapsed, 6000);
  using asker = await client(server.address);
  using renewer = await client(server.address);
  const started = performance.now();
  while (performance.now() - started < 700) {
    assertEquals(await renewer.announce([kept.lookup], 6000), []);
    await delay(100);
  }
  assertEquals(await holders(asker, kept.lookup), [6000]);
  assertEquals(await holders(asker, lapsed.lookup), []);
  assertEquals(await sharer.announce([lapsed.lookup], 6000), [
    lapsed.lookup,
  ]);
  // Renewed over `renewer`: `sharer`'s close leaves it alone.
  sharer.close();
  await delay(100);
  assertEquals(await holders(asker, kept.lookup), [6000]);
  await renewer.unregister(kept.lookup, 6000);
  assertEquals(await holders(asker, kept.lookup), []);
});

// --- Quotas and hostile clients -----------------------------------------

Deno.test("a tracker at its private quota answers busy with one sentence and keeps serving", async () => {
  await using server = tracker({
    quotas: { sealed: { maxRegistrationsPerHost: 1 } },
  });
  using c = await client(server.address);
  await c.registerSealed(seal(meta()).sealed, 6000);
  const error = await errorOf(c.registerSealed(seal(meta()).sealed, 6000));
  assertEquals(error.code, "busy");
  assertEquals(
    error.message,
    `The tracker is holding all the private registrations it allows from ${LOCAL}; try again later.`,
  );
  assertEquals(server.stats().privateFiles, 1);
});

Deno.test("the tracker refuses a register-sealed declaring a blob over MAX_SEALED_BLOB_BYTES before reading it", async () => {
  await using server = tracker();
  const lookup = seal(meta()).sealed.lookup;
  // The blob is never sent: the header alone must end it.
  const json = JSON.stringify({
    type: "register-sealed",
    lookup,
    port: 6000,
    binary: MAX_SEALED_BLOB_BYTES + 1,
  });
  const outcome = await exchange(server.address, rawFrame(json));
  assert(isBadRequest(outcome), JSON.stringify(outcome.replies));
  assert(outcome.closedAfterMs < PROMPT_MS, `${outcome.closedAfterMs} ms`);
  assertEquals(server.stats().privateFiles, 0);
});

Deno.test("the tracker refuses register-sealed and query-sealed with a bad lookup key, a missing or short blob, or a blob where none belongs", async () => {
  await using server = tracker();
  const { sealed } = seal(meta());
  const blob = sealed.blob;
  const cases: [string, Uint8Array][] = [];
  for (const lookup of ["AB".repeat(32), "ab".repeat(31), "../x", 7, null]) {
    const bad = JSON.stringify(lookup);
    cases.push(
      [
        `register-sealed.lookup = ${bad}`,
        rawFrame(
          `{"type":"register-sealed","lookup":${bad},"port":6000,"binary":${blob.length}}`,
          blob,
        ),
      ],
      [
        `query-sealed.lookup = ${bad}`,
        rawFrame(`{"type":"query-sealed","lookup":${bad}}`),
      ],
    );
  }
  const head = `"type":"register-sealed","lookup":"${sealed.lookup}"`;
  cases.push(
    ["no blob", rawFrame(`{${head},"port":6000}`)],
    [
      "a 3-byte blob",
      rawFrame(`{${head},"port":6000,"binary":3}`, blob.subarray(0, 3)),
    ],
    [
      "port 0",
      rawFrame(`{${head},"port":0,"binary":${blob.length}}`, blob),
    ],
    [
      "a blob on query-sealed",
      rawFrame(
        `{"type":"query-sealed","lookup":"${sealed.lookup}","binary":${blob.length}}`,
        blob,
      ),
    ],
  );
  for (const [what, bytes] of cases) {
    const outcome = await exchange(server.address, bytes);
    assert(
      isBadRequest(outcome),
      `${what}: ${JSON.stringify(outcome.replies)}`,
    );
  }
  assertEquals(server.stats().privateFiles, 0);
  using honest = await client(server.address);
  await honest.registerSealed(sealed, 6000);
  assertEquals(server.stats().privateFiles, 1);
});

// --- What the tracker learns --------------------------------------------

Deno.test("no answer of the tracker holds a private file's ID, name or piece hashes; the blob holds none of them either", async () => {
  await using server = tracker();
  const secret = meta("Merger draft — do not share.docx", 8);
  const { sealed, metadataKey } = seal(secret);
  const idBytes = Uint8Array.fromHex(secret.id);
  const needles: [string, Uint8Array][] = [
    ["the ID", encoder.encode(secret.id)],
    ["the ID's first 16 chars", encoder.encode(secret.id.slice(0, 16))],
    ["the ID as bytes", idBytes],
    ["the name", encoder.encode(secret.name)],
    ["the name in JSON", encoder.encode(JSON.stringify(secret.name))],
    ["the name's first word", encoder.encode("Merger")],
  ];
  for (let i = 0; i < secret.pieceHashes.length; i += HASH_BYTES) {
    const hash = secret.pieceHashes.subarray(i, i + HASH_BYTES);
    needles.push([`piece hash ${i / HASH_BYTES}`, hash]);
  }
  // What reaches the tracker: a lookup key and an opaque blob, sealed
  // plaintext plus only the sealing's overhead in length.
  const plaintext = encodeSealedMeta(secret);
  assertEquals(sealed.blob.length, plaintext.length + SEALED_OVERHEAD_BYTES);
  const inClear = new Uint8Array([...plaintext, ...idBytes]);
  for (const [what, needle] of needles) {
    assert(contains(inClear, needle), `the search misses ${what}`);
    assert(!contains(sealed.blob, needle), `the blob holds ${what}`);
    assert(!contains(encoder.encode(sealed.lookup), needle), `lookup: ${what}`);
  }
  assertEquals(
    decodeSealedMeta(openMetadata(metadataKey, sealed.blob)),
    secret,
  );

  using sharer = await client(server.address);
  await sharer.registerSealed(sealed, 6000, { partial: true });
  await sharer.register(meta("public notes.txt"), 6000);
  // Every request a client can make, raw, so the test sees the tracker's
  // frames as sent (decrypted), not what a client makes of them.
  const requests: Message[] = [
    { type: "list" },
    { type: "search", text: "" },
    { type: "search", text: "merger" },
    { type: "search", text: "docx" },
    { type: "query", id: sealed.lookup },
    { type: "query", id: sealed.lookup.slice(0, 16) },
    { type: "query", id: "0".repeat(16) },
    { type: "stats" },
    { type: "query-sealed", lookup: sealed.lookup },
    { type: "announce", ids: [sealed.lookup], port: 6000 },
  ];
  const outcome = await exchange(server.address, bytesOf(...requests), {
    endStream: true,
  });
  assertEquals(
    outcome.replies.map((m) => m.type === "error" ? m.code : m.type),
    [
      "files",
      "files",
      "files",
      "files",
      "not-found",
      "not-found",
      "not-found",
      "stats-reply",
      "sealed",
      "announced",
    ],
  );
  for (const [i, frame] of outcome.frames.entries()) {
    const bytes = encodeFrame(frame.header, frame.binary);
    for (const [what, needle] of needles) {
      assert(
        !contains(bytes, needle),
        `the answer to ${requests[i].type} holds ${what}`,
      );
    }
  }
  // A query by the real ID finds nothing: the tracker only echoes it.
  using asker = await client(server.address);
  const error = await errorOf(asker.query(secret.id));
  assertEquals(
    [error.code, error.message],
    ["not-found", `No file with ID ${secret.id} is known to the tracker.`],
  );
});
