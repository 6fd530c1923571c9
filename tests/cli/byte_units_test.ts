import { assertEquals } from "../assert.ts";
import { parseByteCount, unitsHelp } from "../../lib/cli/byte_units.ts";
import { parseQuota } from "../../lib/cli/relay.ts";

Deno.test("parseByteCount() reads K, M, G and KiB, MiB, GiB as powers of 1024, KB, MB, GB as powers of 1000", () => {
  const cases: [string, number][] = [
    ["512", 512],
    ["512B", 512],
    ["300K", 300 * 1024],
    ["300k", 300 * 1024],
    ["300KiB", 300 * 1024],
    ["300Ki", 300 * 1024],
    ["300KB", 300_000],
    ["10M", 10 * 1024 ** 2],
    ["10MiB", 10 * 1024 ** 2],
    ["10MB", 10_000_000],
    ["10mb", 10_000_000],
    ["2G", 2 * 1024 ** 3],
    ["2GB", 2_000_000_000],
    ["1.5M", 1.5 * 1024 ** 2],
    [" 10 MB ", 10_000_000],
  ];
  for (const [text, bytes] of cases) {
    assertEquals(parseByteCount(text), bytes, text);
  }
});

Deno.test("parseByteCount() is NaN for spaces inside a number, other units or letters, and what its options leave out", () => {
  for (
    const text of ["", "K", "1 0", "10 M B", "10X", "10Kbit", "-5", "1e3", "5."]
  ) {
    assertEquals(parseByteCount(text), NaN, text);
  }
  assertEquals(parseByteCount("1T"), NaN);
  assertEquals(parseByteCount("1T", { units: "KMGT" }), 1024 ** 4);
  assertEquals(parseByteCount("1TB", { units: "KMGT" }), 1e12);
  assertEquals(parseByteCount("1.5M", { fractions: false }), NaN);
  assertEquals(parseByteCount("4M/s"), NaN);
  assertEquals(parseByteCount("4MB/s", { perSecond: true }), 4_000_000);
});

Deno.test("unitsHelp() names the units in one phrase", () => {
  assertEquals(
    unitsHelp(),
    "K, M or G (powers of 1024; KB, MB and GB are powers of 1000)",
  );
  assertEquals(
    unitsHelp("KMGT"),
    "K, M, G or T (powers of 1024; KB, MB, GB and TB are powers of 1000)",
  );
});

Deno.test("tracker --relay-quota reads GB as a power of 1000 and G as one of 1024", () => {
  assertEquals(parseQuota("4G"), 4 * 1024 ** 3);
  assertEquals(parseQuota("4GB"), 4_000_000_000);
  assertEquals(parseQuota("1T"), 1024 ** 4);
});
