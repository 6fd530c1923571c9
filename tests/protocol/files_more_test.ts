/**
 * The optional `more` of a `files` answer: how many files a tracker left
 * out to fit one frame. Old answers without it still parse.
 */

import { assertEquals, assertThrows } from "../assert.ts";
import { type Frame, parseFrameJson } from "../../lib/protocol/frame.ts";
import { fromFrame, toFrame } from "../../lib/protocol/messages.ts";

const ID = "ab".repeat(32);
const FILE = { id: ID, name: "a.bin", size: 5, peers: 1 };

/** The frame a peer would read for JSON `text` (no binary part). */
function frameOf(text: string): Frame {
  return {
    header: parseFrameJson(new TextEncoder().encode(text)),
    binary: new Uint8Array(0),
  };
}

Deno.test("a files answer carries more through toFrame and fromFrame", () => {
  const message = { type: "files" as const, files: [FILE], more: 98 };
  assertEquals(toFrame(message).header.more, 98);
  assertEquals(fromFrame(toFrame(message)), message);
});

Deno.test("an old-style files answer without more still parses, with no more", () => {
  const parsed = fromFrame(
    frameOf(`{"type":"files","files":[${JSON.stringify(FILE)}]}`),
  );
  assertEquals(parsed, { type: "files", files: [FILE] });
  assertEquals("more" in parsed, false);
});

Deno.test("fromFrame refuses a more that is not a count", () => {
  for (const more of ["-1", "1.5", '"3"', "null", "9007199254740992"]) {
    assertThrows(() =>
      fromFrame(frameOf(`{"type":"files","files":[],"more":${more}}`))
    );
  }
});
