/**
 * Framing in memory: a byte reader made from arrays of chunks (`tests/_chunk_reader.ts`),
 * no sockets. Each chunk is handed out by exactly one read, so the chunk
 * boundaries are the read boundaries.
 *
 * @module
 */

import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../assert.ts";
import {
  COMPACT_BUFFER_BYTES,
  encodeFrame,
  encodeFrameHead,
  type Frame,
  FrameReader,
  parseFrameJson,
} from "../../lib/protocol/frame.ts";
import { MAX_BINARY_BYTES, MAX_JSON_BYTES } from "../../lib/protocol/limits.ts";
import { concat } from "../_hostile.ts";
import { ChunkReader } from "../_chunk_reader.ts";

/** Largest buffer the reader may ask for while rejecting a frame. */
const SMALL = 64 * 1024;

const encoder = new TextEncoder();

/** Splits `bytes` into chunks of the given sizes, the rest in a last chunk. */
function split(bytes: Uint8Array, ...sizes: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const size of sizes) {
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  chunks.push(bytes.subarray(at));
  return chunks;
}

function oneBytePerChunk(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

/** A raw frame: prefix with `length`, then `body` as given. */
function rawFrame(length: number, body: Uint8Array | string = ""): Uint8Array {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, length);
  out.set(bytes, 4);
  return out;
}

/** A frame whose prefix matches its JSON text exactly, plus `binary`. */
function jsonFrame(json: string, binary = new Uint8Array(0)): Uint8Array {
  const bytes = encoder.encode(json);
  return concat(rawFrame(bytes.length, bytes), binary);
}

async function readAll(chunks: Uint8Array[]): Promise<Frame[]> {
  const reader = new FrameReader(new ChunkReader(chunks));
  const frames: Frame[] = [];
  for (;;) {
    const frame = await reader.read();
    if (frame === null) return frames;
    frames.push(frame);
  }
}

function pattern(length: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
}

function assertFrame(
  frame: Frame | null | undefined,
  header: Record<string, unknown>,
  binary: Uint8Array,
): void {
  assert(frame, "Expected a frame");
  assertEquals(frame.header, header);
  assertEquals(frame.binary.length, binary.length, "binary length");
  assert(
    frame.binary.every((byte, i) => byte === binary[i]),
    "binary bytes differ",
  );
}

Deno.test("encodeFrame writes a big-endian JSON length, the JSON, then the binary part", () => {
  const bytes = encodeFrame(
    { type: "piece", index: 3 },
    new Uint8Array([9, 8]),
  );
  const json = '{"type":"piece","index":3,"binary":2}';
  assertEquals(
    bytes,
    concat(rawFrame(json.length, json), new Uint8Array([9, 8])),
  );
});

Deno.test("encodeFrame with no or an empty binary part writes no binary field", () => {
  const json = '{"type":"ok"}';
  assertEquals(encodeFrame({ type: "ok" }), rawFrame(json.length, json));
  assertEquals(
    encodeFrame({ type: "ok" }, new Uint8Array(0)),
    rawFrame(json.length, json),
  );
});

Deno.test("encodeFrameHead refuses a JSON part over MAX_JSON_BYTES", () => {
  const header = { type: "search", text: "x".repeat(MAX_JSON_BYTES) };
  assertThrows(() => encodeFrameHead(header), RangeError);
});

Deno.test("FrameReader reads a frame split across two reads at every byte boundary", async () => {
  const cases: [Record<string, unknown>, Uint8Array][] = [
    [{ type: "hello", id: "ab" }, new Uint8Array(0)],
    [{ type: "piece", index: 1 }, pattern(37)],
  ];
  for (const [header, binary] of cases) {
    const bytes = encodeFrame(header, binary);
    const expected = binary.length
      ? { ...header, binary: binary.length }
      : header;
    for (let cut = 1; cut < bytes.length; cut++) {
      const frames = await readAll(split(bytes, cut));
      assertEquals(frames.length, 1, `cut at ${cut}`);
      assertFrame(frames[0], expected, binary);
    }
  }
});

Deno.test("FrameReader reads two back-to-back frames cut at every pair of boundaries", async () => {
  const a = encodeFrame({ type: "piece", index: 0 }, pattern(5, 1));
  const b = encodeFrame({ type: "ok" });
  const bytes = concat(a, b);
  for (let first = 1; first < bytes.length - 1; first++) {
    for (let second = 1; first + second < bytes.length; second += 3) {
      const frames = await readAll(split(bytes, first, second));
      assertEquals(frames.length, 2, `cuts at ${first}, +${second}`);
      assertFrame(
        frames[0],
        { type: "piece", index: 0, binary: 5 },
        pattern(5, 1),
      );
      assertFrame(frames[1], { type: "ok" }, new Uint8Array(0));
    }
  }
});

