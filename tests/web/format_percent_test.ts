/** The page's percent matches the terminal's progress line: rounded down. */

import { assertEquals } from "../assert.ts";
import { formatPercent } from "../../lib/web/static/format.js";

Deno.test("the page never shows 100.0% before the last byte is in, as the terminal does not", () => {
  const total = 3_000_004;
  assertEquals(formatPercent(total - 2, total), "99.9%");
  assertEquals(formatPercent(total, total), "100.0%");
  assertEquals(formatPercent(1, 3), "33.3%");
  assertEquals(formatPercent(1, 10_000), "0.0%");
  assertEquals(formatPercent(2, 3), "66.6%");
  assertEquals(formatPercent(0, 0), "100.0%");
});
