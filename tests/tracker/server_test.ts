/**
 * The tracker end to end on 127.0.0.1 port 0 with the real client: every
 * request, expiry, restarts with the announcer, hostile clients, connection
 * caps and timeouts.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  type RawStream,
  secureConnect,
  type SecureSocket,
} from "../_hostile.ts";
import { Announcer } from "../../lib/discovery/announcer.ts";
import type { Address } from "../../lib/net/connection.ts";
import { secureAccept } from "../../lib/net/secure_transport.ts";
import { encodeFrame, FrameReader } from "../../lib/protocol/frame.ts";
import {
  HASH_BYTES,
  MAX_NAME_BYTES,
  MIN_PIECE_SIZE,
  TRACKER_ENV,
} from "../../lib/protocol/limits.ts";
import {
  type FileMeta,
  fromFrame,
  type Message,
} from "../../lib/protocol/messages.ts";
import {
  TrackerClient,
  TrackerError,
  TrackerUnreachableError,
} from "../../lib/discovery/tracker_client.ts";
import {
  startTracker,
  type TrackerOptions,
  type TrackerServer,
} from "../../lib/tracker/server.ts";

const LOCAL = "127.0.0.1";

/** A file of `pieces` pieces whose ID starts with `prefix`. */
function meta(prefix: string, name = "file.bin", pieces = 2): FileMeta {
  return {
    id: (prefix + "0".repeat(64)).slice(0, 64),
    name,
    size: pieces * MIN_PIECE_SIZE,
    pieceSize: MIN_PIECE_SIZE,
    pieceHashes: new Uint8Array(pieces * HASH_BYTES).fill(7),
  };
}

/** A tracker on 127.0.0.1 (port 0 unless given), closed on dispose. */
function tracker(
  options: TrackerOptions = {},
): TrackerServer & AsyncDisposable {
  const server = startTracker({ host: LOCAL, port: 0, ...options });
  return Object.assign(server, {
    [Symbol.asyncDispose]: () => server.close(),
  });
}

/** A client of `address`, closed on dispose. */
async function client(
  address: Address,
  replyTimeoutMs?: number,
): Promise<TrackerClient & Disposable> {
  const c = await TrackerClient.connect(address, { replyTimeoutMs });
  return Object.assign(c, { [Symbol.dispose]: () => c.close() });
}

/**
 * A connection to `address` made by hand, past the encryption handshake:
 * bytes written to it reach the frame layer as they are. Closed on dispose.
 */
function raw(address: Address): Promise<SecureSocket> {
  return secureConnect({ hostname: address.host, port: address.port });
}

