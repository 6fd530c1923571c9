import { NO_LONGER_SHARED } from "../../lib/swarm/upload_session.ts";
import { join } from "node:path";
import {
  type Address,
  connect,
  type Connection,
  formatAddress,
  openSecure,
} from "../../lib/net/connection.ts";
import { secureOpen } from "../../lib/net/secure_transport.ts";
import { hashFile } from "../../lib/storage/file_hash.ts";
import { FrameReader } from "../../lib/protocol/frame.ts";
import { MIN_PIECE_SIZE, PROTOCOL_VERSION } from "../../lib/protocol/limits.ts";
import type { FileMeta, Message } from "../../lib/protocol/messages.ts";
import {
  type PeerServer,
  type PeerServerOptions,
  startPeerServer,
} from "../../lib/swarm/peer_server.ts";
import { SharedFile } from "../../lib/storage/shared_file.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { readUntilClosed, secureConnect } from "../_hostile.ts";
import { localRelay, relayedPair } from "../_relayed_pair.ts";
import { writeAllAsync } from "../../lib/util/write_all.ts";

const PIECE = MIN_PIECE_SIZE;
const UNKNOWN_ID = "ab".repeat(32);
/** A downloader's host as the tracker names it to a sharer it relays to. */
const DOWNLOADER = "198.51.100.4";

/** A temp folder with one shared file of random bytes, and a server for it. */
interface Fixture extends AsyncDisposable {
  dir: string;
  path: string;
  bytes: Uint8Array;
  file: SharedFile;
  server: PeerServer;
  broken: string[];
}

