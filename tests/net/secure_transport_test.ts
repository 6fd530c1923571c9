/**
 * Every connection is encrypted, end to end over TCP on 127.0.0.1 with a
 * real tracker and a real peer server: a client of the old plain protocol
 * is told, in that protocol, to upgrade; garbage before the handshake, an
 * altered, replayed or oversized record after it, and a handshake never
 * finished each close only that socket while an honest client is served;
 * and a tracker with a team key answers only the clients that hold it.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  closeQuietly,
  concat,
  delay,
  prefix,
  randomBytes,
  writeQuietly,
} from "../_hostile.ts";
import {
  type Address,
  connect,
  type Connection,
} from "../../lib/net/connection.ts";
import { startListener } from "../../lib/net/listener.ts";
import { upgradeSentence } from "../../lib/net/secure_transport.ts";
import { encodeFrame, FrameReader } from "../../lib/protocol/frame.ts";
import {
  HASH_BYTES,
  MIN_PIECE_SIZE,
  PROTOCOL_VERSION,
} from "../../lib/protocol/limits.ts";
import {
  type FileMeta,
  fromFrame,
  type Message,
  toFrame,
} from "../../lib/protocol/messages.ts";
import { TAG_BYTES } from "../../lib/secure/noise.ts";
import {
  type ByteStream,
  HandshakeRefusedError,
  MAX_RECORD_BYTES,
  openSecretStream,
  PREAMBLE_BYTES,
  RECORD_PREFIX_BYTES,
  SECURE_MAGIC,
  SECURE_VERSION,
} from "../../lib/secure/secret_stream.ts";
import type { PieceSource } from "../../lib/storage/piece_source.ts";
import { startPeerServer } from "../../lib/swarm/peer_server.ts";
import { startTracker } from "../../lib/tracker/server.ts";
import { TrackerClient } from "../../lib/discovery/tracker_client.ts";

const LOCAL = "127.0.0.1";
/**
 * A socket refused for what it sent is closed well within this: long before
 * the 10 s the handshake may take, which is what a server that missed the
 * problem would wait for.
 */
const PROMPT_MS = 1_000;
const encoder = new TextEncoder();

// ---------------------------------------------------------------------------
// The servers, and an honest client of each

type Role = "tracker" | "peer";
const ROLES: Role[] = ["tracker", "peer"];

/** A real server under test, and what an honest client says to it. */
interface Target extends AsyncDisposable {
  role: Role;
  address: Address;
  /** Connections open, those still in their handshake too. */
  readonly connections: number;
  /** An honest client's first request, and the type of its answer. */
  first: [Message, string];
  /** A request that may follow, any number of times, and its answer's type. */
  next: [Message, string];
}

/** The one-piece file the peer server offers, held in memory. */
const PIECE = randomBytes(3, MIN_PIECE_SIZE);
const META: FileMeta = {
  id: "c0".repeat(32),
  name: "piece.bin",
  size: PIECE.length,
  pieceSize: MIN_PIECE_SIZE,
  pieceHashes: new Uint8Array(HASH_BYTES),
};
const SOURCE: PieceSource = {
  meta: META,
  pieces: 1,
  closed: false,
  readPiece: () => Promise.resolve(PIECE.slice()),
};

/** Starts the `role` server on 127.0.0.1 port 0; closed on dispose. */
function start(
  role: Role,
  options: { maxConnectionsPerAddress?: number } = {},
): Target {
  if (role === "tracker") {
    const server = startTracker({
      host: LOCAL,
      port: 0,
      queriesPerSecond: Infinity,
      ...options,
    });
    return {
      role,
      address: server.address,
      get connections() {
        return server.connections;
      },
      first: [{ type: "stats" }, "stats-reply"],
      next: [{ type: "stats" }, "stats-reply"],
      [Symbol.asyncDispose]: () => server.close(),
    };
  }
  const server = startPeerServer({
    host: LOCAL,
    port: 0,
    lookup: (id) => id === META.id ? SOURCE : undefined,
    ...options,
  });
  return {
    role,
    address: server.address,
    get connections() {
      return server.connections;
    },
    first: [
      { type: "hello", version: PROTOCOL_VERSION, id: META.id },
      "welcome",
    ],
    next: [{ type: "request", index: 0 }, "piece"],
    [Symbol.asyncDispose]: () => server.close(),
  };
}

/** Sends `request` on `conn` and checks the type of the answer. */
async function ask(
  conn: Connection,
  [request, answer]: [Message, string],
): Promise<void> {
  await conn.send(request);
  const reply = await conn.receive({ idleMs: 5_000 });
  assertEquals(reply?.type, answer, JSON.stringify(reply));
}

