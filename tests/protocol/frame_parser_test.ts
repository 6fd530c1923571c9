/**
 * The push frame parser in memory: frames split at every byte, several in
 * one push, binary parts, and every limit refused as soon as its length is
 * in.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "../assert.ts";
import { encodeFrame, type Frame } from "../../lib/protocol/frame.ts";
import { FrameParser } from "../../lib/protocol/frame_parser.ts";
import { concat } from "../_hostile.ts";

/** Pushes `bytes` in pieces of `step`, collecting every whole frame. */
function parseAll(parser: FrameParser, bytes: Uint8Array, step: number) {
  const frames: Frame[] = [];
  for (let at = 0; at < bytes.length; at += step) {
    parser.push(bytes.subarray(at, at + step));
    for (let frame; (frame = parser.next()) !== undefined;) frames.push(frame);
  }
  return frames;
}

Deno.test("FrameParser cuts frames pushed a byte at a time or several at once, binary parts included, and holds nothing between", () => {
  const data = Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff);
  const bytes = concat(
    encodeFrame({ type: "query", id: "a" }),
    encodeFrame({ type: "piece", index: 2 }, data),
    encodeFrame({ type: "list" }),
  );
  for (const step of [1, 3, 100, bytes.length]) {
    const parser = new FrameParser();
    const frames = parseAll(parser, bytes, step);
    assertEquals(frames.map((f) => f.header.type), ["query", "piece", "list"]);
    assertEquals(frames[1].binary, data);
    assertEquals(frames[0].binary.length, 0);
    assertEquals(parser.holding, 0);
  }
});

Deno.test("FrameParser says a frame has begun once its first byte is in", () => {
  const parser = new FrameParser();
  assertEquals(parser.holding, 0);
  const frame = encodeFrame({ type: "list" });
  parser.push(frame.subarray(0, 1));
  assertEquals(parser.next(), undefined);
  assert(parser.holding > 0);
  parser.push(frame.subarray(1));
  assertEquals(parser.next()?.header, { type: "list" });
  assertEquals(parser.holding, 0);
});

Deno.test("FrameParser refuses a JSON length of 0 or over the limit from the prefix alone", () => {
  for (const prefix of [[0, 0, 0, 0], [0xff, 0xff, 0xff, 0xff]]) {
    const parser = new FrameParser();
    parser.push(Uint8Array.from(prefix));
    assertThrows(() => parser.next(), RangeError);
  }
  const small = new FrameParser({ maxJsonBytes: 10 });
  small.push(Uint8Array.of(0, 0, 0, 11));
  assertThrows(() => small.next(), RangeError);
});

Deno.test("FrameParser refuses a binary part over the limit, or the one its header allows, before holding it", () => {
  const big = new FrameParser({ maxBinaryBytes: 100 });
  big.push(encodeFrame({ type: "piece" }, new Uint8Array(101)).subarray(0, 40));
  assertThrows(() => big.next(), RangeError);
  const narrowed = new FrameParser({
    binaryLimit: (header) => header.type === "piece" ? 10 : 0,
  });
  narrowed.push(encodeFrame({ type: "piece" }, new Uint8Array(10)));
  assertEquals(narrowed.next()?.binary.length, 10);
  narrowed.push(encodeFrame({ type: "list" }, new Uint8Array(1)));
  assertThrows(() => narrowed.next(), RangeError);
});

Deno.test("FrameParser refuses JSON that is not valid, not an object, or a bad binary length", () => {
  const cases: [Uint8Array, ErrorConstructor][] = [
    [
      concat(Uint8Array.of(0, 0, 0, 3), new TextEncoder().encode("{no")),
      SyntaxError,
    ],
    [
      concat(Uint8Array.of(0, 0, 0, 2), new TextEncoder().encode("[]")),
      TypeError,
    ],
    [encodeFrame({ type: "x", binary: -1 }), TypeError],
  ];
  for (const [bytes, type] of cases) {
    const parser = new FrameParser();
    parser.push(bytes);
    assertThrows(() => parser.next(), type);
  }
});