async function fixture(
  size = 5 * PIECE + 100,
  options: Partial<PeerServerOptions> = {},
): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "p2p-server-test-" });
  const path = join(dir, "shared file.bin");
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
  }
  await Deno.writeFile(path, bytes);
  const hash = await hashFile(path, { pieceSize: PIECE });
  const meta: FileMeta = { ...hash, name: "shared file.bin" };
  const file = await SharedFile.open(path, meta);
  const broken: string[] = [];
  const server = startPeerServer({
    host: "127.0.0.1",
    port: 0,
    lookup: (id) => id === meta.id ? file : undefined,
    onFileBroken: (id, reason) => broken.push(`${id}: ${reason}`),
    ...options,
  });
  return {
    dir,
    path,
    bytes,
    file,
    server,
    broken,
    async [Symbol.asyncDispose]() {
      await server.close();
      file.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function receive(conn: Connection): Promise<Message> {
  const message = await conn.receive({ idleMs: 5_000 });
  assert(message !== null, "connection closed early");
  return message;
}

async function handshake(f: Fixture): Promise<Connection> {
  const conn = await connect(f.server.address);
  await conn.send({
    type: "hello",
    version: PROTOCOL_VERSION,
    id: f.file.meta.id,
  });
  const { node, ...welcome } = await receive(conn) as Message & {
    node?: string;
  };
  assertEquals(welcome, {
    type: "welcome",
    id: f.file.meta.id,
    pieces: f.file.pieces,
  });
  assert(node && /^[0-9a-f]{16}$/.test(node), `node ${node}`);
  return conn;
}

/** Waits up to 2 s for `condition` to hold. */
async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    assert(waited < 2_000, "condition not met within 2 s");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves once the server closed `conn` (clean end or reset). */
async function closedByServer(conn: Connection): Promise<void> {
  for (;;) {
    try {
      if (await conn.receive({ idleMs: 5_000 }) === null) return;
    } catch (error) {
      if (error instanceof Deno.errors.TimedOut) throw error;
      return;
    }
  }
}

/**
 * Sends raw bytes inside the encryption (so they reach the frame layer);
 * returns every frame header sent back until the server closed.
 */
async function rawExchange(
  f: Fixture,
  bytes: Uint8Array,
): Promise<Record<string, unknown>[]> {
  using conn = await secureConnect({ port: f.server.address.port });
  await conn.write(bytes);
  const reader = new FrameReader(conn);
  const headers: Record<string, unknown>[] = [];
  try {
    for (;;) {
      const frame = await reader.read();
      if (frame === null) break;
      headers.push(frame.header);
    }
  } catch {
    // Reset by the server: also a close.
  }
  return headers;
}

function frameOf(json: string, prefix?: number): Uint8Array {
  const body = new TextEncoder().encode(json);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, prefix ?? body.length);
  out.set(body, 4);
  return out;
}

Deno.test("a downloader's hello gets welcome and pipelined requests return the exact bytes in order", async () => {
  await using f = await fixture();
  using conn = await handshake(f);
  const order = [3, 0, 5, 1, 4, 2, 0];
  for (const index of order) await conn.send({ type: "request", index });
  for (const index of order) {
    const reply = await receive(conn);
    assert(reply.type === "piece", `expected a piece, got ${reply.type}`);
    assertEquals(reply.index, index);
    assertEquals(
      reply.data,
      f.bytes.subarray(index * PIECE, (index + 1) * PIECE),
    );
  }
});

Deno.test("uploaded counts piece bytes in total and per file", async () => {
  await using f = await fixture();
  using conn = await handshake(f);
  await conn.send({ type: "request", index: 0 });
  await conn.send({ type: "request", index: 5 });
  await receive(conn);
  await receive(conn);
  // Counted once each write completes, which may be just after it arrives.
  await until(() => f.server.uploaded === PIECE + 100);
  assertEquals(f.server.uploadedFor(f.file.meta.id), PIECE + 100);
  assertEquals(f.server.uploadedFor(UNKNOWN_ID), 0);
});

Deno.test("a request for a piece out of range gets bad-request with its index, and the connection keeps working", async () => {
  await using f = await fixture();
  using conn = await handshake(f);
  await conn.send({ type: "request", index: 6 });
  await conn.send({ type: "request", index: 1 });
  const error = await receive(conn);
  assertEquals(
    {
      type: error.type,
      code: (error as { code?: string }).code,
      index: (error as { index?: number }).index,
    },
    { type: "error", code: "bad-request", index: 6 },
  );
  const piece = await receive(conn);
  assert(piece.type === "piece" && piece.index === 1, "piece 1 was not served");
});

Deno.test("hello for an ID not shared gets not-shared and the connection is closed", async () => {
  await using f = await fixture();
  using conn = await connect(f.server.address);
  await conn.send({ type: "hello", version: PROTOCOL_VERSION, id: UNKNOWN_ID });
  const reply = await receive(conn);
  assert(
    reply.type === "error" && reply.code === "not-shared",
    `got ${JSON.stringify(reply)}`,
  );
  await closedByServer(conn);
});

Deno.test("hello with another protocol version gets bad-request and is closed", async () => {
  await using f = await fixture();
  using conn = await connect(f.server.address);
  await conn.send({
    type: "hello",
    version: PROTOCOL_VERSION + 1,
    id: f.file.meta.id,
  });
  const reply = await receive(conn);
  assert(
    reply.type === "error" && reply.code === "bad-request",
    `got ${JSON.stringify(reply)}`,
  );
  await closedByServer(conn);
});

Deno.test("a request before hello gets bad-request and is closed", async () => {
  await using f = await fixture();
  using conn = await connect(f.server.address);
  await conn.send({ type: "request", index: 0 });
  const reply = await receive(conn);
  assert(
    reply.type === "error" && reply.code === "bad-request",
    `got ${JSON.stringify(reply)}`,
  );
  await closedByServer(conn);
});

Deno.test("garbage bytes, bad JSON, an oversize length and a binary part each close only that connection while another client is served", async () => {
  const lines: string[] = [];
  await using f = await fixture(undefined, { log: (line) => lines.push(line) });
  using good = await handshake(f);
  const attacks = [
    new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    frameOf("{not json}"),
    new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]),
    new Uint8Array([0x80, 0, 0, 0]),
    frameOf('{"type":"hello","version":1,"id":"x"}'),
    frameOf(`{"type":"hello","version":1,"id":"${f.file.meta.id}","binary":8}`),
  ];
  for (const attack of attacks) {
    const replies = await rawExchange(f, attack);
    assert(replies.length <= 1, "more than one reply to bad input");
    if (replies.length === 1) {
      assertEquals(replies[0].type, "error");
      assertEquals(replies[0].code, "bad-request");
    }
    await good.send({ type: "request", index: 2 });
    const piece = await receive(good);
    assert(
      piece.type === "piece" && piece.index === 2,
      "good client not served",
    );
  }
  assert(
    lines.some((line) => line.includes("Bad input")),
    "bad input not logged",
  );
});

Deno.test("a connection with more requests outstanding than the cap is closed", async () => {
  await using f = await fixture(64 * PIECE, { maxOutstanding: 4 });
  using conn = await handshake(f);
  // The client never reads, so the server's sends stall and requests pile up.
  const flood = [];
  for (let i = 0; i < 2_000; i++) {
    flood.push(conn.send({ type: "request", index: i % 64 }));
  }
  await Promise.allSettled(flood);
  await closedByServer(conn);
  assert(f.server.uploaded < 2_000 * PIECE, "served the whole flood");
});

Deno.test("connections over the per-address cap get busy and are closed", async () => {
  await using f = await fixture(undefined, { maxConnectionsPerAddress: 1 });
  using first = await handshake(f);
  using second = await connect(f.server.address);
  const reply = await receive(second);
  assert(
    reply.type === "error" && reply.code === "busy",
    `got ${JSON.stringify(reply)}`,
  );
  await closedByServer(second);
  await first.send({ type: "request", index: 0 });
  assertEquals((await receive(first)).type, "piece");
});

