import { assert, assertEquals } from "../assert.ts";
import {
  type ByteStream,
  MAX_RECORD_PLAINTEXT,
  secretStream,
} from "../../lib/secure/secret_stream.ts";

/** One direction of an in-memory pipe; `chunk` caps the bytes per read. */
class Pipe {
  #queue: Uint8Array[] = [];
  #waiting?: () => void;
  #closed = false;
  chunk = Infinity;
  /** Called with each write, to tamper with or drop it; what it returns is sent. */
  filter: (bytes: Uint8Array) => Uint8Array | undefined = (b) => b;

  push(bytes: Uint8Array): void {
    const out = this.filter(bytes.slice());
    if (out) this.#queue.push(out);
    this.#waiting?.();
  }

  end(): void {
    this.#closed = true;
    this.#waiting?.();
  }

  async read(into: Uint8Array): Promise<number | null> {
    while (this.#queue.length === 0) {
      if (this.#closed) return null;
      await new Promise<void>((resolve) => this.#waiting = resolve);
    }
    const head = this.#queue[0];
    const n = Math.min(into.length, head.length, this.chunk);
    into.set(head.subarray(0, n));
    if (n === head.length) this.#queue.shift();
    else this.#queue[0] = head.subarray(n);
    return n;
  }
}

/** Two ends of an in-memory connection. */
function connected(): { a: ByteStream; b: ByteStream; ab: Pipe; ba: Pipe } {
  const ab = new Pipe();
  const ba = new Pipe();
  const end = (inbox: Pipe, outbox: Pipe): ByteStream => ({
    read: (into) => inbox.read(into),
    write: (data) => {
      outbox.push(data);
      return Promise.resolve(data.length);
    },
    close: () => outbox.end(),
  });
  return { a: end(ba, ab), b: end(ab, ba), ab, ba };
}

const prologue = new TextEncoder().encode("p2p secret stream test");

async function open(
  a: ByteStream,
  b: ByteStream,
  psk?: [Uint8Array, Uint8Array],
) {
  const pattern = psk ? "NNpsk0" as const : "NN" as const;
  return await Promise.all([
    secretStream(a, {
      pattern,
      initiator: true,
      prologue,
      psk: psk?.[0],
      payload: Uint8Array.of(1),
    }),
    secretStream(b, {
      pattern,
      initiator: false,
      prologue,
      psk: psk?.[1],
      payload: Uint8Array.of(2),
    }),
  ]);
}

async function readAll(stream: ByteStream, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  for (let at = 0; at < n;) {
    const got = await stream.read(out.subarray(at));
    if (got === null) throw new Error(`ended after ${at} of ${n} bytes`);
    at += got;
  }
  return out;
}

Deno.test("a secret stream carries bytes both ways, in records, read one byte at a time or many records at once", async () => {
  const { a, b, ab } = connected();
  const [x, y] = await open(a, b);
  assertEquals([...x.remotePayload], [2]);
  assertEquals([...y.remotePayload], [1]);
  assertEquals(x.handshakeHash, y.handshakeHash);
  const big = new Uint8Array(3 * MAX_RECORD_PLAINTEXT + 123).map((_, i) =>
    (i * 31 + 7) & 0xff
  );
  await x.stream.write(big);
  assertEquals(await readAll(y.stream, big.length), big);
  ab.chunk = 1;
  await x.stream.write(Uint8Array.of(9, 8, 7));
  await x.stream.write(Uint8Array.of(6));
  assertEquals([...await readAll(y.stream, 4)], [9, 8, 7, 6]);
  await y.stream.write(Uint8Array.of(5));
  assertEquals([...await readAll(x.stream, 1)], [5]);
  x.stream.close();
  assertEquals(await y.stream.read(new Uint8Array(1)), null);
});

Deno.test("nothing readable crosses the wire after the handshake", async () => {
  const { a, b, ab } = connected();
  const seen: Uint8Array[] = [];
  ab.filter = (bytes) => {
    seen.push(bytes);
    return bytes;
  };
  const [x, y] = await open(a, b);
  const secret = new TextEncoder().encode("the secret file contents");
  await x.stream.write(secret);
  await readAll(y.stream, secret.length);
  const wire = new TextDecoder("latin1").decode(seen.at(-1));
  assert(!wire.includes("secret file"), wire);
});

for (
  const [what, filter] of [
    ["a flipped bit", (b: Uint8Array) => (b[5] ^= 1, b)],
    [
      "a record length under the tag",
      (_: Uint8Array) => Uint8Array.of(0, 3, 1, 2, 3),
    ],
  ] as const
) {
  Deno.test(`${what} makes the reader throw`, async () => {
    const { a, b, ab } = connected();
    const [x, y] = await open(a, b);
    ab.filter = filter;
    await x.stream.write(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    let failed = false;
    await y.stream.read(new Uint8Array(8)).catch(() => failed = true);
    assert(failed, "the altered record was read");
  });
}

Deno.test("a replayed or dropped record makes the reader throw", async () => {
  const { a, b, ab } = connected();
  const [x, y] = await open(a, b);
  let last: Uint8Array | undefined;
  ab.filter = (bytes) => (last = bytes);
  await x.stream.write(Uint8Array.of(1));
  assertEquals([...await readAll(y.stream, 1)], [1]);
  ab.push(last!); // the same record again
  let failed = false;
  await y.stream.read(new Uint8Array(1)).catch(() => failed = true);
  assert(failed, "replayed record was read");
  const second = connected();
  const [p, q] = await open(second.a, second.b);
  second.ab.filter = () => undefined; // dropped
  await p.stream.write(Uint8Array.of(1));
  second.ab.filter = (bytes) => bytes;
  await p.stream.write(Uint8Array.of(2));
  let dropped = false;
  await q.stream.read(new Uint8Array(1)).catch(() => dropped = true);
  assert(dropped, "a record after a dropped one was read");
});

Deno.test("a stream cut inside a record ends with an error, not short data", async () => {
  const { a, b, ab } = connected();
  const [x, y] = await open(a, b);
  ab.filter = (bytes) => bytes.subarray(0, bytes.length - 4);
  await x.stream.write(Uint8Array.of(1, 2, 3));
  x.stream.close();
  let failed = false;
  await y.stream.read(new Uint8Array(3)).catch(() => failed = true);
  assert(failed, "a cut record was read");
});

Deno.test("NNpsk0 with different keys does not complete; with the same key it does", async () => {
  const { a, b } = connected();
  const initiator = secretStream(a, {
    pattern: "NNpsk0",
    initiator: true,
    prologue,
    psk: crypto.getRandomValues(new Uint8Array(32)),
  });
  const responder = secretStream(b, {
    pattern: "NNpsk0",
    initiator: false,
    prologue,
    psk: crypto.getRandomValues(new Uint8Array(32)),
  });
  let refused = false;
  await responder.catch(() => refused = true);
  assert(refused, "the responder accepted another key");
  // The responder's side closes, as a server would; the initiator sees it.
  b.close();
  let ended = false;
  await initiator.catch(() => ended = true);
  assert(ended, "the initiator completed without the responder");
  const both = connected();
  const psk = crypto.getRandomValues(new Uint8Array(32));
  const [x, y] = await open(both.a, both.b, [psk, psk]);
  await x.stream.write(Uint8Array.of(4));
  assertEquals([...await readAll(y.stream, 1)], [4]);
});