/** An honest client of `target`, answered once already. */
async function honest(target: Target): Promise<Connection> {
  const conn = await connect(target.address);
  await ask(conn, target.first);
  return conn;
}

/** Checks the honest client `conn` of `target` is still served. */
function served(target: Target, conn: Connection): Promise<void> {
  return ask(conn, target.next);
}

/** The frame `message` is sent as, in the plain protocol. */
function frameOf(message: Message): Uint8Array {
  const { header, binary } = toFrame(message);
  return encodeFrame(header, binary);
}

/** Waits up to 2 s for `condition` to hold. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    assert(waited < 2_000, `${what} within 2 s`);
    await delay(10);
  }
}

// ---------------------------------------------------------------------------
// Bytes on a socket, outside the encryption

/** A plain TCP socket to `target`. */
function socketTo(target: Target): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: LOCAL, port: target.address.port });
}

/**
 * Every byte `conn` receives until the other side closes it (a reset is a
 * close too); fails if it stays open `limitMs`.
 */
async function bytesUntilClosed(
  conn: ByteStream,
  limitMs = PROMPT_MS,
): Promise<{ bytes: Uint8Array }> {
  const chunks: Uint8Array[] = [];
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    closeQuietly(conn);
  }, limitMs);
  try {
    const buffer = new Uint8Array(64 * 1024);
    for (let n; (n = await conn.read(buffer)) !== null;) {
      chunks.push(buffer.slice(0, n));
    }
  } catch {
    // Reset by the other side, or closed at the limit.
  } finally {
    clearTimeout(timer);
  }
  assert(!timedOut, `the connection stayed open ${limitMs} ms`);
  return { bytes: concat(...chunks) };
}

