import { assertEquals } from "../assert.ts";
import { distinctPrefixes } from "../../lib/util/distinct_prefixes.ts";

Deno.test("distinctPrefixes() cuts each text to the least, or one past what it shares with another", () => {
  assertEquals(distinctPrefixes(["abcd12", "abcd34", "ffff00"], 2), [
    "abcd1",
    "abcd3",
    "ff",
  ]);
  assertEquals(distinctPrefixes(["ab", "abcd12"], 2), ["ab", "abc"]);
  assertEquals(distinctPrefixes([], 16), []);
});

Deno.test("distinctPrefixes() keeps equal texts equal and lengthens each as far as its nearest look-alike needs", () => {
  assertEquals(
    distinctPrefixes(["aaaa1", "aaaa1", "aab", "aaaa2"], 1),
    ["aaaa1", "aaaa1", "aab", "aaaa2"],
  );
  assertEquals(distinctPrefixes(["x1", "y1", "x2"], 1), ["x1", "y", "x2"]);
});