/** Every message the server sends until it closes (or a read fails). */
async function readUntilClosed(conn: RawStream): Promise<Message[]> {
  const reader = new FrameReader(conn);
  const out: Message[] = [];
  try {
    for (;;) {
      const frame = await reader.read();
      if (frame === null) return out;
      out.push(fromFrame(frame));
    }
  } catch {
    return out;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true; fails after `ms`. */
async function eventually(
  check: () => Promise<boolean>,
  ms = 3_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await delay(20);
  }
  throw new Error(`Condition not met within ${ms} ms`);
}

async function errorCode(promise: Promise<unknown>): Promise<string> {
  const error = await assertRejects(() => promise, TrackerError);
  return (error as TrackerError).code;
}

Deno.test("TrackerClient registers, queries, lists, searches, reports stats and unregisters", async () => {
  await using server = tracker();
  using c = await client(server.address);
  const photos = meta("ab".repeat(8), "Holiday Photos.zip");
  const notes = meta("cd".repeat(8), "notes.txt", 1);
  await c.register(photos, 6001);
  await c.register(photos, 6002);
  await c.register(notes, 6001);

  const found = await c.query(photos.id.slice(0, 16));
  assertEquals(found.meta, photos);
  assertEquals(
    found.peers.map((p) => `${p.host}:${p.port}`).sort(),
    ["127.0.0.1:6001", "127.0.0.1:6002"],
  );
  assertEquals((await c.list()).map((f) => f.name).sort(), [
    "Holiday Photos.zip",
    "notes.txt",
  ]);
  assertEquals(await c.search("PHOTOS"), [
    {
      id: photos.id,
      name: photos.name,
      size: photos.size,
      peers: 2,
      partial: 0,
    },
  ]);
  const stats = await c.stats();
  assertEquals(
    { files: stats.files, peers: stats.peers, reg: stats.registrations },
    { files: 2, peers: 2, reg: 3 },
  );
  assert(stats.requests >= 6, `requests: ${stats.requests}`);
  assertEquals(server.stats().registrations, 3);

  await c.unregister(photos.id, 6001);
  assertEquals((await c.query(photos.id)).peers, [{ host: LOCAL, port: 6002 }]);
  await c.unregister(photos.id, 6002);
  assertEquals(await errorCode(c.query(photos.id)), "not-found");
  assertEquals(await c.search("photos"), []);
});

Deno.test("TrackerClient pipelines requests and gets each its own answer", async () => {
  await using server = tracker();
  using c = await client(server.address);
  const files = Array.from(
    { length: 20 },
    (_, i) => meta(`e${i.toString(16).padStart(2, "0")}`, `f${i}`),
  );
  await Promise.all(files.map((file) => c.register(file, 6000)));
  const answers = await Promise.all(files.map((file) => c.query(file.id)));
  assertEquals(answers.map((a) => a.meta.name), files.map((f) => f.name));
});

Deno.test("TrackerClient throws TrackerError for refusals and the connection stays usable", async () => {
  await using server = tracker();
  using c = await client(server.address);
  const file = meta("0123456789abcdef1");
  await c.register(file, 6000);
  await c.register(meta("0123456789abcdef2"), 6000);
  const wrong = { ...file, pieceHashes: new Uint8Array(2 * HASH_BYTES) };
  const conflict = await assertRejects(
    () => c.register(wrong, 6001),
    TrackerError,
    "cut into pieces of another size",
  );
  assertEquals((conflict as TrackerError).code, "conflict");
  assertEquals(await errorCode(c.query("0123456789abcdef")), "ambiguous");
  assertEquals(await errorCode(c.query("f".repeat(16))), "not-found");
  assertEquals((await c.query(file.id)).meta.id, file.id);
});

Deno.test("the tracker forgets registrations that are not renewed", async () => {
  await using server = tracker({ ttlMs: 100, sweepMs: 20 });
  using c = await client(server.address);
  const file = meta("aa");
  await c.register(file, 6000);
  assertEquals(await c.announce([file.id], 6000), []);
  await delay(250);
  assertEquals(await errorCode(c.query(file.id)), "not-found");
  assertEquals(await c.list(), []);
  assertEquals(server.stats().registrations, 0);
  assertEquals(await c.announce([file.id], 6000), [file.id]);
});

Deno.test("announce() returns the IDs a restarted tracker does not know", async () => {
  const file = meta("aa");
  const first = tracker();
  const address = first.address;
  try {
    using c = await client(address);
    await c.register(file, 6000);
    assertEquals(await c.announce([file.id], 6000), []);
  } finally {
    await first.close();
  }
  await using _second = tracker({ port: address.port });
  using c = await client(address);
  assertEquals(await c.announce([file.id], 6000), [file.id]);
});

Deno.test("Announcer registers again by itself after the tracker restarts", async () => {
  const file = meta("bb", "shared.bin");
  const lines: string[] = [];
  const first = tracker();
  const address = first.address;
  const announcer = new Announcer({
    tracker: address,
    port: 6000,
    intervalMs: 50,
    log: (line) => lines.push(line),
  });
  try {
    await announcer.add(file);
    await first.close();
    await delay(120);
    await using _second = tracker({ port: address.port });
    using c = await client(address);
    await eventually(async () => (await c.search("shared")).length === 1);
    assertEquals((await c.query(file.id)).peers, [{ host: LOCAL, port: 6000 }]);
    assert(lines.some((line) => line.includes("again")), lines.join("\n"));
    await announcer.close();
    assertEquals(await errorCode(c.query(file.id)), "not-found");
  } finally {
    await announcer.close();
    await first.close();
  }
});

Deno.test("Announcer.connectEarly() connects before add(), which then uses that connection", async () => {
  await using server = tracker();
  const announcer = new Announcer({ tracker: server.address, port: 6000 });
  try {
    assertEquals(server.connections, 0);
    announcer.connectEarly();
    await eventually(() => Promise.resolve(server.connections === 1));
    await announcer.add(meta("cc"));
    assertEquals(server.connections, 1);
    assertEquals(server.stats().registrations, 1);
  } finally {
    await announcer.close();
  }
});

Deno.test("Announcer.connectEarly() to a tracker that is not there leaves the error to add()", async () => {
  const gone = tracker();
  const address = gone.address;
  await gone.close();
  const announcer = new Announcer({ tracker: address, port: 6000 });
  try {
    announcer.connectEarly();
    await delay(100);
    await assertRejects(
      () => announcer.add(meta("dd")),
      TrackerUnreachableError,
    );
  } finally {
    await announcer.close();
  }
});

Deno.test("Announcer keeps registrations alive past the ttl and remove() unregisters", async () => {
  await using server = tracker({ ttlMs: 150, sweepMs: 20 });
  const announcer = new Announcer({
    tracker: server.address,
    port: 6000,
    intervalMs: 40,
  });
  try {
    await announcer.add(meta("aa"));
    await announcer.add(meta("bb"));
    await delay(400);
    assertEquals(server.stats().registrations, 2);
    await announcer.remove(meta("aa").id);
    assertEquals(server.stats().registrations, 1);
  } finally {
    await announcer.close();
  }
  assertEquals(server.stats().registrations, 0);
});

Deno.test("Announcer add() rejects when the tracker is down or refuses", async () => {
  await using server = tracker();
  const announcer = new Announcer({ tracker: server.address, port: 6000 });
  try {
    using c = await client(server.address);
    await c.register(meta("aa"), 6001);
    const wrong = { ...meta("aa"), size: MIN_PIECE_SIZE * 2 - 1 };
    assertEquals(await errorCode(announcer.add(wrong)), "conflict");
  } finally {
    await announcer.close();
  }
  const down = new Announcer({ tracker: await freeAddress(), port: 6000 });
  try {
    await assertRejects(() => down.add(meta("aa")), TrackerUnreachableError);
  } finally {
    await down.close();
  }
});

/** An address nothing listens on. */
async function freeAddress(): Promise<Address> {
  const listener = Deno.listen({ hostname: LOCAL, port: 0 });
  const address = { host: LOCAL, port: listener.addr.port };
  listener.close();
  await delay(0);
  return address;
}

Deno.test("TrackerClient.connect() fails quickly with a clear message when no tracker runs", async () => {
  const address = await freeAddress();
  const started = Date.now();
  const error = await assertRejects(
    () => TrackerClient.connect(address),
    TrackerUnreachableError,
  );
  assert(Date.now() - started < 2_000, "took too long");
  assertEquals(
    error.message,
    `Cannot reach tracker at ${LOCAL}:${address.port}: connection refused. Is it running? Set --tracker or ${TRACKER_ENV}.`,
  );
});

Deno.test("TrackerClient gives up on a tracker that never answers", async () => {
  using listener = Deno.listen({ hostname: LOCAL, port: 0 });
  // It completes the encryption handshake, then never answers a request.
  const accepted = listener.accept().then(async (socket) => {
    await secureAccept(socket);
    return socket;
  });
  using c = await client({ host: LOCAL, port: listener.addr.port }, 200);
  using _silent = await accepted;
  const started = Date.now();
  await assertRejects(
    () => c.list(),
    TrackerUnreachableError,
    "did not answer",
  );
  assert(Date.now() - started < 2_000, "took too long");
  await assertRejects(() => c.stats(), TrackerUnreachableError);
});

/** A line the listener logs as any connection starts or ends. */
const LIFECYCLE =
  /^Tracker: Connection from \S+ (accepted|closed) \(\d+ open\)\.$/;

for (
  const [what, bytes] of [
    ["garbage bytes", new TextEncoder().encode("GARBAGE GARBAGE GARBAGE\r\n")],
    ["a 0xFFFFFFFF length", new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2])],
    ["a zero length", new Uint8Array([0, 0, 0, 0])],
    ["bad JSON", encodeBadJson("{not json")],
    ["a JSON array", encodeBadJson("[1,2,3]")],
    ["an unknown type", encodeFrame({ type: "nonsense" })],
    ["a message meant for peers", encodeFrame({ type: "request", index: 1 })],
    [
      "a malformed unregister",
      encodeFrame({ type: "unregister", id: "a", port: -1 }),
    ],
  ] as const
) {
  Deno.test(`the tracker closes a client that sends ${what} and keeps serving others`, async () => {
    const lines: string[] = [];
    await using server = tracker({ log: (line) => lines.push(line) });
    using good = await client(server.address);
    await good.register(meta("aa"), 6000);
    using bad = await raw(server.address);
    await bad.write(bytes);
    const replies = await readUntilClosed(bad);
    assertEquals(replies.length, 1, JSON.stringify(replies));
    assertEquals(replies[0].type === "error" && replies[0].code, "bad-request");
    assertEquals((await good.query(meta("aa").id)).peers.length, 1);
    // One line says why the bad client was closed, naming it; the others
    // are the listener's, on each connection's start and end.
    const told = lines.filter((line) => !LIFECYCLE.test(line));
    assertEquals(told.length, 1, lines.join("\n"));
    const { port } = bad.raw.localAddr as Deno.NetAddr;
    assert(told[0].includes(`${LOCAL}:${port}`), told[0]);
  });
}

