/**
 * The peer server against hostile downloaders, over real sockets on port 0:
 * bytes no encoder would send (inside the encryption, so they reach the
 * frame layer; tests/net/secure_transport_test.ts sends them outside it), bad piece indexes and IDs, more requests
 * than the cap, a downloader that requests and never reads, a thousand idle
 * sockets and a slow-loris sender. Each time the hostile connection is
 * refused or closed, nothing is written, and an honest downloader is served.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import {
  closeQuietly,
  delay,
  exchange,
  hostileBytes,
  isolateMiB,
  outcomeWithin,
  rawFrame,
  readUntilClosed,
  secureConnect,
  type SecureSocket,
  writeQuietly,
} from "../_hostile.ts";
import { connect, type Connection } from "../../lib/net/connection.ts";
import { REFUSALS_AT_ONCE } from "../../lib/net/listener.ts";
import { encodeFrame } from "../../lib/protocol/frame.ts";
import { hashFile } from "../../lib/storage/file_hash.ts";
import {
  MAX_CONNECTIONS_PER_ADDRESS,
  MAX_OUTSTANDING_REQUESTS,
  MIN_PIECE_SIZE,
  PROTOCOL_VERSION,
} from "../../lib/protocol/limits.ts";
import type { FileMeta, Message } from "../../lib/protocol/messages.ts";
import {
  MAX_PEER_REQUEST_BYTES,
  type PeerServer,
  type PeerServerOptions,
  startPeerServer,
} from "../../lib/swarm/peer_server.ts";
import { SharedFile } from "../../lib/storage/shared_file.ts";

/** The frame deadline the tests give the server, so stalls end quickly. */
const DEADLINE_MS = 600;
/** A hostile input refused from its header is closed well within this. */
const PROMPT_MS = 400;

interface Fixture extends AsyncDisposable {
  dir: string;
  bytes: Uint8Array;
  file: SharedFile;
  /** A file in the same folder that is not shared. */
  secret: FileMeta;
  server: PeerServer;
  /** Every ID the server looked up. */
  lookedUp: string[];
}

/** A folder with one shared and one unshared file, and a server for the first. */
async function fixture(
  pieceSize = MIN_PIECE_SIZE,
  pieces = 5,
  options: Partial<PeerServerOptions> = {},
): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "p2p-hostile-peer-" });
  const bytes = new Uint8Array(pieces * pieceSize);
  for (let i = 0; i < bytes.length; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, i + 65536));
  }
  const path = join(dir, "shared.bin");
  await Deno.writeFile(path, bytes);
  const secretPath = join(dir, "secret.txt");
  await Deno.writeTextFile(secretPath, "not shared\n".repeat(5000));
  const meta = { ...await hashFile(path, { pieceSize }), name: "shared.bin" };
  const secret = {
    ...await hashFile(secretPath, { pieceSize: MIN_PIECE_SIZE }),
    name: "secret.txt",
  };
  const file = await SharedFile.open(path, meta);
  const lookedUp: string[] = [];
  const server = startPeerServer({
    host: "127.0.0.1",
    port: 0,
    lookup: (id) => {
      lookedUp.push(id);
      return id === meta.id ? file : undefined;
    },
    frameDeadlineMs: DEADLINE_MS,
    ...options,
  });
  return {
    dir,
    bytes,
    file,
    secret,
    server,
    lookedUp,
    async [Symbol.asyncDispose]() {
      await server.close();
      file.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Names and sizes in the fixture's folder: nothing may be written there. */
async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    out.push(`${entry.name} ${(await Deno.stat(join(dir, entry.name))).size}`);
  }
  return out.sort();
}

async function receive(conn: Connection): Promise<Message> {
  const message = await conn.receive({ idleMs: 5_000 });
  assert(message !== null, "connection closed early");
  return message;
}

/** An honest downloader after a successful handshake. */
async function honest(
  f: Fixture,
  host = "127.0.0.1",
): Promise<Connection & Disposable> {
  const conn = await connect({ host, port: f.server.address.port });
  await conn.send({ type: "hello", version: PROTOCOL_VERSION, id: idOf(f) });
  assertEquals((await receive(conn)).type, "welcome");
  return conn;
}