Deno.test("FrameReader reads frames delivered one byte per read", async () => {
  const bytes = concat(
    encodeFrame({ type: "piece", index: 7 }, pattern(20)),
    encodeFrame({ type: "list" }),
  );
  const frames = await readAll(oneBytePerChunk(bytes));
  assertEquals(frames.length, 2);
  assertFrame(frames[0], { type: "piece", index: 7, binary: 20 }, pattern(20));
  assertFrame(frames[1], { type: "list" }, new Uint8Array(0));
});

Deno.test("FrameReader reads several frames, with and without binary parts, from one read", async () => {
  const parts: [Record<string, unknown>, Uint8Array][] = [];
  for (let i = 0; i < 50; i++) {
    parts.push([
      { type: "piece", index: i },
      pattern(i % 3 === 0 ? 0 : i * 11, i),
    ]);
  }
  const bytes = concat(...parts.map(([h, b]) => encodeFrame(h, b)));
  const reader = new ChunkReader([bytes]);
  const frameReader = new FrameReader(reader);
  for (const [header, binary] of parts) {
    const expected = binary.length
      ? { ...header, binary: binary.length }
      : header;
    assertFrame(await frameReader.read(), expected, binary);
  }
  assertEquals(await frameReader.read(), null);
  assertEquals(reader.reads, 2, "one read for all frames, one for the end");
});

Deno.test("FrameReader reads a large binary part split across many reads of odd sizes", async () => {
  const binary = pattern(3 * 1024 * 1024 + 17);
  const bytes = concat(
    encodeFrame({ type: "piece", index: 2 }, binary),
    encodeFrame({ type: "ok" }),
  );
  const chunks: Uint8Array[] = [];
  for (
    let at = 0, size = 1;
    at < bytes.length;
    at += size, size = size * 3 % 9973 + 1
  ) {
    chunks.push(bytes.subarray(at, at + size));
  }
  assert(chunks.length > 500, `only ${chunks.length} chunks`);
  const frames = await readAll(chunks);
  assertEquals(frames.length, 2);
  assertFrame(
    frames[0],
    { type: "piece", index: 2, binary: binary.length },
    binary,
  );
  assertFrame(frames[1], { type: "ok" }, new Uint8Array(0));
});

Deno.test("FrameReader accepts an explicit binary field of 0 as no binary part", async () => {
  const frames = await readAll([
    jsonFrame('{"type":"ok","binary":0}'),
    encodeFrame({ type: "list" }),
  ]);
  assertEquals(frames.length, 2);
  assertFrame(frames[0], { type: "ok", binary: 0 }, new Uint8Array(0));
});

Deno.test("FrameReader returns null on a clean end of stream between frames, and again after", async () => {
  const empty = new FrameReader(new ChunkReader([]));
  assertEquals(await empty.read(), null);
  assertEquals(await empty.read(), null);
  const reader = new FrameReader(
    new ChunkReader([encodeFrame({ type: "ok" })]),
  );
  assert(await reader.read());
  assertEquals(await reader.read(), null);
  assertEquals(await reader.read(), null);
});

Deno.test("FrameReader calls onStart once the first byte of a frame arrived, never at a clean end", async () => {
  const reader = new FrameReader(
    new ChunkReader([encodeFrame({ type: "ok" })]),
  );
  let starts = 0;
  assert(await reader.read({ onStart: () => starts++ }));
  assertEquals(starts, 1);
  assertEquals(await reader.read({ onStart: () => starts++ }), null);
  assertEquals(starts, 1);
});

Deno.test("FrameReader throws UnexpectedEof when the stream ends inside the length prefix", async () => {
  const bytes = encodeFrame({ type: "ok" });
  for (let cut = 1; cut < 4; cut++) {
    const reader = new FrameReader(
      new ChunkReader(oneBytePerChunk(bytes.subarray(0, cut))),
    );
    await assertRejects(() => reader.read(), Deno.errors.UnexpectedEof);
  }
});

Deno.test("FrameReader throws UnexpectedEof when the stream ends inside the JSON part", async () => {
  const bytes = encodeFrame({ type: "hello", id: "abc" });
  for (let cut = 4; cut < bytes.length; cut++) {
    const reader = new FrameReader(new ChunkReader([bytes.subarray(0, cut)]));
    await assertRejects(() => reader.read(), Deno.errors.UnexpectedEof);
  }
});

Deno.test("FrameReader throws UnexpectedEof when the stream ends inside the binary part", async () => {
  const bytes = encodeFrame({ type: "piece", index: 0 }, pattern(100));
  const head = bytes.length - 100;
  for (const cut of [head, head + 1, head + 50, bytes.length - 1]) {
    const reader = new FrameReader(
      new ChunkReader(split(bytes.subarray(0, cut), head + 1)),
    );
    await assertRejects(() => reader.read(), Deno.errors.UnexpectedEof);
  }
});