function encodeBadJson(text: string): Uint8Array {
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(4 + json.length);
  new DataView(out.buffer).setUint32(0, json.length);
  out.set(json, 4);
  return out;
}

Deno.test("the tracker records the address it sees, not one the client claims", async () => {
  await using server = tracker();
  using conn = await raw(server.address);
  const file = meta("aa");
  const { pieceHashes, ...fields } = file;
  await conn.write(encodeFrame(
    { type: "register", ...fields, port: 6000, host: "10.9.9.9" },
    pieceHashes,
  ));
  const reader = new FrameReader(conn);
  const reply = await reader.read();
  assertEquals(reply?.header.type, "ok");
  using c = await client(server.address);
  assertEquals((await c.query(file.id)).peers, [{ host: LOCAL, port: 6000 }]);
});

Deno.test("the tracker refuses connections past the per-address cap and serves the rest", async () => {
  await using server = tracker({ maxConnectionsPerAddress: 2 });
  using a = await client(server.address);
  using b = await client(server.address);
  await a.stats();
  await b.stats();
  using extra = await raw(server.address);
  const replies = await readUntilClosed(extra);
  assertEquals(replies.map((m) => m.type === "error" && m.code), ["busy"]);
  await a.register(meta("aa"), 6000);
  assertEquals((await b.query(meta("aa").id)).peers.length, 1);
});

Deno.test("the tracker closes idle connections", async () => {
  await using server = tracker({ idleMs: 100 });
  using idle = await raw(server.address);
  const started = Date.now();
  assertEquals(await readUntilClosed(idle), []);
  assert(Date.now() - started < 2_000, "idle connection stayed open");
});

Deno.test("a list of files with long names still fits in one answer", async () => {
  await using server = tracker();
  using c = await client(server.address);
  const name = "é".repeat(MAX_NAME_BYTES / 2);
  const files = Array.from(
    { length: 600 },
    (_, i) => meta(i.toString(16).padStart(4, "0") + "f", name, 1),
  );
  await Promise.all(files.map((file) => c.register(file, 6000)));
  const listed = await c.list();
  assert(listed.length > 50 && listed.length < 600, `${listed.length} files`);
  assertEquals((await c.search("É")).length, listed.length);
});