/** Asks `conn` for piece `index` and checks the bytes. */
async function fetchPiece(
  f: Fixture,
  conn: Connection,
  index: number,
): Promise<void> {
  await conn.send({ type: "request", index });
  const reply = await receive(conn);
  assert(reply.type === "piece", JSON.stringify(reply));
  const size = f.file.meta.pieceSize;
  const expected = f.bytes.subarray(index * size, (index + 1) * size);
  assert(sameBytes(reply.data, expected), `piece ${index} has wrong bytes`);
}

/** Byte equality without assertEquals' JSON, which is slow for MiBs. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function idOf(f: Fixture): string {
  return f.file.meta.id;
}

function helloJson(id: string): string {
  return `{"type":"hello","version":${PROTOCOL_VERSION},"id":"${id}"}`;
}

function codes(replies: Message[]): (string | false)[] {
  return replies.map((m) => m.type === "error" && m.code);
}

for (const hostile of hostileBytes(MAX_PEER_REQUEST_BYTES)) {
  Deno.test(`the peer server closes a downloader that sends ${hostile.what}, writes nothing, and serves an honest one meanwhile`, async () => {
    await using f = await fixture();
    const before = await listing(f.dir);
    using good = await honest(f);
    const outcome = exchange(f.server.address.port, hostile.bytes, {
      endStream: hostile.endStream,
    });
    await fetchPiece(f, good, 1);
    const { replies, closedAfterMs } = await outcome;
    assert(
      replies.length <= 1 && codes(replies).every((c) => c === "bad-request"),
      JSON.stringify(replies),
    );
    if (hostile.stalls) {
      assert(closedAfterMs >= DEADLINE_MS - 50, `${closedAfterMs} ms`);
    } else {
      assert(closedAfterMs < PROMPT_MS, `took ${closedAfterMs} ms`);
    }
    await fetchPiece(f, good, 2);
    assertEquals(await listing(f.dir), before);
  });
}

Deno.test("the peer server refuses a binary part and an oversize request from the header alone", async () => {
  await using f = await fixture();
  for (
    const bytes of [
      rawFrame(helloJson(idOf(f)).replace("}", ',"binary":33554432}')),
      rawFrame(
        helloJson(idOf(f)).replace("}", `,"pad":"${"x".repeat(2000)}"}`),
      ),
    ]
  ) {
    const { replies, closedAfterMs } = await exchange(
      f.server.address.port,
      bytes,
    );
    assertEquals(codes(replies), ["bad-request"]);
    assert(closedAfterMs < PROMPT_MS, `took ${closedAfterMs} ms`);
  }
});

Deno.test('piece indexes -1, 1.5, "7", 1e400, 2^53+1 and null get bad-request and a close', async () => {
  await using f = await fixture();
  for (
    const index of ["-1", "1.5", '"7"', "1e400", "9007199254740993", "null"]
  ) {
    const bytes = encodeFrame(
      JSON.parse(helloJson(idOf(f))),
    );
    const request = rawFrame(`{"type":"request","index":${index}}`);
    const all = new Uint8Array(bytes.length + request.length);
    all.set(bytes);
    all.set(request, bytes.length);
    const { replies } = await exchange(f.server.address.port, all);
    assertEquals(
      replies.map((m) => m.type === "error" ? m.code : m.type),
      ["welcome", "bad-request"],
      `index ${index}`,
    );
  }
});

Deno.test("a request over the peer's JSON limit after the hello gets bad-request and a close", async () => {
  await using f = await fixture();
  const hello = encodeFrame(JSON.parse(helloJson(idOf(f))));
  const request = rawFrame(
    `{"type":"request","index":0,"pad":"${"x".repeat(2000)}"}`,
  );
  const all = new Uint8Array(hello.length + request.length);
  all.set(hello);
  all.set(request, hello.length);
  const { replies, closedAfterMs } = await exchange(
    f.server.address.port,
    all,
  );
  assertEquals(
    replies.map((m) => m.type === "error" ? m.code : m.type),
    ["welcome", "bad-request"],
  );
  assert(closedAfterMs < PROMPT_MS, `took ${closedAfterMs} ms`);
});

Deno.test("a piece index past the end gets bad-request naming it, and the connection goes on", async () => {
  await using f = await fixture();
  using conn = await honest(f);
  for (const index of [f.file.pieces, 1_048_575]) {
    await conn.send({ type: "request", index });
    const reply = await receive(conn);
    assert(
      reply.type === "error" && reply.code === "bad-request" &&
        reply.index === index,
      JSON.stringify(reply),
    );
  }
  await fetchPiece(f, conn, 0);
});

Deno.test("no hello can make the peer read a file it does not share", async () => {
  await using f = await fixture();
  const ids = [
    f.secret.id, // a real file in the same folder, not shared
    "ab".repeat(32),
    "../secret.txt",
    join(f.dir, "secret.txt"),
    "secret.txt",
    idOf(f).toUpperCase(),
    idOf(f).slice(0, 16),
  ];
  for (const id of ids) {
    const { replies } = await exchange(
      f.server.address.port,
      rawFrame(
        `{"type":"hello","version":${PROTOCOL_VERSION},"id":${
          JSON.stringify(id)
        }}`,
      ),
    );
    const expected = /^[0-9a-f]{64}$/.test(id) ? "not-shared" : "bad-request";
    assertEquals(codes(replies), [expected], id);
  }
  // Only well-formed IDs ever reach the lookup, and only it finds files.
  assert(
    f.lookedUp.every((id) => /^[0-9a-f]{64}$/.test(id)),
    f.lookedUp.join(),
  );
  assertEquals(f.lookedUp, [f.secret.id, "ab".repeat(32)]);
});

Deno.test("more requests outstanding than MAX_OUTSTANDING_REQUESTS close the connection", async () => {
  // 1 MiB pieces: a downloader that does not read fills the socket buffers
  // after a few, so the requests pile up on the server.
  await using f = await fixture(1024 * 1024, 8);
  using conn = await honest(f);
  const requests = [];
  for (let i = 0; i < MAX_OUTSTANDING_REQUESTS * 4; i++) {
    requests.push(conn.send({ type: "request", index: i % 8 }));
  }
  await Promise.allSettled(requests);
  for (let i = 0; i < 200 && f.server.connections > 0; i++) await delay(10);
  assertEquals(f.server.connections, 0);
  assert(
    f.server.uploaded < MAX_OUTSTANDING_REQUESTS * 1024 * 1024,
    `uploaded ${f.server.uploaded}`,
  );
});

Deno.test("downloaders that request and never read are closed at the write deadline and memory stays bounded", async () => {
  // One upload slot each, so every one of them is written to (with fewer
  // slots the rest would wait choked, holding no piece at all).
  await using f = await fixture(4 * 1024 * 1024, 4, {
    writeDeadlineMs: DEADLINE_MS,
    uploadSlots: 20,
  });
  const before = isolateMiB();
  let peak = before;
  const conns: SecureSocket[] = [];
  try {
    const hello = rawFrame(helloJson(idOf(f)));
    const requests = Array.from(
      { length: MAX_OUTSTANDING_REQUESTS - 1 },
      (_, i) => encodeFrame({ type: "request", index: i % 4 }),
    );
    for (let i = 0; i < 20; i++) {
      const conn = await secureConnect({ port: f.server.address.port });
      conns.push(conn);
      await writeQuietly(conn, hello);
      for (const request of requests) await writeQuietly(conn, request);
    }
    const started = performance.now();
    while (f.server.connections > 0 && performance.now() - started < 5_000) {
      peak = Math.max(peak, isolateMiB());
      await delay(50);
    }
    assertEquals(f.server.connections, 0, "a non-reader is still open");
    const grown = peak - before;
    // 20 downloaders × 63 requests × 4 MiB would be 5 GiB if queued; the
    // server holds at most two pieces per connection, plus slack.
    assert(grown < 20 * 2 * 4 + 64, `memory grew ${grown.toFixed(0)} MiB`);
    console.log(
      `20 non-reading downloaders closed in ${
        (performance.now() - started).toFixed(0)
      } ms; memory peak +${grown.toFixed(1)} MiB`,
    );
    using good = await honest(f);
    await fetchPiece(f, good, 3);
  } finally {
    conns.forEach(closeQuietly);
  }
});

/**
 * Connections opened at once by {@linkcode openMany}: the listener tells at
 * most REFUSALS_AT_ONCE connections over a cap why, at once (the rest are
 * closed without a word), so each batch stays well below that.
 */
