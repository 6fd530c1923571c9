import { assertEquals } from "../assert.ts";
import {
  FALLBACK_NAME,
  numberedName,
  safeFileName,
} from "../../lib/storage/safe_name.ts";

const encoder = new TextEncoder();

Deno.test("safeFileName() keeps ordinary names as they are", () => {
  for (
    const name of [
      "movie.mp4",
      "holiday photo.jpg",
      "Café Ünïcödé.txt",
      "🎉 party.png",
      "a b  c",
    ]
  ) {
    assertEquals(safeFileName(name), name);
  }
});

Deno.test("safeFileName() never yields a path or a hidden escape", () => {
  const cases: [string, string][] = [
    ["../../etc/passwd", ".._.._etc_passwd"],
    ["/etc/passwd", "_etc_passwd"],
    ["C:\\x", "C__x"],
    ["\\\\server\\share", "__server_share"],
    ["a:b", "a_b"],
    ["nul\u0000byte", "nul_byte"],
    ["\u001b[31mred", "_[31mred"],
    ["trailing. . ", "trailing"],
    ["", FALLBACK_NAME],
    [".", FALLBACK_NAME],
    ["..", FALLBACK_NAME],
    ["NUL", "_NUL"],
    ["con.txt", "_con.txt"],
    ["COM1.log", "_COM1.log"],
    ["evil\u202egnp.exe", "evilgnp.exe"],
  ];
  for (const [input, expected] of cases) {
    assertEquals(safeFileName(input), expected, JSON.stringify(input));
  }
});

Deno.test("safeFileName() cuts names over 255 bytes and keeps the extension", () => {
  const long = "é".repeat(300) + ".tar.gz";
  const safe = safeFileName(long);
  assertEquals(encoder.encode(safe).length <= 255, true);
  assertEquals(safe.endsWith(".gz"), true);
});

Deno.test("numberedName() adds a number before the extension", () => {
  assertEquals(numberedName("movie.mp4", 1), "movie (1).mp4");
  assertEquals(numberedName("x.tar.gz", 1), "x (1).tar.gz");
  assertEquals(numberedName("X.TAR.XZ", 2), "X (2).TAR.XZ");
  assertEquals(numberedName(".tar.gz", 1), ".tar (1).gz");
  assertEquals(numberedName("a.b.gz", 1), "a.b (1).gz");
  assertEquals(numberedName("README", 2), "README (2)");
  assertEquals(numberedName(".bashrc", 3), ".bashrc (3)");
});