Deno.test("FrameReader rejects JSON lengths 0, 0x80000000, 0xFFFFFFFF and MAX_JSON_BYTES + 1 from the prefix alone", async () => {
  for (const length of [0, 0x80000000, 0xffffffff, MAX_JSON_BYTES + 1]) {
    // Only the prefix arrives: a reader that waited for the body would get
    // UnexpectedEof, not RangeError.
    const source = new ChunkReader([rawFrame(length)]);
    await assertRejects(
      () => new FrameReader(source).read(),
      RangeError,
      String(length),
    );
    assert(
      source.largestRequest <= SMALL,
      `asked for ${source.largestRequest} bytes`,
    );
  }
});

Deno.test("FrameReader accepts a JSON part of exactly MAX_JSON_BYTES", async () => {
  const skeleton = '{"type":"search","text":""}';
  const json = skeleton.replace(
    '""',
    `"${"x".repeat(MAX_JSON_BYTES - skeleton.length)}"`,
  );
  assertEquals(encoder.encode(json).length, MAX_JSON_BYTES);
  const frames = await readAll(split(jsonFrame(json), 1000, 30000));
  assertEquals(frames.length, 1);
  assertEquals(
    (frames[0].header.text as string).length,
    MAX_JSON_BYTES - skeleton.length,
  );
});

Deno.test("FrameReader rejects a binary field that is negative, fractional, a string, 1e400 or not a number", async () => {
  for (
    const value of [
      "-1",
      "1.5",
      '"7"',
      "1e400",
      "-1e400",
      "null",
      "true",
      "[]",
      "{}",
      "9007199254740992",
    ]
  ) {
    const source = new ChunkReader([
      jsonFrame(`{"type":"piece","binary":${value}}`),
    ]);
    await assertRejects(
      () => new FrameReader(source).read(),
      TypeError,
      '"binary"',
    );
    assert(
      source.largestRequest <= SMALL,
      `asked for ${source.largestRequest} bytes`,
    );
  }
});

Deno.test("FrameReader rejects a binary part over MAX_BINARY_BYTES before allocating it", async () => {
  for (
    const value of [MAX_BINARY_BYTES + 1, 2 ** 32, Number.MAX_SAFE_INTEGER]
  ) {
    const source = new ChunkReader([
      jsonFrame(`{"type":"piece","binary":${value}}`),
    ]);
    await assertRejects(
      () => new FrameReader(source).read(),
      RangeError,
      String(value),
    );
    assert(
      source.largestRequest <= SMALL,
      `asked for ${source.largestRequest} bytes`,
    );
  }
});

Deno.test("FrameReader applies custom limits, accepting exactly the limit", async () => {
  const limits = { maxJsonBytes: 100, maxBinaryBytes: 10 };
  const atLimit = encodeFrame({ type: "piece" }, pattern(10));
  const frames: Frame[] = [];
  const reader = new FrameReader(new ChunkReader([atLimit]), limits);
  frames.push((await reader.read())!);
  assertEquals(frames[0].binary.length, 10);
  await assertRejects(
    () =>
      new FrameReader(
        new ChunkReader([encodeFrame({ type: "piece" }, pattern(11))]),
        limits,
      ).read(),
    RangeError,
  );
  await assertRejects(
    () => new FrameReader(new ChunkReader([rawFrame(101)]), limits).read(),
    RangeError,
  );
});

Deno.test("FrameReader rejects a JSON part that is not valid UTF-8", async () => {
  const bodies = [
    new Uint8Array([0x7b, 0xff, 0x7d]), // {\xff}
    concat(
      encoder.encode('{"a":"'),
      new Uint8Array([0xc3]),
      encoder.encode('"}'),
    ), // cut sequence
    concat(
      encoder.encode('{"a":"'),
      new Uint8Array([0xed, 0xa0, 0x80]),
      encoder.encode('"}'),
    ), // surrogate
    concat(
      encoder.encode('{"a":"'),
      new Uint8Array([0xc0, 0xaf]),
      encoder.encode('"}'),
    ), // overlong "/"
  ];
  for (const body of bodies) {
    await assertRejects(
      () =>
        new FrameReader(new ChunkReader([rawFrame(body.length, body)])).read(),
      SyntaxError,
    );
  }
});

Deno.test("FrameReader rejects bad JSON", async () => {
  for (
    const json of [
      "{",
      '{"a":}',
      "{'a':1}",
      '{"a":1}x',
      "NaN",
      "{a:1}",
      '{"a":1,}',
      " ",
    ]
  ) {
    await assertRejects(
      () => new FrameReader(new ChunkReader([jsonFrame(json)])).read(),
      SyntaxError,
    );
  }
});