const OPEN_AT_ONCE = REFUSALS_AT_ONCE / 2;

/**
 * `n` connections to `port` from 127.0.0.1, past the encryption handshake,
 * that send nothing; closed by the caller.
 */
async function openMany(port: number, n: number): Promise<SecureSocket[]> {
  const conns: SecureSocket[] = [];
  for (let i = 0; i < n; i += OPEN_AT_ONCE) {
    conns.push(
      ...await Promise.all(
        Array.from(
          { length: Math.min(OPEN_AT_ONCE, n - i) },
          () => secureConnect({ port }),
        ),
      ),
    );
  }
  return conns;
}

Deno.test("1,000 idle sockets from one address: the per-address cap holds, another address is served promptly", async () => {
  await using f = await fixture(undefined, undefined, { host: "::" });
  const conns = await openMany(f.server.address.port, 1_000);
  try {
    const started = performance.now();
    using good = await honest(f, "::1");
    await fetchPiece(f, good, 0);
    const ms = performance.now() - started;
    assert(ms < 500, `honest downloader took ${ms} ms`);
    const outcomes = await Promise.all(
      conns.map((conn) => outcomeWithin(conn, 1_500)),
    );
    const refused = outcomes.filter((o) => o !== undefined);
    assertEquals(refused.length, 1_000 - MAX_CONNECTIONS_PER_ADDRESS);
    assert(refused.every((o) => codes(o.replies).join() === "busy"));
  } finally {
    conns.forEach(closeQuietly);
  }
});