/** The messages in `bytes`, which must hold whole frames and nothing else. */
async function framesIn(bytes: Uint8Array): Promise<Message[]> {
  let at = 0;
  const reader = new FrameReader({
    read(into) {
      if (at === bytes.length) return Promise.resolve(null);
      const n = Math.min(into.length, bytes.length - at);
      into.set(bytes.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
  });
  const out: Message[] = [];
  for (let frame; (frame = await reader.read()) !== null;) {
    out.push(fromFrame(frame));
  }
  return out;
}

// ---------------------------------------------------------------------------
// A client of the old, plain protocol

for (const role of ROLES) {
  Deno.test(`a ${role} answers a plain-protocol client with one plain error frame asking it to upgrade, then closes; an honest client is served meanwhile`, async () => {
    await using target = start(role);
    using good = await honest(target);
    using old = await socketTo(target);
    await writeQuietly(old, frameOf(target.first[0]));
    const { bytes } = await bytesUntilClosed(old);
    assertEquals(await framesIn(bytes), [{
      type: "error",
      code: "bad-request",
      message: upgradeSentence(role),
    }]);
    await served(target, good);
    await until(() => target.connections === 1, "only the honest one open");
  });
}

// ---------------------------------------------------------------------------
// Garbage before the handshake

/** Bytes that are no handshake, and what they are. */
const GARBAGE: [string, Uint8Array][] = [
  [
    "1 KiB of random bytes starting with a nonzero byte",
    (() => {
      const bytes = randomBytes(11, 1024);
      // Not 0 (a plain frame) and not "P" (the magic's first byte).
      bytes[0] |= 0x80;
      return bytes;
    })(),
  ],
  [
    "a wrong magic",
    concat(
      encoder.encode("P2PX"),
      Uint8Array.of(SECURE_VERSION, 0),
      prefix(32).subarray(2),
      randomBytes(12, 32),
    ),
  ],
  [
    "an unknown handshake mode",
    concat(
      SECURE_MAGIC,
      Uint8Array.of(SECURE_VERSION, 7),
      prefix(32).subarray(2),
      randomBytes(13, 32),
    ),
  ],
  ["an HTTP request", encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n")],
];

for (const role of ROLES) {
  for (const [what, garbage] of GARBAGE) {
    Deno.test(`a ${role} closes a socket that sends ${what} before the handshake, without a word; an honest client is served meanwhile`, async () => {
      await using target = start(role);
      using good = await honest(target);
      using bad = await socketTo(target);
      await writeQuietly(bad, garbage);
      const { bytes } = await bytesUntilClosed(bad);
      assertEquals(bytes.length, 0, `${bytes.length} bytes came back`);
      await served(target, good);
      await until(() => target.connections === 1, "only the honest one open");
    });
  }
}

Deno.test("a handshake of another version is refused with a preamble saying so, and nothing more", async () => {
  await using target = start("tracker");
  using conn = await socketTo(target);
  await writeQuietly(
    conn,
    concat(SECURE_MAGIC, Uint8Array.of(SECURE_VERSION + 1, 0)),
  );
  const { bytes } = await bytesUntilClosed(conn);
  assertEquals(bytes.length, PREAMBLE_BYTES);
  // Read as this version's client reads an answer.
  let given = false;
  const answer: ByteStream = {
    read(into) {
      if (given) return Promise.resolve(null);
      given = true;
      into.set(bytes);
      return Promise.resolve(bytes.length);
    },
    write: (data) => Promise.resolve(data.length),
    close() {},
  };
  const error = await assertRejects(
    () => openSecretStream(answer),
    HandshakeRefusedError,
  );
  assertEquals((error as HandshakeRefusedError).reason, "version");
});

// ---------------------------------------------------------------------------
// Records altered after a good handshake

/** A socket whose writes are recorded, or held back to be altered first. */
class Tap implements ByteStream {
  #conn: Deno.TcpConn;
  /** Every byte sent, write by write. */
  readonly sent: Uint8Array[] = [];
  /** While set, writes land here instead of on the socket. */
  held?: Uint8Array[];

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  read(into: Uint8Array): Promise<number | null> {
    return this.#conn.read(into);
  }

  async write(data: Uint8Array): Promise<number> {
    if (this.held) {
      this.held.push(data.slice());
      return data.length;
    }
    const n = await this.#conn.write(data);
    this.sent.push(data.slice(0, n));
    return n;
  }

  close(): void {
    this.#conn.close();
  }
}

/** An encrypted connection made by hand, answered once, and its first record. */
interface Session extends Disposable {
  conn: Deno.TcpConn;
  tap: Tap;
  /** The encrypted stream: frames in and out. */
  stream: ByteStream;
  /** The record that carried the first request, as it went on the wire. */
  record: Uint8Array;
}

/** Connects to `target`, runs the handshake and sends its first request. */
async function session(target: Target): Promise<Session> {
  const conn = await socketTo(target);
  const tap = new Tap(conn);
  const stream = await openSecretStream(tap);
  const handshake = tap.sent.length;
  const [request, answer] = target.first;
  await stream.write(frameOf(request));
  const record = concat(...tap.sent.slice(handshake));
  assertEquals(
    new DataView(record.buffer).getUint32(0) + RECORD_PREFIX_BYTES,
    record.length,
    "one record",
  );
  const frame = await new FrameReader(stream).read();
  assertEquals(frame && fromFrame(frame).type, answer);
  return {
    conn,
    tap,
    stream,
    record,
    [Symbol.dispose]: () => closeQuietly(conn),
  };
}

/** Ways to break the record stream after a good request, and what they are. */
const TAMPERING: [string, (s: Session, target: Target) => Promise<void>][] = [
  ["a record with one ciphertext byte flipped", async (s, target) => {
    s.tap.held = [];
    await s.stream.write(frameOf(target.next[0]));
    const record = concat(...s.tap.held);
    s.tap.held = undefined;
    record[RECORD_PREFIX_BYTES + 2] ^= 0x01;
    await writeQuietly(s.conn, record);
  }],
  ["the first record replayed", async (s) => {
    await writeQuietly(s.conn, s.record);
  }],
  ["a record length over the limit", async (s) => {
    await writeQuietly(s.conn, prefix(MAX_RECORD_BYTES + 1));
  }],
  ["a record shorter than its tag", async (s) => {
    await writeQuietly(
      s.conn,
      concat(prefix(TAG_BYTES - 1), new Uint8Array(TAG_BYTES - 1)),
    );
  }],
];

for (const role of ROLES) {
  for (const [what, tamper] of TAMPERING) {
    Deno.test(`a ${role} closes a connection that sends ${what} after a good handshake; an honest client is served meanwhile`, async () => {
      await using target = start(role);
      using good = await honest(target);
      using s = await session(target);
      await tamper(s, target);
      // A server may say "bad-request" as it closes, inside the encryption.
      const { bytes } = await bytesUntilClosed(s.stream);
      const replies = await framesIn(bytes);
      assert(
        replies.length <= 1 &&
          replies.every((m) => m.type === "error" && m.code === "bad-request"),
        JSON.stringify(replies),
      );
      await served(target, good);
      await until(() => target.connections === 1, "only the honest one open");
    });
  }
}

// ---------------------------------------------------------------------------
// A handshake never finished

/**
 * A listener (what both servers accept with) whose handshake time-out is
 * `ms`, and how many connections it served; closed on dispose.
 */
function shortHandshakeListener(ms: number) {
  const counts = { served: 0 };
  const listener = startListener({
    host: LOCAL,
    port: 0,
    serve: async (conn) => {
      counts.served++;
      await conn.receive();
    },
    secure: { timeoutMs: ms },
  });
  return Object.assign(listener, {
    counts,
    [Symbol.asyncDispose]: () => listener.close(),
  });
}

for (
  const [what, bytes] of [
    ["sends nothing", new Uint8Array(0)],
    [
      "sends half a handshake",
      concat(SECURE_MAGIC, Uint8Array.of(SECURE_VERSION, 0)),
    ],
  ] as const
) {
  Deno.test(`a socket that ${what} is closed without a word at the handshake time-out, holding a slot until then`, async () => {
    const timeoutMs = 300;
    await using listener = shortHandshakeListener(timeoutMs);
    // Before the connect, so before the listener's clock starts.
    const started = performance.now();
    using conn = await Deno.connect({
      hostname: LOCAL,
      port: listener.address.port,
    });
    await writeQuietly(conn, bytes);
    await until(() => listener.connections === 1, "the socket counted");
    const received = await bytesUntilClosed(conn, timeoutMs + PROMPT_MS);
    assertEquals(received.bytes.length, 0);
    const ms = performance.now() - started;
    // Timers may fire a little early; not much.
    assert(ms >= timeoutMs - 20, `closed after ${ms} ms`);
    await until(() => listener.connections === 0, "the slot released");
    assertEquals(listener.counts.served, 0);
  });
}

for (const role of ROLES) {
  Deno.test(`a ${role} counts a socket still in its handshake against the per-address cap and releases it when the socket closes`, async () => {
    await using target = start(role, { maxConnectionsPerAddress: 1 });
    const silent = await socketTo(target);
    try {
      await until(() => target.connections === 1, "the silent socket counted");
      using refused = await connect(target.address);
      const reply = await refused.receive({ idleMs: 5_000 });
      assert(
        reply?.type === "error" && reply.code === "busy",
        JSON.stringify(reply),
      );
    } finally {
      closeQuietly(silent);
    }
    await until(() => target.connections === 0, "the slot released");
    using good = await honest(target);
    await served(target, good);
  });
}

// ---------------------------------------------------------------------------
// A tracker for a team

Deno.test("a tracker with a team key refuses a client without it or with another key, and answers one that holds it", async () => {
  const team = crypto.getRandomValues(new Uint8Array(32));
  const server = startTracker({ host: LOCAL, port: 0, teamPsk: team });
  try {
    const without = await assertRejects(
      () => connect(server.address),
      HandshakeRefusedError,
    );
    assertEquals((without as HandshakeRefusedError).reason, "key-required");
    const other = crypto.getRandomValues(new Uint8Array(32));
    const wrong = await assertRejects(
      () => connect(server.address, { psk: other }),
      HandshakeRefusedError,
    );
    assertEquals((wrong as HandshakeRefusedError).reason, "unknown-key");
    using member = await connect(server.address, { psk: team });
    await ask(member, [{ type: "stats" }, "stats-reply"]);
  } finally {
    await server.close();
  }
});

// ---------------------------------------------------------------------------
// Giving up during the handshake

Deno.test("connect() aborted during the handshake rejects with the abort reason and leaves no error behind", async () => {
  // Accepts, then never answers the handshake (a stopped process).
  using listener = Deno.listen({ hostname: LOCAL, port: 0 });
  const accepted = listener.accept();
  const stop = new AbortController();
  const connecting = connect(
    { host: LOCAL, port: listener.addr.port },
    { signal: stop.signal },
  );
  using _silent = await accepted;
  await delay(20);
  const reason = new Error("Given up");
  stop.abort(reason);
  assertEquals(await connecting.catch((error) => error), reason);
  // Time for anything the abort left behind to surface and fail the test.
  await delay(50);
});

Deno.test("a server that takes the connection and never answers the handshake: TrackerClient says so, naming the handshake", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })().catch(() => {});
  try {
    let error: unknown;
    await TrackerClient.connect(
      { host: "127.0.0.1", port: listener.addr.port },
      { timeoutMs: 300 },
    ).catch((e) => error = e);
    assert(error instanceof Error, "connected without a handshake");
    assert(
      error.message.includes(
        "no answer to the encryption handshake within 0.3 s",
      ),
      error.message,
    );
  } finally {
    listener.close();
    for (const conn of held) conn.close();
    await accepting;
  }
});
