/**
 * The tracker against hostile clients, over real sockets on port 0: bytes
 * no encoder would send (inside the encryption, so they reach the frame
 * layer; tests/net/secure_transport_test.ts sends them outside it), numbers and IDs out of range, floods of
 * registrations, peers and queries, a thousand idle sockets and a
 * slow-loris sender. Each time the hostile connection is refused or closed
 * and an honest client is still answered.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import {
  closeQuietly,
  concat,
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
import type { Address } from "../../lib/net/connection.ts";
import { REFUSALS_AT_ONCE } from "../../lib/net/listener.ts";
import { encodeFrame, FrameReader } from "../../lib/protocol/frame.ts";
import {
  HASH_BYTES,
  MAX_JSON_BYTES,
  MIN_PIECE_SIZE,
} from "../../lib/protocol/limits.ts";
import {
  type FileMeta,
  fromFrame,
  type Message,
  toFrame,
} from "../../lib/protocol/messages.ts";
import { TrackerClient } from "../../lib/discovery/tracker_client.ts";
import { TrackerError } from "../../lib/discovery/tracker_errors.ts";
import {
  startTracker,
  type TrackerOptions,
  type TrackerServer,
} from "../../lib/tracker/server.ts";
import {
  MAX_PORTS_PER_HOST_PER_FILE,
  MAX_REGISTRATIONS_PER_HOST,
} from "../../lib/tracker/service.ts";

const LOCAL = "127.0.0.1";
/** The frame deadline the tests give the tracker, so stalls end quickly. */
const DEADLINE_MS = 600;
/** A hostile input refused from its header is closed well within this. */
const PROMPT_MS = 400;

/** A file of `pieces` pieces whose ID starts with `prefix`. */
function meta(prefix: string, pieces = 2, fill = 7): FileMeta {
  return {
    id: (prefix + "0".repeat(64)).slice(0, 64),
    name: "file.bin",
    size: pieces * MIN_PIECE_SIZE,
    pieceSize: MIN_PIECE_SIZE,
    pieceHashes: new Uint8Array(pieces * HASH_BYTES).fill(fill),
  };
}

/** A tracker (port 0, short deadlines), closed on dispose. */
function tracker(
  options: TrackerOptions = {},
): TrackerServer & AsyncDisposable {
  const server = startTracker({
    host: LOCAL,
    port: 0,
    frameDeadlineMs: DEADLINE_MS,
    ...options,
  });
  return Object.assign(server, {
    [Symbol.asyncDispose]: () => server.close(),
  });
}

async function client(
  address: Address,
  host = LOCAL,
): Promise<TrackerClient & Disposable> {
  const c = await TrackerClient.connect({ host, port: address.port });
  return Object.assign(c, { [Symbol.dispose]: () => c.close() });
}

/** Frame bytes of `message`, as the real encoder writes them. */
function bytesOf(message: Message): Uint8Array {
  const frame = toFrame(message);
  return encodeFrame(frame.header, frame.binary);
}

/** The JSON text of a register of `file` on `port`, with fields replaced by raw JSON text. */
function registerJson(file: FileMeta, raw: Record<string, string>): string {
  const fields: Record<string, string> = {
    type: '"register"',
    id: JSON.stringify(file.id),
    name: JSON.stringify(file.name),
    size: String(file.size),
    pieceSize: String(file.pieceSize),
    port: "6000",
    binary: String(file.pieceHashes.length),
    ...raw,
  };
  return `{${
    Object.entries(fields).map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(
      ",",
    )
  }}`;
}

function isBadRequest(outcome: { replies: Message[] }): boolean {
  return outcome.replies.every((m) =>
    m.type === "error" && m.code === "bad-request"
  ) && outcome.replies.length <= 1;
}