Deno.test("1,000 idle sockets held at once cost little memory and an honest downloader is still served promptly", async () => {
  await using f = await fixture(undefined, undefined, {
    maxConnections: 1_100,
    maxConnectionsPerAddress: 1_100,
  });
  const before = isolateMiB();
  const conns = await openMany(f.server.address.port, 1_000);
  try {
    for (let i = 0; i < 100 && f.server.connections < 1_000; i++) {
      await delay(10);
    }
    assertEquals(f.server.connections, 1_000);
    const started = performance.now();
    using good = await honest(f);
    await fetchPiece(f, good, 4);
    const ms = performance.now() - started;
    assert(ms < 500, `honest downloader took ${ms} ms`);
    const grown = isolateMiB() - before;
    assert(
      grown < 150,
      `memory grew ${grown.toFixed(0)} MiB for 1,000 sockets`,
    );
    console.log(
      `1,000 idle sockets held: memory +${grown.toFixed(1)} MiB, honest piece ${
        ms.toFixed(1)
      } ms`,
    );
  } finally {
    conns.forEach(closeQuietly);
  }
});

Deno.test("the total connection cap refuses the next downloader with busy", async () => {
  await using f = await fixture(undefined, undefined, { maxConnections: 5 });
  const conns = await openMany(f.server.address.port, 5);
  try {
    for (let i = 0; i < 50 && f.server.connections < 5; i++) await delay(10);
    const { replies } = await exchange(
      f.server.address.port,
      new Uint8Array(0),
    );
    assertEquals(codes(replies), ["busy"]);
  } finally {
    conns.forEach(closeQuietly);
  }
});

Deno.test("a slow-loris hello is cut off at the whole-frame deadline although bytes keep coming", async () => {
  await using f = await fixture();
  const conn = await secureConnect({ port: f.server.address.port });
  try {
    const hello = rawFrame(helloJson(idOf(f)));
    const outcome = readUntilClosed(conn);
    let open = true;
    outcome.then(() => open = false);
    let sent = 0;
    while (open && sent < hello.length - 1) {
      await writeQuietly(conn, hello.subarray(sent, sent + 1));
      sent++;
      await delay(100);
    }
    const { replies, closedAfterMs } = await outcome;
    assertEquals(replies, []);
    assert(
      closedAfterMs >= DEADLINE_MS - 50 && closedAfterMs < DEADLINE_MS + 1_000,
      `closed after ${closedAfterMs} ms`,
    );
    assert(sent >= 4 && sent < hello.length - 1, `${sent} bytes sent`);
  } finally {
    closeQuietly(conn);
  }
});
