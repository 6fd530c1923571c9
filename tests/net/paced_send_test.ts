/**
 * A paced send (`Connection.send`'s `pace`, a piece written a chunk at a
 * time as it is paid for) stopped before its last chunk: nothing else may
 * follow part of a frame, since the other side would read it as the rest
 * of that frame. Real TCP on 127.0.0.1 port 0.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "../assert.ts";
import { type Address, connect, Connection } from "../../lib/net/connection.ts";
import type { Pace } from "../../lib/net/pace.ts";
import { secureAccept } from "../../lib/net/secure_transport.ts";
import { encodeFrameHead } from "../../lib/protocol/frame.ts";
import { type Message, toFrame } from "../../lib/protocol/messages.ts";

const CHUNK = 1000;

function listen(): Deno.TcpListener & { address: Address } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return Object.assign(listener, {
    address: { host: "127.0.0.1", port: listener.addr.port },
  });
}

/** A raw socket and, accepted from it, a Connection without encryption. */
async function rawPair(): Promise<
  { raw: Deno.TcpConn; server: Connection } & Disposable
> {
  using listener = listen();
  const accepted = listener.accept();
  const raw = await Deno.connect({
    hostname: "127.0.0.1",
    port: listener.address.port,
  });
  const server = new Connection(await accepted);
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

/** An encrypted client and server pair, closed on dispose. */
async function pair(): Promise<
  { client: Connection; server: Connection } & Disposable
> {
  using listener = listen();
  const accepted = listener.accept().then(async (raw) =>
    new Connection(raw, {}, await secureAccept(raw))
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
 * A pace that pays for `chunks` chunks at once, then waits until `signal`
 * aborts and rejects with its reason (an upload session stopping).
 */
function stopsAfter(chunks: number, signal: AbortSignal): Pace {
  let paid = 0;
  const stopped = new Promise<never>((_, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason), {
      once: true,
    });
  });
  stopped.catch(() => {});
  return {
    chunk: CHUNK,
    take: () => paid++ < chunks ? Promise.resolve() : stopped,
  };
}

/** A message's bytes on the wire without encryption. */
function wire(message: Message): Uint8Array {
  const { header, binary } = toFrame(message);
  const head = encodeFrameHead(header, binary.length);
  const bytes = new Uint8Array(head.length + binary.length);
  bytes.set(head);
  bytes.set(binary, head.length);
  return bytes;
}

/**
 * Everything `conn` receives until the other side closes (`ended`), or
 * until `ms` pass without its end.
 */
async function readAll(
  conn: Deno.Conn,
  ms: number,
): Promise<{ bytes: Uint8Array; ended: boolean }> {
  const parts: Uint8Array[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), ms);
  });
  let ended = false;
  try {
    for (;;) {
      const buffer = new Uint8Array(64 * 1024);
      const got = await Promise.race([conn.read(buffer), late]);
      if (got === "late") break;
      if (got === null) {
        ended = true;
        break;
      }
      parts.push(buffer.subarray(0, got));
    }
  } finally {
    clearTimeout(timer);
  }
  const bytes = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return { bytes, ended };
}

function pattern(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 13 + 5) & 0xff);
}

const ERROR: Message = {
  type: "error",
  code: "not-shared",
  message: "This file is no longer shared",
};

Deno.test("a paced send stopped mid-frame closes the connection, so nothing queued after it follows part of a frame", async () => {
  using link = await rawPair();
  const { raw, server } = link;
  const piece: Message = { type: "piece", index: 2, data: pattern(8 * CHUNK) };
  const stop = new AbortController();
  const paced = server.send(piece, { pace: stopsAfter(3, stop.signal) });
  // The error reply an upload session queues as it stops.
  const after = server.send(ERROR);
  const reading = readAll(raw, 2000);
  stop.abort(new Error("Stopped"));
  await assertRejects(() => paced);
  const { bytes, ended } = await reading;
  const frame = wire(piece);
  // The head and the three chunks paid for, and not a byte more.
  assertEquals(bytes.length, frame.length - 5 * CHUNK);
  assert(bytes.every((byte, i) => byte === frame[i]), "Not the frame's bytes");
  assert(ended, "The connection stays open after part of a frame");
  await assertRejects(() => after);
});

Deno.test("a paced send stopped before its first chunk writes nothing, and the next message arrives whole on the open connection", async () => {
  using link = await pair();
  const { client, server } = link;
  const piece: Message = { type: "piece", index: 2, data: pattern(8 * CHUNK) };
  const stop = new AbortController();
  const paced = server.send(piece, { pace: stopsAfter(0, stop.signal) });
  const after = server.send(ERROR);
  stop.abort(new Error("Stopped"));
  await assertRejects(() => paced);
  await after;
  const got = await Promise.race([
    client.receive(),
    new Promise((resolve) => setTimeout(() => resolve("nothing"), 2000)),
  ]);
  assertEquals(got, ERROR);
  await server.send({ type: "choke" });
  assertEquals(await client.receive({ deadlineMs: 2000 }), { type: "choke" });
});

Deno.test("a paced send that completes arrives whole, and the next message after it", async () => {
  using link = await pair();
  const { client, server } = link;
  const data = pattern(8 * CHUNK + 123);
  const buffer = new Uint8Array(64 + data.length);
  buffer.set(data, 64);
  const pace: Pace = { chunk: CHUNK, take: () => Promise.resolve() };
  const sent = [
    // With headroom, the head goes in the bytes before the piece.
    server.send({ type: "piece", index: 1, data: buffer.subarray(64) }, {
      headroom: true,
      pace,
    }),
    server.send({ type: "piece", index: 2, data }, { pace }),
    server.send(ERROR),
  ];
  for (const index of [1, 2]) {
    const got = await client.receive({ deadlineMs: 2000 });
    assert(got?.type === "piece" && got.index === index);
    if (got?.type === "piece") {
      assert(got.data.every((byte, i) => byte === data[i]));
      assertEquals(got.data.length, data.length);
    }
  }
  assertEquals(await client.receive({ deadlineMs: 2000 }), ERROR);
  await Promise.all(sent);
});
