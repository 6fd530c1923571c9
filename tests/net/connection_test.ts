/**
 * Message connections over real TCP on 127.0.0.1 port 0: both directions,
 * pipelining, the idle timeout, the whole-frame deadline and connect errors.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "../assert.ts";
import { type Address, connect, Connection } from "../../lib/net/connection.ts";
import { encodeFrame } from "../../lib/protocol/frame.ts";
import { secureAccept, secureOpen } from "../../lib/net/secure_transport.ts";
import type { Message } from "../../lib/protocol/messages.ts";

const ID = "0123456789abcdef".repeat(4);

/** A listener on 127.0.0.1 port 0 and its address. */
function listen(): Deno.TcpListener & { address: Address } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return Object.assign(listener, {
    address: { host: "127.0.0.1", port: listener.addr.port },
  });
}

/**
 * A connected client and server pair, closed on dispose; a `compact`
 * server (a tracker's kind) reads through its push reader.
 */
async function pair(compact = false): Promise<
  { client: Connection; server: Connection } & Disposable
> {
  using listener = listen();
  const accepted = listener.accept().then(async (raw) =>
    new Connection(raw, { compact }, await secureAccept(raw, { compact }))
  );
  const client = await connect(listener.address);
  const server = await accepted;
  return {
    client,
    server,
    [Symbol.dispose]() {
      client.close();
      server.close();
    },
  };
}

/**
 * A raw socket to a listener, with the accepted side as a Connection
 * without encryption: for tests of the frame layer's own limits.
 */
async function rawPair(compact = false): Promise<
  { raw: Deno.TcpConn; server: Connection } & Disposable
> {
  using listener = listen();
  const accepted = listener.accept();
  const raw = await Deno.connect({
    hostname: "127.0.0.1",
    port: listener.address.port,
  });
  const server = new Connection(await accepted, { compact });
  return {
    raw,
    server,
    [Symbol.dispose]() {
      server.close();
      try {
        raw.close();
      } catch {
        // Already closed.
      }
    },
  };
}

/** A test's name for the compact (push reader, shared deadlines) run. */
function named(compact: boolean): string {
  return compact ? " (compact)" : "";
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function pattern(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 13 + seed * 7) & 0xff);
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) {
    done += await conn.write(bytes.subarray(done));
  }
}

for (const compact of [false, true]) {
  Deno.test(`connect() and Connection carry messages both ways${named(compact)}`, async () => {
    using link = await pair(compact);
    const { client, server } = link;
    assertEquals(client.remote.port, server.local.port);
    assertEquals(server.remote.port, client.local.port);

    await client.send({ type: "hello", version: 1, id: ID });
    assertEquals(await server.receive(), { type: "hello", version: 1, id: ID });
    await server.send({ type: "welcome", id: ID, pieces: 2 });
    assertEquals(await client.receive(), {
      type: "welcome",
      id: ID,
      pieces: 2,
    });

    await client.send({ type: "request", index: 1 });
    await client.send({ type: "request", index: 5 });
    assertEquals(await server.receive(), { type: "request", index: 1 });
    assertEquals(await server.receive(), { type: "request", index: 5 });
    const data = pattern(1000, 1);
    await server.send({ type: "piece", index: 1, data });
    await server.send({
      type: "error",
      code: "bad-request",
      message: "No piece 5",
      index: 5,
    });
    assertEquals(await client.receive(), { type: "piece", index: 1, data });
    assertEquals(await client.receive(), {
      type: "error",
      code: "bad-request",
      message: "No piece 5",
      index: 5,
    });
  });
}

Deno.test("sendMany() puts several messages in one write, in order after earlier sends, and refuses binary parts", async () => {
  using link = await pair();
  const { client, server } = link;
  const first = client.send({ type: "request", index: 0 });
  const batch = client.sendMany([
    { type: "request", index: 1 },
    { type: "cancel", index: 0 },
    { type: "request", index: 2 },
  ]);
  await Promise.all([first, batch]);
  assertEquals(await server.receive(), { type: "request", index: 0 });
  assertEquals(await server.receive(), { type: "request", index: 1 });
  assertEquals(await server.receive(), { type: "cancel", index: 0 });
  assertEquals(await server.receive(), { type: "request", index: 2 });
  await assertRejects(
    () => client.sendMany([{ type: "piece", index: 0, data: pattern(4, 1) }]),
    TypeError,
  );
  // Still usable after a refused batch.
  await client.sendMany([{ type: "choke" }]);
  assertEquals(await server.receive(), { type: "choke" });
});

