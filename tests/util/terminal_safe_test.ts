import { assertEquals } from "../assert.ts";
import { quoteSafe, terminalSafe } from "../../lib/util/terminal_safe.ts";

Deno.test("quoteSafe() escapes as terminalSafe() does, and the quote and backslash too", () => {
  assertEquals(quoteSafe("a\tb"), '"a\\x09b"');
  assertEquals(quoteSafe("a\u001b[2Jb"), '"a\\x1b[2Jb"');
  assertEquals(quoteSafe("invoice\u202efdp.exe"), '"invoice\\u202efdp.exe"');
  assertEquals(quoteSafe('say "hi"'), '"say \\"hi\\""');
  assertEquals(quoteSafe("x\\y"), '"x\\\\y"');
  assertEquals(quoteSafe("写真 👩‍💻.jpg"), '"写真 👩‍💻.jpg"');
  // Printed, it is shown as it is.
  assertEquals(terminalSafe(quoteSafe("a\tb")), quoteSafe("a\tb"));
});

Deno.test("terminalSafe() escapes a lone surrogate instead of letting it show as U+FFFD", () => {
  assertEquals(terminalSafe("\ud800x"), "\\ud800x");
  assertEquals(terminalSafe("x\udc00"), "x\\udc00");
  assertEquals(terminalSafe("😀"), "😀");
});