for (const hostile of hostileBytes(MAX_JSON_BYTES)) {
  Deno.test(`the tracker closes a client that sends ${hostile.what}, and answers an honest one meanwhile`, async () => {
    await using server = tracker();
    using honest = await client(server.address);
    await honest.register(meta("aa"), 6000);
    const outcome = exchange(server.address.port, hostile.bytes, {
      endStream: hostile.endStream,
    });
    // Answered while the hostile connection is open, and after.
    assertEquals((await honest.query(meta("aa").id)).peers.length, 1);
    const { replies, closedAfterMs } = await outcome;
    assert(isBadRequest({ replies }), JSON.stringify(replies));
    if (hostile.stalls) {
      assert(closedAfterMs >= DEADLINE_MS - 50, `${closedAfterMs} ms`);
    } else {
      assert(closedAfterMs < PROMPT_MS, `took ${closedAfterMs} ms`);
    }
    assertEquals((await honest.query(meta("aa").id)).peers.length, 1);
    assertEquals(server.stats().registrations, 1);
  });
}

Deno.test("the tracker refuses a binary part on a message that carries none from the header alone", async () => {
  await using server = tracker();
  // The 32 MiB are never sent: the tracker must not wait for them.
  const bytes = rawFrame(
    `{"type":"query","id":"${"a".repeat(64)}","binary":33554432}`,
  );
  const { replies, closedAfterMs } = await exchange(server.address.port, bytes);
  assert(isBadRequest({ replies }), JSON.stringify(replies));
  assert(closedAfterMs < PROMPT_MS, `took ${closedAfterMs} ms`);
});

Deno.test("the tracker refuses a register whose binary part is longer than its hash list from the header alone", async () => {
  await using server = tracker();
  const file = meta("aa");
  const json = registerJson(file, { binary: String(32 * 1024 * 1024) });
  const outcome = await exchange(server.address.port, rawFrame(json));
  assert(isBadRequest(outcome), JSON.stringify(outcome.replies));
  assert(outcome.closedAfterMs < PROMPT_MS, `${outcome.closedAfterMs} ms`);
});

Deno.test("a register whose hash list stops short is closed at the frame deadline and registers nothing", async () => {
  await using server = tracker();
  using honest = await client(server.address);
  const file = meta("aa", 1000);
  const json = registerJson(file, {});
  const bytes = concat(rawFrame(json), new Uint8Array(10));
  const outcome = exchange(server.address.port, bytes);
  assertEquals(await honest.list(), []);
  const { replies, closedAfterMs } = await outcome;
  assertEquals(replies, []);
  assert(closedAfterMs >= DEADLINE_MS - 50, `${closedAfterMs} ms`);
  assertEquals(server.stats().registrations, 0);
});

const BAD_NUMBERS = ["1e400", "-1", "1.5", '"7"', "9007199254740993", "null"];

for (const field of ["size", "pieceSize", "port"]) {
  Deno.test(`the tracker answers bad-request to a register whose ${field} is 1e400, -1, 1.5, "7", 2^53+1 or null`, async () => {
    await using server = tracker();
    for (const value of BAD_NUMBERS) {
      const file = meta("aa");
      const bytes = rawFrame(
        registerJson(file, { [field]: value }),
        file.pieceHashes,
      );
      const outcome = await exchange(server.address.port, bytes);
      assertEquals(outcome.replies.length, 1, `${field}=${value}`);
      assert(isBadRequest(outcome), `${field}=${value}`);
    }
    assertEquals(server.stats().registrations, 0);
  });
}

Deno.test('the tracker refuses ports 0, 65536, -1 and "x" in register, announce and unregister', async () => {
  await using server = tracker();
  const file = meta("aa");
  for (const port of ["0", "65536", "-1", '"x"']) {
    const jsons = [
      registerJson(file, { port }),
      `{"type":"announce","ids":["${file.id}"],"port":${port}}`,
      `{"type":"unregister","id":"${file.id}","port":${port}}`,
    ];
    for (const json of jsons) {
      const binary = json.includes('register"') ? file.pieceHashes : undefined;
      const outcome = await exchange(
        server.address.port,
        rawFrame(json, binary),
      );
      assert(
        outcome.replies.length === 1 && isBadRequest(outcome),
        `${json}: ${JSON.stringify(outcome.replies)}`,
      );
    }
  }
  assertEquals(server.stats().registrations, 0);
});

