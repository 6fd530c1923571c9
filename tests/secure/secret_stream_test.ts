import { assert, assertEquals } from "../assert.ts";
import {
  acceptSecretStream,
  type ByteStream,
  HandshakeRefusedError,
  MAX_RECORD_PLAINTEXT,
  openSecretStream,
  PlainPeerError,
  PREAMBLE_BYTES,
  type SecretStream,
  SECURE_MAGIC,
  SECURE_VERSION,
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

async function open(
  a: ByteStream,
  b: ByteStream,
  psk?: [Uint8Array, Uint8Array],
): Promise<[SecretStream, SecretStream]> {
  const [x, y] = await Promise.all([
    openSecretStream(a, { psk: psk?.[0] }),
    acceptSecretStream(b, { keys: () => psk ? [{ psk: psk[1] }] : [] }),
  ]);
  return [x, y.stream];
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
  const big = new Uint8Array(3 * MAX_RECORD_PLAINTEXT + 123).map((_, i) =>
    (i * 31 + 7) & 0xff
  );
  await x.write(big);
  assertEquals(await readAll(y, big.length), big);
  ab.chunk = 1;
  await x.write(Uint8Array.of(9, 8, 7));
  await x.write(Uint8Array.of(6));
  assertEquals([...await readAll(y, 4)], [9, 8, 7, 6]);
  await y.write(Uint8Array.of(5));
  assertEquals([...await readAll(x, 1)], [5]);
  x.close();
  assertEquals(await y.read(new Uint8Array(1)), null);
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
  await x.write(secret);
  await readAll(y, secret.length);
  const wire = new TextDecoder("latin1").decode(seen.at(-1));
  assert(!wire.includes("secret file"), wire);
});