Deno.test("send() with headroom puts the head before the binary part and the frame arrives whole; without room it still works", async () => {
  using link = await pair();
  const { client, server } = link;
  const buffer = new Uint8Array(128 + 300_000);
  const data = buffer.subarray(128);
  data.set(pattern(data.length, 7));
  await client.send({ type: "piece", index: 3, data }, { headroom: true });
  const got = await server.receive();
  assertEquals(got?.type, "piece");
  if (got?.type === "piece") {
    assertEquals(got.index, 3);
    assertEquals(got.data, pattern(300_000, 7));
  }
  // Only 4 bytes before it: too little room, sent as two writes instead.
  const tight = new Uint8Array(4 + 70_000).subarray(4);
  tight.set(pattern(tight.length, 9));
  await client.send({ type: "piece", index: 4, data: tight }, {
    headroom: true,
  });
  const second = await server.receive();
  assert(second?.type === "piece" && second.index === 4);
  if (second?.type === "piece") {
    assertEquals(second.data, pattern(70_000, 9));
  }
});

for (const compact of [false, true]) {
  Deno.test(`receive() returns null once the other side closes cleanly${named(compact)}`, async () => {
    using link = await pair(compact);
    await link.client.send({ type: "ok" });
    link.client.close();
    assert(link.client.closed);
    assertEquals(await link.server.receive(), { type: "ok" });
    assertEquals(await link.server.receive(), null);
  });
}

for (const compact of [false, true]) {
  Deno.test(`many pipelined sends with large binary parts arrive whole, in order, both ways${named(compact)}`, async () => {
    using link = await pair(compact);
    const count = 24;
    const size = 700 * 1024 + 3;
    const sendAll = (conn: Connection, seedBase: number) =>
      Promise.all(
        Array.from(
          { length: count },
          (_, index) =>
            conn.send({
              type: "piece",
              index,
              data: pattern(size, seedBase + index),
            }),
        ),
      );
    const receiveAll = async (conn: Connection, seedBase: number) => {
      for (let index = 0; index < count; index++) {
        const message = await conn.receive();
        assert(message?.type === "piece", `got ${message?.type}`);
        assertEquals(message.index, index);
        const expected = pattern(size, seedBase + index);
        assertEquals(message.data.length, size);
        assert(
          message.data.every((byte, i) => byte === expected[i]),
          `piece ${index} was corrupted`,
        );
      }
    };
    await Promise.all([
      sendAll(link.client, 0),
      sendAll(link.server, 100),
      receiveAll(link.server, 0),
      receiveAll(link.client, 100),
    ]);
  });
}

for (const compact of [false, true]) {
  Deno.test(`receive() throws TimedOut after the idle timeout and closes the connection${named(compact)}`, async () => {
    using link = await pair(compact);
    const started = performance.now();
    await assertRejects(
      () => link.server.receive({ idleMs: 200 }),
      Deno.errors.TimedOut,
    );
    const elapsed = performance.now() - started;
    assert(elapsed >= 150 && elapsed < 2000, `timed out after ${elapsed} ms`);
    assert(link.server.closed);
    assertEquals(await link.client.receive({ idleMs: 2000 }), null);
  });
}

for (const compact of [false, true]) {
  Deno.test(`a slow-loris sender times out on the frame deadline although bytes keep coming${named(compact)}`, async () => {
    using link = await rawPair(compact);
    const frame = encodeFrame({ type: "search", text: "slow".repeat(10) });
    let stop = false;
    const trickle = (async () => {
      for (const byte of frame) {
        if (stop) return;
        try {
          await writeAll(link.raw, new Uint8Array([byte]));
        } catch {
          return; // The server closed on us: that is the point.
        }
        await delay(200);
      }
    })();
    const started = performance.now();
    try {
      await assertRejects(
        () => link.server.receive({ idleMs: 1000, deadlineMs: 500 }),
        Deno.errors.TimedOut,
      );
    } finally {
      stop = true;
      await trickle;
    }
    const elapsed = performance.now() - started;
    // The whole frame would take over 9 s; the deadline is counted from the
    // first byte, not reset by each one.
    assert(elapsed >= 450 && elapsed < 1500, `timed out after ${elapsed} ms`);
    assert(link.server.closed);
  });
}

