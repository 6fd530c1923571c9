import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  parsePieceSize,
  parseRate,
  parseSearchText,
  resolveTracker,
  resolveTrackers,
} from "../../lib/cli/args.ts";
import { parseFileId } from "../../lib/app/file_id.ts";
import { UsageError } from "../../lib/app/usage_error.ts";

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
  // KB and MB are powers of 1000, as rsync and GNU coreutils read them.
  assertEquals(parsePieceSize("256KB"), 256_000);
  assertEquals(parsePieceSize(" 1 MB "), 1_000_000);
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

Deno.test("parseRate() takes bytes a second with K, M or G in powers of 1024", () => {
  assertEquals(parseRate("1024"), 1024);
  assertEquals(parseRate("512K"), 512 * 1024);
  assertEquals(parseRate("16M"), 16 * 1024 ** 2);
  assertEquals(parseRate("16m"), 16 * 1024 ** 2);
  assertEquals(parseRate("1.5M"), 1.5 * 1024 ** 2);
  assertEquals(parseRate("2G"), 2 * 1024 ** 3);
  assertEquals(parseRate(" 4MiB "), 4 * 1024 ** 2);
  assertEquals(parseRate("4MiB/s"), 4 * 1024 ** 2);
});

Deno.test("parseRate() reads KB, MB and GB as powers of 1000, as rsync and GNU coreutils do", () => {
  assertEquals(parseRate("10MB"), 10_000_000);
  assertEquals(parseRate("4MB/s"), 4_000_000);
  assertEquals(parseRate("300kb"), 300_000);
  assertEquals(parseRate("1GB"), 1_000_000_000);
  assertEquals(parseRate("10Mb"), 10_000_000); // bytes: there are no bits
  assertEquals(parseRate("300KiB"), 300 * 1024);
});

Deno.test("parseRate() refuses numbers with spaces or anything else inside, in one sentence giving the units", () => {
  for (const text of ["1 0M", "300 K B", "3OOK", "300K x", "+300K", "0x100"]) {
    const error = assertThrows(
      () => parseRate(text, "--download-limit"),
      UsageError,
    );
    assertEquals(
      error.message,
      `Cannot use "${text}" for --download-limit: give bytes per second, at least 1K, with an optional K, M or G (powers of 1024; KB, MB and GB are powers of 1000), like 16M.`,
    );
  }
});

Deno.test("resolveTrackers() refuses a number where the tracker's address goes, in one sentence", () => {
  for (const text of ["5000", " 2", "10.0.0:5000"]) {
    const error = assertThrows(
      () => resolveTrackers({ flag: text }),
      UsageError,
    );
    assert(
      error.message.startsWith(
        `Cannot use "${text.trim()}" as a tracker's address:`,
      ),
      error.message,
    );
    assert(error.message.endsWith("(set by --tracker)."), error.message);
  }
  assertEquals(resolveTrackers({ flag: "10.0.0.5" }), [{
    host: "10.0.0.5",
    port: 5000,
  }]);
});

Deno.test("parseRate() refuses zero, tiny, negative and malformed rates in one sentence naming the flag", () => {
  for (
    const text of ["", "0", "1000", "0.5K", "-5M", "fast", "16X", "1T", "1e9"]
  ) {
    const error = assertThrows(
      () => parseRate(text, "--upload-limit"),
      UsageError,
    );
    assert(error.message.includes("--upload-limit"), error.message);
    assert(!error.message.includes("\n"), error.message);
  }
});

Deno.test("parseRate() refuses a rate over 1024G as too large, not too small", () => {
  assertEquals(parseRate("1024G"), 1024 ** 4);
  for (const text of ["1025G", "99999999999G"]) {
    const error = assertThrows(
      () => parseRate(text, "--download-limit"),
      UsageError,
    );
    assertEquals(
      error.message,
      `Cannot use "${text}" for --download-limit: the most it takes is 1024G; leave the flag out for no limit.`,
    );
  }
});

Deno.test("parseSearchText() refuses empty and blank text in one sentence pointing to list, and keeps any other text as typed", () => {
  for (const text of ["", " ", "  \t "]) {
    const error = assertThrows(() => parseSearchText(text), UsageError);
    assertEquals(
      error.message,
      "Give some text to search for, or use 'peer list' to see every file.",
    );
  }
  assertEquals(
    assertThrows(() => parseSearchText(" ", { listCommand: "list" }))
      .message,
    "Give some text to search for, or use 'list' to see every file.",
  );
  assertEquals(parseSearchText(" holiday "), " holiday ");
  assert(
    /over the limit of 256/.test(
      assertThrows(() => parseSearchText("x".repeat(257)), UsageError).message,
    ),
  );
});

Deno.test("resolveTrackers() names a comma left over in a list of trackers, not an empty address", () => {
  for (const text of ["127.0.0.1:5000,", ",10.0.0.5", "a:1,,b:2"]) {
    const error = assertThrows(
      () => resolveTrackers({ flag: text }),
      UsageError,
    );
    assertEquals(
      error.message,
      "--tracker has a comma with no tracker after or before it: give trackers as HOST:PORT,HOST:PORT.",
    );
  }
  const env = assertThrows(
    () => resolveTrackers({ env: "10.0.0.5:5000, " }),
    UsageError,
  );
  assert(env.message.startsWith("P2P_TRACKER has a comma"), env.message);
});

Deno.test("resolveTrackers() refuses several colons that are no IPv6 address, and takes IPv6 ones", () => {
  for (const text of ["bad:host:port", "a:b:c:5000", "::1::2"]) {
    const error = assertThrows(
      () => resolveTrackers({ flag: text }),
      UsageError,
    );
    assertEquals(
      error.message,
      `Cannot use "${text}" as a tracker's address: give HOST:PORT, like 10.0.0.5:5000, or an IPv6 address as [ADDRESS]:PORT (set by --tracker).`,
    );
  }
  assertEquals(resolveTrackers({ flag: "[::1]:7000" }), [{
    host: "::1",
    port: 7000,
  }]);
  assertEquals(resolveTrackers({ flag: "fe80::1" }), [{
    host: "fe80::1",
    port: 5000,
  }]);
});
