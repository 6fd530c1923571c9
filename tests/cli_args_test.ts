import { assert, assertEquals, assertThrows } from "./assert.ts";
import {
  parseFileId,
  parsePieceSize,
  resolveTracker,
  UsageError,
} from "../lib/cli_args.ts";

Deno.test("parseFileId() lower-cases full IDs and 16+ hex prefixes", () => {
  assertEquals(parseFileId("ABCDEF0123456789"), "abcdef0123456789");
  assertEquals(parseFileId("f".repeat(64)), "f".repeat(64));
  assertEquals(parseFileId(" 0123456789abcdef00 "), "0123456789abcdef00");
});

Deno.test("parseFileId() refuses short, long and non-hex IDs in one sentence", () => {
  for (
    const text of [
      "",
      "abc",
      "0123456789abcde",
      "z".repeat(16),
      "a".repeat(65),
      "\u001b[2J0123456789abcdef",
    ]
  ) {
    const error = assertThrows(() => parseFileId(text), UsageError);
    assert(!error.message.includes("\n"), error.message);
    assert(!error.message.includes("\u001b"), error.message);
  }
});

Deno.test("parsePieceSize() takes bytes or units within the limits", () => {
  assertEquals(parsePieceSize("262144"), 262144);
  assertEquals(parsePieceSize("256K"), 262144);
  assertEquals(parsePieceSize("1M"), 1048576);
  assertEquals(parsePieceSize("1MiB"), 1048576);
  for (const text of ["1K", "1G", "abc", "-5", "1.5M"]) {
    assertThrows(() => parsePieceSize(text), UsageError);
  }
});

Deno.test("resolveTracker() prefers --tracker, then P2P_TRACKER, then the default", () => {
  assertEquals(resolveTracker({ flag: "a:1", env: "b:2" }), {
    host: "a",
    port: 1,
  });
  assertEquals(resolveTracker({ env: "b" }), { host: "b", port: 5000 });
  assertEquals(resolveTracker({ env: " " }), { host: "127.0.0.1", port: 5000 });
  assertEquals(resolveTracker({}), { host: "127.0.0.1", port: 5000 });
  const error = assertThrows(() => resolveTracker({ env: "x:y" }), UsageError);
  assert(error.message.includes("P2P_TRACKER"), error.message);
});