Deno.test("the tracker refuses IDs of the wrong length, non-hex, ../x and 10 MB long", async () => {
  await using server = tracker();
  const ids = ["abc", "a".repeat(63), "A".repeat(64), "g".repeat(64), "../x"];
  for (const id of ids) {
    for (
      const json of [
        `{"type":"query","id":${JSON.stringify(id)}}`,
        `{"type":"unregister","id":${JSON.stringify(id)},"port":6000}`,
        `{"type":"announce","ids":[${JSON.stringify(id)}],"port":6000}`,
      ]
    ) {
      const outcome = await exchange(server.address.port, rawFrame(json), {
        endStream: true,
      });
      const codes = outcome.replies.map((m) => m.type === "error" && m.code);
      // 63 hex chars is a valid prefix of no known file.
      const expected = /^"a{63}"$/.test(JSON.stringify(id)) &&
          json.includes("query")
        ? "not-found"
        : "bad-request";
      assertEquals(codes, [expected], json);
    }
  }
  // 10 MB of ID: refused from the length prefix, long before it is all sent.
  const huge = rawFrame(`{"type":"query","id":"${"a".repeat(10_000_000)}"}`);
  const outcome = await exchange(server.address.port, huge);
  assert(isBadRequest(outcome), JSON.stringify(outcome.replies));
  using honest = await client(server.address);
  assertEquals(await honest.list(), []);
});

Deno.test("__proto__ and constructor keys in requests change no prototype and smuggle no field", async () => {
  await using server = tracker();
  const file = meta("aa");
  const smuggled = registerJson(file, {}).replace(
    '"port":6000',
    '"__proto__":{"port":6000},"constructor":{"prototype":{"polluted":1}}',
  );
  const outcome = await exchange(
    server.address.port,
    rawFrame(smuggled, file.pieceHashes),
  );
  assert(isBadRequest(outcome), JSON.stringify(outcome.replies));
  assertEquals(({} as Record<string, unknown>).polluted, undefined);
  assertEquals(server.stats().registrations, 0);
  const stats = await exchange(
    server.address.port,
    rawFrame('{"type":"stats","__proto__":{"type":"register"}}'),
    { endStream: true },
  );
  assertEquals(stats.replies.map((m) => m.type), ["stats-reply"]);
});

function registerFields(file: FileMeta): Record<string, unknown> {
  return {
    type: "register",
    id: file.id,
    name: file.name,
    size: file.size,
    pieceSize: file.pieceSize,
    binary: file.pieceHashes.length,
  };
}

Deno.test("a registration naming another IP is recorded under the socket's address", async () => {
  await using server = tracker();
  const file = meta("aa");
  const json = JSON.stringify({
    ...registerFields(file),
    port: 6000,
    host: "10.9.9.9",
    ip: "10.9.9.9",
    address: "10.9.9.9",
  });
  // Asked while the registering connection is open: closing it would
  // drop the registration.
  using conn = await secureConnect({ port: server.address.port });
  await writeQuietly(conn, rawFrame(json, file.pieceHashes));
  const reply = await new FrameReader(conn).read();
  assertEquals(reply && fromFrame(reply).type, "ok");
  using honest = await client(server.address);
  assertEquals((await honest.query(file.id)).peers, [{
    host: LOCAL,
    port: 6000,
  }]);
});

/**
 * Sends `frames` pipelined on one hand-made connection while reading the
 * replies; resolves to the replies' types or error codes. `whileOpen` runs
 * after the last reply, before the connection closes (and the tracker
 * drops what it registered).
 */