Deno.test("FrameReader rejects JSON that is null, an array, a string or a number instead of an object", async () => {
  for (const json of ["null", "[]", '[{"type":"ok"}]', '"ok"', "7", "true"]) {
    await assertRejects(
      () => new FrameReader(new ChunkReader([jsonFrame(json)])).read(),
      TypeError,
      "not an object",
    );
  }
});

Deno.test("FrameReader survives arrays nested 100,000 levels deep", async () => {
  const depth = 100_000;
  const json = `{"type":"x","a":${"[".repeat(depth)}${"]".repeat(depth)}}`;
  const limits = { maxJsonBytes: json.length };
  const reader = new FrameReader(new ChunkReader([jsonFrame(json)]), limits);
  try {
    const frame = await reader.read();
    assertEquals(frame?.header.type, "x");
  } catch (error) {
    assert(
      error instanceof SyntaxError || error instanceof RangeError,
      String(error),
    );
  }
});

Deno.test("FrameReader survives the deepest nesting that fits in MAX_JSON_BYTES", async () => {
  const depth = Math.floor((MAX_JSON_BYTES - 20) / 2);
  for (const open of ["[", '{"a":']) {
    const close = open === "[" ? "]" : "}";
    const levels = open === "[" ? depth : Math.floor(depth / 3.5);
    const json = `{"t":${open.repeat(levels)}1${close.repeat(levels)}}`;
    assert(json.length <= MAX_JSON_BYTES, `${json.length} bytes`);
    try {
      const frame = await new FrameReader(new ChunkReader([jsonFrame(json)]))
        .read();
      assert(frame?.header.t !== undefined);
    } catch (error) {
      assert(
        error instanceof SyntaxError || error instanceof RangeError,
        String(error),
      );
    }
  }
  // Unbalanced: as deep as the limit allows, then cut short.
  await assertRejects(
    () =>
      new FrameReader(new ChunkReader([jsonFrame("[".repeat(MAX_JSON_BYTES))]))
        .read(),
    SyntaxError,
  );
});

Deno.test("__proto__ and constructor keys stay plain data and pollute no prototype", async () => {
  const json =
    '{"type":"ok","__proto__":{"polluted":true,"type":"evil"},"constructor":{"prototype":{"polluted":true}},"nested":{"__proto__":{"polluted":true}}}';
  const frame = await new FrameReader(new ChunkReader([jsonFrame(json)]))
    .read();
  assert(frame);
  const header = frame.header;
  assertEquals(header.type, "ok");
  assertEquals(Object.getPrototypeOf(header), Object.prototype);
  assert(Object.hasOwn(header, "__proto__"), "__proto__ is an own key");
  assertEquals((header as { polluted?: unknown }).polluted, undefined);
  assertEquals(({} as { polluted?: unknown }).polluted, undefined);
  assertEquals(
    (Object.prototype as { polluted?: unknown }).polluted,
    undefined,
  );
  const nested = header.nested as Record<string, unknown>;
  assertEquals(Object.getPrototypeOf(nested), Object.prototype);
  assertEquals((nested as { polluted?: unknown }).polluted, undefined);
  // Copying the header (as encodeFrame does) keeps it an own key too.
  const copy = parseFrameJson(encodeFrame(header).subarray(4));
  assertEquals(Object.getPrototypeOf(copy), Object.prototype);
  assertEquals(({} as { polluted?: unknown }).polluted, undefined);
});

Deno.test("a compact FrameReader waits with a small buffer, grows for a large frame, and reads small ones after it, split or together", async () => {
  const small = jsonFrame('{"type":"a"}');
  const large = jsonFrame(`{"type":"b","pad":"${"x".repeat(5000)}"}`);
  const bytes = concat(small, large, small, small);
  for (
    const chunks of [split(bytes, 3, 20, 4000), [bytes], oneBytePerChunk(bytes)]
  ) {
    const source = new ChunkReader(chunks);
    const reader = new FrameReader(source, { compact: true });
    const frames: Frame[] = [];
    for (let frame; (frame = await reader.read()) !== null;) frames.push(frame);
    assertEquals(frames.map((frame) => frame.header.type), [
      "a",
      "b",
      "a",
      "a",
    ]);
    assert(
      source.largestRequest < SMALL,
      `asked for ${source.largestRequest} bytes`,
    );
  }
  // While idle it reads into no more than its compact buffer.
  const idle = new ChunkReader([small]);
  await new FrameReader(idle, { compact: true }).read();
  assert(idle.largestRequest <= COMPACT_BUFFER_BYTES, `${idle.largestRequest}`);
});