for (
  const [what, filter] of [
    ["a flipped bit", (b: Uint8Array) => (b[5] ^= 1, b)],
    [
      "a record length under the tag",
      (_: Uint8Array) => Uint8Array.of(0, 0, 0, 3, 1, 2, 3),
    ],
    [
      "a record length over the most a record may hold",
      (_: Uint8Array) => Uint8Array.of(0x7f, 0, 0, 0, 1, 2, 3),
    ],
  ] as const
) {
  Deno.test(`${what} makes the reader throw`, async () => {
    const { a, b, ab } = connected();
    const [x, y] = await open(a, b);
    ab.filter = filter;
    await x.write(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    let failed = false;
    await y.read(new Uint8Array(8)).catch(() => failed = true);
    assert(failed, "the altered record was read");
  });
}

Deno.test("a replayed or dropped record makes the reader throw", async () => {
  const { a, b, ab } = connected();
  const [x, y] = await open(a, b);
  let last: Uint8Array | undefined;
  ab.filter = (bytes) => (last = bytes);
  await x.write(Uint8Array.of(1));
  assertEquals([...await readAll(y, 1)], [1]);
  ab.push(last!); // the same record again
  let failed = false;
  await y.read(new Uint8Array(1)).catch(() => failed = true);
  assert(failed, "replayed record was read");
  const second = connected();
  const [p, q] = await open(second.a, second.b);
  second.ab.filter = () => undefined; // dropped
  await p.write(Uint8Array.of(1));
  second.ab.filter = (bytes) => bytes;
  await p.write(Uint8Array.of(2));
  let dropped = false;
  await q.read(new Uint8Array(1)).catch(() => dropped = true);
  assert(dropped, "a record after a dropped one was read");
});

Deno.test("a stream cut inside a record ends with an error, not short data", async () => {
  const { a, b, ab } = connected();
  const [x, y] = await open(a, b);
  ab.filter = (bytes) => bytes.subarray(0, bytes.length - 4);
  await x.write(Uint8Array.of(1, 2, 3));
  x.close();
  let failed = false;
  await y.read(new Uint8Array(3)).catch(() => failed = true);
  assert(failed, "a cut record was read");
});

Deno.test("NNpsk0 with another key is refused before anything else is sent; with the same key it completes", async () => {
  const { a, b } = connected();
  const initiator = openSecretStream(a, {
    psk: crypto.getRandomValues(new Uint8Array(32)),
  });
  const responder = acceptSecretStream(b, {
    keys: () => [{ psk: crypto.getRandomValues(new Uint8Array(32)) }],
  });
  const [opened, accepted] = await Promise.allSettled([initiator, responder]);
  assertRefused(opened, "unknown-key");
  assertRefused(accepted, "unknown-key");
  const both = connected();
  const psk = crypto.getRandomValues(new Uint8Array(32));
  const other = crypto.getRandomValues(new Uint8Array(32));
  const [x, y] = await Promise.all([
    openSecretStream(both.a, { psk }),
    acceptSecretStream(both.b, {
      keys: () => [{ psk: other, name: "other" }, { psk, name: "right" }],
    }),
  ]);
  assertEquals(y.key?.name, "right");
  await x.write(Uint8Array.of(4));
  assertEquals([...await readAll(y.stream, 1)], [4]);
});

Deno.test("a side that requires a key refuses NN, and tells the other side why", async () => {
  const { a, b } = connected();
  const [opened, accepted] = await Promise.allSettled([
    openSecretStream(a),
    acceptSecretStream(b, { requireKey: true }),
  ]);
  assertRefused(opened, "key-required");
  assertRefused(accepted, "key-required");
});

Deno.test("a side that takes no key answers NNpsk0 with status 4 (no-key-expected) before reading its message, and still accepts NN; a side without that option and no keys answers unknown-key", async () => {
  const { a, b, ab, ba } = connected();
  // Only the preamble crosses: the answer must not wait for the message.
  ab.filter = (bytes) => bytes.subarray(0, PREAMBLE_BYTES);
  const answers: Uint8Array[] = [];
  ba.filter = (bytes) => (answers.push(bytes), bytes);
  const psk = crypto.getRandomValues(new Uint8Array(32));
  const [opened, accepted] = await Promise.allSettled([
    openSecretStream(a, { psk }),
    acceptSecretStream(b, { noKeyExpected: true }),
  ]);
  assertRefused(opened, "no-key-expected");
  assertRefused(accepted, "no-key-expected");
  assertEquals([...answers[0]], [...SECURE_MAGIC, SECURE_VERSION, 4]);

  const plain = connected();
  const [x, y] = await Promise.all([
    openSecretStream(plain.a),
    acceptSecretStream(plain.b, { noKeyExpected: true }),
  ]);
  assertEquals(y.key, undefined);
  await x.write(Uint8Array.of(7));
  assertEquals([...await readAll(y.stream, 1)], [7]);

  // A peer's server: it holds no key now, but a private share may need
  // one, so a getter must not learn which (unknown-key, as for a wrong key).
  for (const options of [{}, { keys: () => [] }]) {
    const peer = connected();
    const [keyed, served] = await Promise.allSettled([
      openSecretStream(peer.a, { psk }),
      acceptSecretStream(peer.b, options),
    ]);
    assertRefused(keyed, "unknown-key");
    assertRefused(served, "unknown-key");
  }
});

Deno.test("a plain-protocol peer is recognised on either side", async () => {
  const { a, b } = connected();
  // An old client's first frame: a 4-byte length, then JSON.
  await a.write(Uint8Array.of(0, 0, 0, 2, 0x7b, 0x7d));
  let error: unknown;
  await acceptSecretStream(b).catch((e) => error = e);
  assert(error instanceof PlainPeerError, String(error));
  const second = connected();
  const opening = openSecretStream(second.a);
  // An old server answers with a plain error frame.
  await second.b.write(Uint8Array.of(0, 0, 0, 2, 0x7b, 0x7d));
  error = undefined;
  await opening.catch((e) => error = e);
  assert(error instanceof PlainPeerError, String(error));
});

Deno.test("a changed mode or version in the preamble fails the handshake", async () => {
  const { a, b, ab } = connected();
  ab.filter = (bytes) => (bytes[4] = 9, bytes);
  const [opened, accepted] = await Promise.allSettled([
    openSecretStream(a),
    acceptSecretStream(b),
  ]);
  assertRefused(opened, "version");
  assertRefused(accepted, "version");
  const second = connected();
  // NN claimed as NNpsk0: the prologue differs, so the message does not open.
  second.ab.filter = (bytes) => (bytes[5] = 1, bytes);
  const [, keyed] = await Promise.allSettled([
    openSecretStream(second.a),
    acceptSecretStream(second.b, {
      keys: () => [{ psk: new Uint8Array(32) }],
    }),
  ]);
  assertRefused(keyed, "unknown-key");
});

function assertRefused(
  result: PromiseSettledResult<unknown>,
  reason: string,
): void {
  assert(result.status === "rejected", "the handshake completed");
  const error = result.reason;
  assert(error instanceof HandshakeRefusedError, String(error));
  assertEquals(error.reason, reason);
}

Deno.test("overlapping writes are refused (the record buffer is reused), and records larger than the last still arrive whole", async () => {
  const { a, b } = connected();
  const [x, y] = await open(a, b);
  const first = x.write(new Uint8Array(10));
  let overlapped = false;
  await x.write(new Uint8Array(1)).catch(() => overlapped = true);
  await first;
  assert(overlapped, "a second write ran while the first was under way");
  const big = new Uint8Array(MAX_RECORD_PLAINTEXT + 5).map((_, i) => i & 0xff);
  await x.write(big);
  assertEquals((await readAll(y, 10)).length, 10);
  assertEquals(await readAll(y, big.length), big);
});

Deno.test("compact secret streams carry small and large records both ways, one after another", async () => {
  const { a, b } = connected();
  const [x, y] = await Promise.all([
    openSecretStream(a, { compact: true }),
    acceptSecretStream(b, { compact: true }).then((accepted) =>
      accepted.stream
    ),
  ]);
  const large = new Uint8Array(2 * MAX_RECORD_PLAINTEXT + 77).map((_, i) =>
    (i * 13 + 5) & 0xff
  );
  const small = Uint8Array.of(1, 2, 3);
  for (const data of [small, large, small, large, small]) {
    await x.write(data);
    assertEquals(await readAll(y, data.length), data);
    await y.write(data);
    assertEquals(await readAll(x, data.length), data);
  }
});

/** The accepting side's stream and every record the other side writes, as bytes. */
async function pushPair(): Promise<
  { x: SecretStream; y: SecretStream; wire: () => Uint8Array }
> {
  const { a, b, ab } = connected();
  const [x, y] = await open(a, b);
  let sent: Uint8Array[] = [];
  ab.filter = (bytes) => {
    sent.push(bytes);
    return undefined;
  };
  const wire = () => {
    const out = new Uint8Array(sent.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const chunk of sent) {
      out.set(chunk, (at += chunk.length) - chunk.length);
    }
    sent = [];
    return out;
  };
  return { x, y, wire };
}

/** Pushes `bytes` in pieces of `step` and opens every record that completes. */
function pushAll(
  stream: SecretStream,
  bytes: Uint8Array,
  step: number,
): number[] {
  const plain: number[] = [];
  for (let at = 0; at < bytes.length; at += step) {
    stream.push(bytes.subarray(at, at + step));
    for (let record; (record = stream.openNext()) !== undefined;) {
      plain.push(...record);
    }
  }
  return plain;
}

Deno.test("a pushed secret stream opens records pushed a byte at a time, several in one push, and holds nothing between", async () => {
  for (const step of [1, 7, 1 << 20]) {
    const { x, y, wire } = await pushPair();
    await x.write(Uint8Array.of(1, 2, 3));
    await x.write(Uint8Array.of(4));
    await x.write(new Uint8Array(70_000).fill(9));
    const plain = pushAll(y, wire(), step);
    assertEquals(plain.length, 4 + 70_000);
    assertEquals(plain.slice(0, 5), [1, 2, 3, 4, 9]);
    assertEquals(y.holding, 0);
    assertEquals(y.openNext(), undefined);
  }
});

Deno.test("a pushed secret stream keeps a record begun when the pusher reuses its read buffer, as a socket reader does", async () => {
  for (const step of [1, 7, 100, 512]) {
    const { x, y, wire } = await pushPair();
    const sent = [Uint8Array.of(1, 2, 3), new Uint8Array(700).fill(5), [9]]
      .map((bytes) => Uint8Array.from(bytes));
    for (const bytes of sent) await x.write(bytes);
    const bytes = wire();
    // One buffer, read into again once the stream has opened what it could
    // (and scribbled over in between): what it lent must have been copied.
    const chunk = new Uint8Array(step);
    const plain: number[] = [];
    for (let at = 0; at < bytes.length; at += step) {
      const part = bytes.subarray(at, at + step);
      chunk.set(part);
      y.push(chunk.subarray(0, part.length));
      for (let record; (record = y.openNext()) !== undefined;) {
        plain.push(...record);
      }
      chunk.fill(0xee);
    }
    assertEquals(plain, sent.flatMap((bytes) => [...bytes]), `step ${step}`);
    assertEquals(y.holding, 0);
  }
});

Deno.test("a pushed secret stream refuses a record length out of bounds from its prefix, and a tampered record", async () => {
  const { y } = await pushPair();
  y.push(Uint8Array.of(0x7f, 0, 0, 0));
  let refused = false;
  try {
    y.openNext();
  } catch (error) {
    refused = error instanceof RangeError;
  }
  assert(refused, "an oversize record length was accepted");
  const second = await pushPair();
  await second.x.write(Uint8Array.of(1, 2, 3));
  const bytes = second.wire();
  bytes[6] ^= 1;
  second.y.push(bytes);
  let failed = false;
  try {
    second.y.openNext();
  } catch {
    failed = true;
  }
  assert(failed, "a tampered record was opened");
});