async function pipeline(
  port: number,
  frames: Uint8Array[],
  whileOpen?: () => Promise<void>,
): Promise<string[]> {
  const conn = await secureConnect({ hostname: LOCAL, port });
  try {
    const reader = new FrameReader(conn);
    const reading = (async () => {
      const out: string[] = [];
      while (out.length < frames.length) {
        const frame = await reader.read();
        if (frame === null) break;
        const m = fromFrame(frame);
        out.push(m.type === "error" ? m.code : m.type);
      }
      return out;
    })();
    await writeQuietly(conn, concat(...frames));
    const replies = await reading;
    await whileOpen?.();
    return replies;
  } finally {
    closeQuietly(conn);
  }
}

function tally(codes: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const code of codes) out[code] = (out[code] ?? 0) + 1;
  return out;
}

Deno.test("one address registering 20,000 IDs over the wire is held to its quota with bounded memory", async () => {
  // 100,000 are registered in memory in tracker_service_test.ts; over the
  // wire each costs about 60 µs, so this sends twice the quota.
  const count = 2 * MAX_REGISTRATIONS_PER_HOST;
  await using server = tracker();
  const before = isolateMiB();
  const frames = Array.from({ length: count }, (_, i) =>
    bytesOf({
      type: "register",
      meta: meta(i.toString(16).padStart(8, "0"), 1),
      port: 6000,
    }));
  let held = 0;
  let grown = 0;
  const codes = tally(
    await pipeline(server.address.port, frames, () => {
      held = server.stats().registrations;
      grown = isolateMiB() - before;
      return Promise.resolve();
    }),
  );
  assertEquals(codes, {
    ok: MAX_REGISTRATIONS_PER_HOST,
    busy: count - MAX_REGISTRATIONS_PER_HOST,
  });
  assertEquals(held, MAX_REGISTRATIONS_PER_HOST);
  // The registry, the 20,000 frames sent and the replies read, all together.
  assert(grown < 100, `memory grew ${grown.toFixed(0)} MiB`);
  console.log(
    `20,000 registrations sent: memory change ${grown.toFixed(1)} MiB`,
  );
});

Deno.test("10,000 ports for one ID from one address stop at the per-host cap; the answer is de-duplicated", async () => {
  await using server = tracker();
  const file = meta("aa");
  const frames = Array.from(
    { length: 10_000 },
    (_, i) => bytesOf({ type: "register", meta: file, port: (i % 5_000) + 1 }),
  );
  using honest = await client(server.address);
  let peers: { port: number }[] = [];
  const codes = tally(
    await pipeline(server.address.port, frames, async () => {
      peers = (await honest.query(file.id)).peers;
    }),
  );
  // The first MAX_PORTS_PER_HOST_PER_FILE ports, each registered twice.
  assertEquals(codes.ok, 2 * MAX_PORTS_PER_HOST_PER_FILE);
  assertEquals(peers.length, MAX_PORTS_PER_HOST_PER_FILE);
  assertEquals(new Set(peers.map((p) => p.port)).size, peers.length);
});

Deno.test("a query flood from one address is held to its rate while another address is answered", async () => {
  const rate = 20;
  const burst = 10;
  await using server = tracker({
    host: "::",
    queriesPerSecond: rate,
    queryBurst: burst,
  });
  const file = meta("aa");
  using owner = await client(server.address, "::1");
  await owner.register(file, 6000);
  const query = bytesOf({ type: "query", id: file.id });
  const count = 30;
  const started = performance.now();
  const flood = pipeline(
    server.address.port,
    Array.from({ length: count }, () => query),
  );
  // The other address, during the flood: answered (its own bucket).
  using other = await client(server.address, "::1");
  for (let i = 0; i < 10; i++) {
    assertEquals((await other.query(file.id)).peers.length, 1);
  }
  const codes = tally(await flood);
  const elapsed = performance.now() - started;
  // One connection asking in a row waits for each token (it reads nothing
  // meanwhile) rather than being refused: every query answered, the ones
  // past the burst at the rate.
  assertEquals(codes, { file: count });
  const leastMs = (count - burst) / rate * 1000;
  assert(elapsed >= leastMs * 0.9, `${elapsed} ms for ${count} queries`);
  // Counted for the operator as waits, not refusals.
  const stats = server.stats();
  assert(stats.rateWaits! >= count - burst - 2, JSON.stringify(stats));
  assertEquals(stats.refused?.["rate-limit"], undefined);
});