// A compact connection's (a tracker's): a peer link's pull reader lets a
// slow record keep coming while it moves (the stall clock watches it).
{
  const compact = true;
  Deno.test(`a record begun and left unfinished after the handshake times out on the frame deadline, not the idle timeout${named(compact)}`, async () => {
    using listener = listen();
    const accepted = listener.accept().then(async (raw) =>
      new Connection(raw, { compact }, await secureAccept(raw, { compact }))
    );
    const raw = await Deno.connect({
      hostname: "127.0.0.1",
      port: listener.address.port,
    });
    try {
      await secureOpen(raw);
      const server = await accepted;
      // A length prefix promising a 1,000-byte record, and nothing more.
      await writeAll(raw, Uint8Array.of(0, 0, 0x03, 0xe8));
      const started = performance.now();
      await assertRejects(
        () => server.receive({ idleMs: 10_000, deadlineMs: 300 }),
        Deno.errors.TimedOut,
      );
      const elapsed = performance.now() - started;
      assert(elapsed < 5_000, `timed out after ${elapsed} ms`);
      assert(server.closed);
    } finally {
      raw.close();
    }
  });
}

for (const compact of [false, true]) {
  Deno.test(`a frame that completes within the deadline is not cut off by the idle timer${named(compact)}`, async () => {
    using link = await rawPair(compact);
    const frame = encodeFrame({ type: "search", text: "ab" });
    const trickle = (async () => {
      for (let i = 0; i < frame.length; i += 8) {
        await writeAll(link.raw, frame.subarray(i, i + 8));
        await delay(60);
      }
    })();
    const message = await link.server.receive({
      idleMs: 100,
      deadlineMs: 3000,
    });
    await trickle;
    assertEquals(message, { type: "search", text: "ab" });
  });
}

for (const compact of [false, true]) {
  Deno.test(`receive() throws the decode error for a bad message, and the next frame still arrives${named(compact)}`, async () => {
    using link = await rawPair(compact);
    await writeAll(link.raw, encodeFrame({ type: "nope" }));
    await writeAll(link.raw, encodeFrame({ type: "request", index: -1 }));
    await writeAll(link.raw, encodeFrame({ type: "list" }));
    await assertRejects(() => link.server.receive(), TypeError);
    await assertRejects(() => link.server.receive(), RangeError);
    assertEquals(await link.server.receive(), { type: "list" });
  });
}

for (const compact of [false, true]) {
  Deno.test(`receive() rejects a 0xFFFFFFFF length prefix from the prefix alone${named(compact)}`, async () => {
    using link = await rawPair(compact);
    await writeAll(link.raw, new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    await assertRejects(
      () => link.server.receive({ idleMs: 2000, deadlineMs: 2000 }),
      RangeError,
    );
  });
}

for (const compact of [false, true]) {
  Deno.test(`receive() throws UnexpectedEof when the other side closes inside a frame${named(compact)}`, async () => {
    using link = await rawPair(compact);
    const frame = encodeFrame({ type: "piece", index: 0 }, pattern(100, 0));
    await writeAll(link.raw, frame.subarray(0, frame.length - 10));
    link.raw.close();
    await assertRejects(() => link.server.receive(), Deno.errors.UnexpectedEof);
  });
}

Deno.test("send() rejects, rather than throws, a message too large for a frame", async () => {
  using link = await pair();
  const message: Message = {
    type: "error",
    code: "busy",
    message: "x".repeat(70_000),
  };
  let sending: Promise<void> | undefined;
  try {
    sending = link.client.send(message);
  } catch (error) {
    throw new Error(`send() threw synchronously: ${error}`);
  }
  await assertRejects(() => sending!, RangeError);
  // The connection is still usable.
  await link.client.send({ type: "ok" });
  assertEquals(await link.server.receive(), { type: "ok" });
});

Deno.test("connect() to a closed port fails fast", async () => {
  const listener = listen();
  const address = listener.address;
  listener.close();
  const started = performance.now();
  const error = await assertRejects(() =>
    connect(address, { timeoutMs: 5000 })
  );
  const elapsed = performance.now() - started;
  assert(!(error instanceof Deno.errors.TimedOut), `got ${error}`);
  assert(error instanceof Deno.errors.ConnectionRefused, `got ${error}`);
  assert(elapsed < 1000, `took ${elapsed} ms`);
});
