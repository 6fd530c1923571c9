/** The page's own escaping (format.js) matches the terminal's (terminalSafe). */

import { assertEquals } from "../assert.ts";
import { terminalSafe } from "../../lib/util/terminal_safe.ts";
import { safeText } from "../../lib/web/static/format.js";

Deno.test("web: safeText() of the page escapes exactly what terminalSafe() does", () => {
  const samples = [
    "\u202etxt.exe",
    "a\u061cb\u200e\u200f\u2066\u2069\u202a",
    "zero\u200bwidth\u2060\ufeff\u00ad",
    "\u0000\u001b[2J\u007f\u009b",
    "line\u2028para\u2029",
    "tag\u{e0041}",
    "café 日本 🎉 👩‍💻 🏳️‍🌈 a\u200db",
  ];
  for (const text of samples) {
    assertEquals(safeText(text), terminalSafe(text), JSON.stringify(text));
  }
  assertEquals(safeText("\u202etxt.exe"), "\\u202etxt.exe");
  assertEquals(safeText("café 日本 🎉 👩‍💻"), "café 日本 🎉 👩‍💻");
});