Deno.test("a connection that never says hello is closed after the handshake timeout", async () => {
  await using f = await fixture(undefined, { handshakeMs: 100 });
  using conn = await connect(f.server.address);
  const started = performance.now();
  await closedByServer(conn);
  assert(performance.now() - started < 4_000, "not closed promptly");
});

Deno.test("a file modified after sharing is refused with not-shared, without its local path, and reported broken", async () => {
  await using f = await fixture();
  using conn = await handshake(f);
  await conn.send({ type: "request", index: 0 });
  assertEquals((await receive(conn)).type, "piece");
  // Same size, different bytes, and a later modification time.
  const changed = f.bytes.slice();
  changed[0] ^= 0xff;
  await Deno.writeFile(f.path, changed);
  const later = new Date(Date.now() + 60_000);
  await Deno.utime(f.path, later, later);
  await conn.send({ type: "request", index: 0 });
  const reply = await receive(conn);
  assert(
    reply.type === "error" && reply.code === "not-shared",
    `got ${JSON.stringify(reply)}`,
  );
  // Said without the reason, which names where the file is on this machine.
  assertEquals(reply.message, NO_LONGER_SHARED);
  assert(!reply.message.includes(f.path), reply.message);
  await closedByServer(conn);
  assertEquals(f.broken.length, 1);
  assert(f.broken[0].startsWith(f.file.meta.id), f.broken[0]);
});

Deno.test("a shared file that was deleted or changed size fails its check", async () => {
  await using f = await fixture();
  await Deno.remove(f.path);
  await assertRejects(() => f.file.readPiece(0), Error, "was deleted");
  await Deno.writeFile(f.path, new Uint8Array(3));
  using other = await SharedFile.open(f.path, { ...f.file.meta, size: 3 });
  await Deno.writeFile(f.path, new Uint8Array(4));
  await assertRejects(() => other.readPiece(0), Error, "changed size");
});

Deno.test("SharedFile.open() refuses a file whose size differs from its metadata", async () => {
  await using f = await fixture();
  await assertRejects(
    () => SharedFile.open(f.path, { ...f.file.meta, size: f.bytes.length + 1 }),
    Error,
    "changed",
  );
});

Deno.test("close() ends open connections and the server stops accepting", async () => {
  const f = await fixture();
  try {
    using conn = await handshake(f);
    await f.server.close();
    await closedByServer(conn);
    await assertRejects(
      () => connect(f.server.address),
      Deno.errors.ConnectionRefused,
    );
  } finally {
    await f[Symbol.asyncDispose]();
  }
});

/**
 * Joins a downloader to `f`'s server through `relay` (adopted as the
 * tracker's word `DOWNLOADER`), runs the encryption handshake from the
 * downloader's end, writes `bytes` (then ends its stream if `end`) and
 * reads until the server closes.
 */
async function relayedExchange(
  f: Fixture,
  relay: Parameters<typeof relayedPair>[0],
  bytes: Uint8Array,
  end = false,
): Promise<void> {
  using pair = await relayedPair(relay);
  f.server.adopt(pair.asked, { host: DOWNLOADER, port: 0 });
  const secure = await secureOpen(pair.asker);
  const stream = secure?.stream ?? pair.asker;
  await writeAllAsync(stream, bytes);
  if (end) await pair.asker.closeWrite();
  await readUntilClosed(stream);
}

Deno.test("a downloader the relay joined is named by its host via the relay when it sends bad input or is closed, not by the relay's port", async () => {
  const lines: string[] = [];
  await using f = await fixture(undefined, {
    log: (line) => lines.push(line),
  });
  await using relay = localRelay();
  await relayedExchange(f, relay, frameOf("{not json}"));
  // A frame cut off by the end of the stream: nothing to answer.
  await relayedExchange(f, relay, frameOf(`{"type":"hello"}`, 64), true);
  await until(() => f.server.connections === 0);
  const who = `${DOWNLOADER} via the relay at ${formatAddress(relay.address)}`;
  const log = lines.join("\n");
  assert(lines.some((line) => line.startsWith(`Bad input from ${who}: `)), log);
  assert(lines.some((line) => line.startsWith(`Closed ${who}: `)), log);
  for (const line of lines) {
    assert(!line.replaceAll(who, "").includes(`:${relay.address.port}`), line);
  }
});

Deno.test("a downloader the relay joined that serves the file too is passed on at its own host, not the relay's", async () => {
  const peers: Address[] = [];
  await using f = await fixture(undefined, {
    onPeer: (_id, address) => peers.push(address),
  });
  await using relay = localRelay();
  using pair = await relayedPair(relay);
  f.server.adopt(pair.asked, { host: DOWNLOADER, port: 0 });
  using conn = await openSecure(pair.asker);
  await conn.send({
    type: "hello",
    version: PROTOCOL_VERSION,
    id: f.file.meta.id,
    port: 7000,
  });
  assertEquals((await receive(conn)).type, "welcome");
  assertEquals(peers, [{ host: DOWNLOADER, port: 7000 }]);
});