Deno.test("requests from one address more than rateWaitMs over its rate are answered busy", async () => {
  const rate = 20;
  const burst = 10;
  await using server = tracker({
    queriesPerSecond: rate,
    queryBurst: burst,
    rateWaitMs: 1_000,
  });
  const file = meta("aa");
  using owner = await client(server.address);
  await owner.register(file, 6000);
  // 40 connections (opened 10 at a time: fewer handshakes pending at
  // once than an address may have), each asking once, at the same moment.
  const clients: TrackerClient[] = [];
  for (let i = 0; i < 4; i++) {
    clients.push(
      ...await Promise.all(
        Array.from({ length: 10 }, () => client(server.address)),
      ),
    );
  }
  try {
    const codes = tally(
      await Promise.all(
        clients.map((c) =>
          c.query(file.id).then(
            () => "file",
            (error) => error instanceof TrackerError ? error.code : "other",
          )
        ),
      ),
    );
    // The burst at once, then a second's worth (rateWaitMs) waiting for
    // their tokens (a little more as the bucket refills), the rest busy.
    assertEquals(
      (codes.file ?? 0) + (codes.busy ?? 0),
      40,
      JSON.stringify(codes),
    );
    assert(codes.file >= burst + rate, JSON.stringify(codes));
    assert(codes.busy >= 1, JSON.stringify(codes));
    assertEquals(server.stats().refused?.["rate-limit"], codes.busy);
  } finally {
    for (const c of clients) c.close();
  }
});

Deno.test("a liar's metadata for a real ID is kept apart and the honest sharer stays variant 0", async () => {
  await using server = tracker({ host: "::" });
  const file = meta("aa");
  const lie = meta("aa", 2, 9);
  using honest = await client(server.address, LOCAL);
  using liar = await client(server.address, "::1");
  await honest.register(file, 6000);
  await liar.register(lie, 6000);
  const first = await honest.query(file.id);
  assertEquals([first.meta, first.variants], [file, 2]);
  const second = await honest.query(file.id, { variant: 1 });
  assertEquals(second.meta.pieceHashes, lie.pieceHashes);
  assertEquals(second.peers, [{ host: "::1", port: 6000 }]);
  assertEquals((await honest.list()).length, 1);
});

/**
 * Connections opened at once by {@linkcode openMany}: the listener tells at
 * most REFUSALS_AT_ONCE connections over a cap why, at once (the rest are
 * closed without a word), so each batch stays well below that.
 */
const OPEN_AT_ONCE = REFUSALS_AT_ONCE / 2;

/**
 * `n` connections to `port` past the encryption handshake that send
 * nothing; closed by the caller.
 */
async function openMany(port: number, n: number): Promise<SecureSocket[]> {
  const conns: SecureSocket[] = [];
  for (let i = 0; i < n; i += OPEN_AT_ONCE) {
    const batch = Math.min(OPEN_AT_ONCE, n - i);
    conns.push(
      ...await Promise.all(
        Array.from(
          { length: batch },
          () => secureConnect({ hostname: LOCAL, port }),
        ),
      ),
    );
  }
  return conns;
}

/** The time an honest query takes, in ms. */
async function timedQuery(c: TrackerClient, id: string): Promise<number> {
  const started = performance.now();
  assertEquals((await c.query(id)).peers.length, 1);
  return performance.now() - started;
}

