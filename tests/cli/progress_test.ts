import { assert, assertEquals } from "../assert.ts";
import {
  describe,
  ProgressLine,
  type ProgressWriter,
} from "../../lib/cli/progress.ts";

function recorder(terminal: boolean): ProgressWriter & { text: () => string } {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  return {
    writeSync(bytes: Uint8Array) {
      chunks.push(decoder.decode(bytes));
      return bytes.length;
    },
    isTerminal: () => terminal,
    text: () => chunks.join(""),
  };
}

Deno.test("describe() shows percent, bytes, speed, ETA and peers", () => {
  const text = describe(
    { label: "a.bin", done: 512 * 1024, total: 1024 * 1024, peers: 2 },
    256 * 1024,
  );
  assertEquals(
    text,
    "a.bin  50.0%  512 KiB / 1.0 MiB  256 KiB/s  ETA 2s  2 peers",
  );
});

Deno.test("describe() says how many peers came other than straight, by way", () => {
  const text = describe(
    {
      label: "a.bin",
      done: 512 * 1024,
      total: 1024 * 1024,
      peers: 4,
      routes: { punched: 1, relayed: 2, mapped: 0 },
    },
    256 * 1024,
  );
  assertEquals(
    text,
    "a.bin  50.0%  512 KiB / 1.0 MiB  256 KiB/s  ETA 2s  4 peers (1 punched, 2 relayed)",
  );
});

Deno.test("ProgressLine redraws a terminal line at most ten times a second", () => {
  let now = 0;
  const writer = recorder(true);
  const line = new ProgressLine({
    writer,
    color: false,
    now: () => now,
    columns: () => 120,
  });
  for (let i = 0; i < 100; i++) {
    now += 10; // 100 updates over one second
    line.update({ label: "x", done: i, total: 1000 });
  }
  const draws = writer.text().split("\r").filter(Boolean).length;
  assert(draws >= 9 && draws <= 11, `drew ${draws} times`);
  assert(!writer.text().includes("\n"), "a live line never prints a newline");
  line.clear();
  assert(writer.text().endsWith("\r\x1b[2K"));
});

Deno.test("ProgressLine prints plain lines only every few seconds off a terminal", () => {
  let now = 0;
  const writer = recorder(false);
  const line = new ProgressLine({ writer, now: () => now });
  for (let i = 0; i <= 1000; i++) {
    now += 10; // ten seconds in all
    line.update({ label: "x", done: i, total: 1000 });
  }
  const lines = writer.text().trim().split("\n");
  assertEquals(lines.length, 2);
  assert(!writer.text().includes("\r") && !writer.text().includes("\x1b"));
});

Deno.test("ProgressLine escapes the label and writes nothing when quiet", () => {
  const writer = recorder(true);
  new ProgressLine({ writer, color: false, columns: () => 200 })
    .update({ label: "evil\u001b]0;x\u0007", done: 1, total: 2 });
  assert(writer.text().includes("evil\\x1b]0;x\\x07"), writer.text());
  const quiet = recorder(true);
  new ProgressLine({ writer: quiet, quiet: true }).update({
    label: "x",
    done: 1,
    total: 2,
  });
  assertEquals(quiet.text(), "");
});

Deno.test("ProgressLine shortens a long name before the numbers on a narrow terminal", () => {
  const writer = recorder(true);
  new ProgressLine({ writer, color: false, columns: () => 80 })
    .update({ label: "a very long file name ".repeat(5), done: 1, total: 4 });
  const text = writer.text().replace("\r\x1b[2K", "");
  assert([...text].length <= 80, `${[...text].length} chars: ${text}`);
  assert(
    text.includes("…") && text.includes("25.0%") && text.includes("ETA"),
    text,
  );
});
