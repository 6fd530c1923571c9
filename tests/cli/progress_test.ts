import { assert, assertEquals } from "../assert.ts";
import {
  describe,
  formatBarLine,
  ProgressLine,
  type ProgressWriter,
} from "../../lib/cli/progress.ts";
import { widthOf } from "../../lib/cli/_fit.ts";

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

/** A download half done of a long name, as the prompt labels it. */
const LONG_GET = {
  label: "#1 getting holiday-photos-2024-summer-vacation.tar.gz",
  done: 9 * 1024 * 1024,
  total: 20 * 1024 * 1024,
  bytesPerSecond: 3 * 1024 * 1024,
  peers: 2,
  routes: { relayed: 1 },
};

Deno.test("formatBarLine() keeps a long name's start and extension on an 80-column terminal, leaving out the least useful numbers first", () => {
  const line = formatBarLine(LONG_GET, { columns: 80 });
  assert(widthOf(line) <= 79, `${widthOf(line)} columns: ${line}`);
  assert(line.startsWith("[#####-------] #1 getting hol"), line);
  assert(line.includes("…") && line.includes(".tar.gz  45.0%"), line);
  assert(line.includes("3.0 MiB/s") && line.includes("ETA 4s"), line);
  assert(!line.includes("relayed") && !line.includes("9.0 MiB /"), line);
  // Room for everything: nothing is cut.
  const wide = formatBarLine(LONG_GET, { columns: 200 });
  assert(
    wide.endsWith(
      "#1 getting holiday-photos-2024-summer-vacation.tar.gz  45.0%  9.0 MiB / 20.0 MiB  3.0 MiB/s  ETA 4s  2 peers (1 relayed)",
    ),
    wide,
  );
});

Deno.test("formatBarLine() fits a narrow terminal, dropping the bar when there is no room for it", () => {
  for (const columns of [12, 20, 30, 44, 50, 60]) {
    const line = formatBarLine(LONG_GET, { columns });
    assert(widthOf(line) <= columns - 1, `${columns}: ${line}`);
    assert(line.includes("#1"), `${columns}: ${line}`);
  }
  assert(formatBarLine(LONG_GET, { columns: 60 }).startsWith("[#####"));
  assert(formatBarLine(LONG_GET, { columns: 40 }).startsWith("#1 getting"));
});

Deno.test("formatBarLine() counts wide characters as two columns and keeps a note after the shortened name", () => {
  const line = formatBarLine({
    ...LONG_GET,
    label: "写真アルバム二〇二四年夏休み旅行の記録.zip",
    note: "waiting for peers",
    peers: 0,
  }, { columns: 80 });
  assert(widthOf(line) <= 79, `${widthOf(line)} columns: ${line}`);
  assert(line.includes("…"), line);
  assert(line.includes(".zip: waiting for peers  45.0%"), line);
});

Deno.test("describe() never shows 100.0% before the last byte is in (a folder missing one tiny file's piece)", () => {
  const total = 3_000_004;
  const text = describe({ label: "dir2", done: total - 2, total, peers: 1 }, 0);
  assert(text.startsWith("dir2  99.9%  "), text);
  const done = describe({ label: "dir2", done: total, total, peers: 1 }, 0);
  assert(done.startsWith("dir2  100.0%  "), done);
});

Deno.test("describe() gives no ETA while no peer is connected (waiting for peers), whatever the recent speed", () => {
  const text = describe(
    {
      label: "solo.bin",
      done: 2_300_000,
      total: 6_000_000,
      peers: 0,
      note: "waiting for peers",
    },
    400 * 1024,
  );
  assert(text.includes("ETA --  0 peers"), text);
});