Deno.test("1,000 idle sockets from one address: the per-address cap holds, another address is answered promptly", async () => {
  // A low cap (the tracker's own admits an office of 2,048), so the test
  // sees it hold without opening thousands of sockets.
  const cap = 64;
  await using server = tracker({ host: "::", maxConnectionsPerAddress: cap });
  const file = meta("aa");
  using honest = await client(server.address, "::1");
  await honest.register(file, 6000);
  const conns = await openMany(server.address.port, 1_000);
  try {
    const ms = await timedQuery(honest, file.id);
    assert(ms < 500, `honest query took ${ms} ms`);
    const held = cap + 1;
    for (let i = 0; i < 100 && server.connections < held; i++) await delay(10);
    assertEquals(server.connections, held);
    // Those over the cap are told busy and closed; the rest are held.
    const outcomes = await Promise.all(
      conns.map((conn) => outcomeWithin(conn, 1_500)),
    );
    const refused = outcomes.filter((o) => o !== undefined);
    assertEquals(refused.length, 1_000 - cap);
    const odd = refused.filter((o) =>
      !(o.replies.length === 1 && o.replies[0].type === "error" &&
        o.replies[0].code === "busy")
    );
    assertEquals(odd.length, 0, JSON.stringify(odd.slice(0, 3)));
  } finally {
    conns.forEach(closeQuietly);
  }
});

Deno.test("1,000 idle sockets held at once cost little memory and an honest client is still answered promptly", async () => {
  await using server = tracker({
    maxConnections: 1_100,
    maxConnectionsPerAddress: 1_100,
    frameDeadlineMs: 10_000,
  });
  const file = meta("aa");
  using honest = await client(server.address);
  await honest.register(file, 6000);
  const before = isolateMiB();
  const conns = await openMany(server.address.port, 1_000);
  try {
    // Each holds a frame started, to make the server keep its read buffer.
    await Promise.all(conns.map((conn) => conn.write(new Uint8Array([0]))));
    for (let i = 0; i < 50 && server.connections < 1_001; i++) await delay(20);
    assertEquals(server.connections, 1_001);
    const ms = await timedQuery(honest, file.id);
    assert(ms < 500, `honest query took ${ms} ms`);
    const grown = isolateMiB() - before;
    assert(
      grown < 150,
      `memory grew ${grown.toFixed(0)} MiB for 1,000 sockets`,
    );
    console.log(
      `1,000 idle sockets held: memory +${grown.toFixed(1)} MiB, honest query ${
        ms.toFixed(1)
      } ms`,
    );
  } finally {
    conns.forEach(closeQuietly);
  }
});

Deno.test("the total connection cap refuses the next socket with busy", async () => {
  await using server = tracker({ maxConnections: 5 });
  const conns = await openMany(server.address.port, 5);
  try {
    for (let i = 0; i < 50 && server.connections < 5; i++) await delay(10);
    const outcome = await exchange(server.address.port, new Uint8Array(0));
    assertEquals(outcome.replies.map((m) => m.type === "error" && m.code), [
      "busy",
    ]);
  } finally {
    conns.forEach(closeQuietly);
  }
});

Deno.test("a slow-loris sender is cut off at the whole-frame deadline although bytes keep coming", async () => {
  await using server = tracker();
  using honest = await client(server.address);
  const conn = await secureConnect({
    hostname: LOCAL,
    port: server.address.port,
  });
  try {
    const frame = bytesOf({ type: "stats" });
    const started = performance.now();
    const outcome = readUntilClosed(conn, started);
    let sent = 0;
    let open = true;
    outcome.then(() => open = false);
    while (open && sent < frame.length - 1) {
      await writeQuietly(conn, frame.subarray(sent, sent + 1));
      sent++;
      await delay(100);
    }
    await honest.stats();
    const { replies, closedAfterMs } = await outcome;
    assertEquals(replies, []);
    assert(
      closedAfterMs >= DEADLINE_MS - 50 && closedAfterMs < DEADLINE_MS + 1_000,
      `closed after ${closedAfterMs} ms`,
    );
    assert(sent >= 4, `only ${sent} bytes sent`);
  } finally {
    closeQuietly(conn);
  }
});
