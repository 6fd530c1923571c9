import { assert, assertEquals } from "../assert.ts";
import {
  formatDuration,
  formatFileTable,
  formatSavedSize,
  formatShared,
  formatSize,
  formatSpeed,
  toJsonLine,
} from "../../lib/cli/format.ts";
import { shortId } from "../../lib/app/file_id.ts";
import { terminalSafe } from "../../lib/util/terminal_safe.ts";
import { folderLayoutOf } from "../../lib/protocol/folder_layout.ts";
import { stoppedSharing } from "../../lib/cli/share.ts";
import { folderMeta } from "../_folder_meta.ts";

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

Deno.test("formatSize() uses binary units", () => {
  assertEquals(formatSize(0), "0 B");
  assertEquals(formatSize(1023), "1023 B");
  assertEquals(formatSize(1536), "1.5 KiB");
  assertEquals(formatSize(1024 * 1024 - 1), "1.0 MiB");
  assertEquals(formatSize(1024 * 1023.4), "1023 KiB");
  assertEquals(formatSize(1024 ** 3 - 1), "1.0 GiB");
  assertEquals(formatSize(20 * 1024 * 1024), "20.0 MiB");
  assertEquals(formatSize(300 * 1024 ** 3), "300 GiB");
  assertEquals(formatSpeed(3 * 1024 * 1024), "3.0 MiB/s");
});

Deno.test("formatDuration() reads naturally and says -- when unknown", () => {
  assertEquals(formatDuration(400), "0s");
  assertEquals(formatDuration(45_000), "45s");
  assertEquals(formatDuration(185_000), "3m 05s");
  assertEquals(formatDuration(7_380_000), "2h 03m");
  assertEquals(formatDuration(Infinity), "--");
});

Deno.test("terminalSafe() lets no control character or escape through", () => {
  assertEquals(terminalSafe("plain café 🎉.txt"), "plain café 🎉.txt");
  assertEquals(terminalSafe("a\u001b[2Jb"), "a\\x1b[2Jb");
  assertEquals(terminalSafe("x\ry\n"), "x\\x0dy\\x0a");
  assertEquals(terminalSafe("\u009b31m"), "\\x9b31m");
  assertEquals(terminalSafe("evil\u202egnp.exe"), "evil\\u202egnp.exe");
  for (let code = 0; code < 0x20; code++) {
    assert(!CONTROL.test(terminalSafe(String.fromCharCode(code))));
  }
});

Deno.test("toJsonLine() stays valid JSON with terminal-unsafe characters escaped", () => {
  const value = { name: "a\u001b\u009b\u202eb" };
  const line = toJsonLine(value);
  assert(!CONTROL.test(line) && !line.includes("\u202e"), line);
  assertEquals(JSON.parse(line), value);
});

Deno.test("formatFileTable() aligns columns and escapes names", () => {
  const rows = formatFileTable([
    {
      id: "a".repeat(64),
      name: "one\u001b.txt",
      size: 1536,
      peers: 2,
      partial: 0,
    },
    { id: "b".repeat(64), name: "two", size: 5, peers: 10, partial: 0 },
  ]);
  assertEquals(rows, [
    "ID                   SIZE  PEERS       NAME",
    "aaaaaaaaaaaaaaaa  1.5 KiB  2 sharers   one\\x1b.txt",
    "bbbbbbbbbbbbbbbb      5 B  10 sharers  two",
  ]);
  assertEquals(formatFileTable([]), ["No files."]);
  assertEquals(shortId("c".repeat(64)), "c".repeat(16));
});

Deno.test("formatFileTable() shows whole copies and partial holders apart: 2 sharers, 3 getting", () => {
  const file = { name: "f", size: 5 };
  const rows = formatFileTable([
    { ...file, id: "a".repeat(64), peers: 5, partial: 3 },
    { ...file, id: "b".repeat(64), peers: 1, partial: 0 },
    { ...file, id: "c".repeat(64), peers: 2, partial: 2 },
    // From a tracker that cannot tell them apart: all count as sharers.
    { ...file, id: "d".repeat(64), peers: 4 },
  ]);
  assertEquals(rows, [
    "ID                SIZE  PEERS                 NAME",
    "aaaaaaaaaaaaaaaa   5 B  2 sharers, 3 getting  f",
    "bbbbbbbbbbbbbbbb   5 B  1 sharer              f",
    "cccccccccccccccc   5 B  0 sharers, 2 getting  f",
    "dddddddddddddddd   5 B  4 sharers             f",
  ]);
});

Deno.test("formatFileTable() shows more of the IDs of files whose first 16 characters match, so no two rows look alike", () => {
  const short = "53705745af68cc85";
  const file = { name: "b.bin", size: 300_000, peers: 1 };
  const rows = formatFileTable([
    { ...file, id: short + "8e".repeat(24) },
    { ...file, id: "ff".repeat(32), name: "other" },
    { ...file, id: short + "80".repeat(24) },
  ]);
  assertEquals(rows, [
    `${"ID".padEnd(18)}     SIZE  PEERS     NAME`,
    `${short}8e  293 KiB  1 sharer  b.bin`,
    "ffffffffffffffff    293 KiB  1 sharer  other",
    `${short}80  293 KiB  1 sharer  b.bin`,
  ]);
});

Deno.test("formatSavedSize and formatShared say a folder's file count; a file's just its size", () => {
  const file = {
    id: "ab".repeat(32),
    name: "a.bin",
    size: 1024 * 1024,
    pieceSize: 262_144,
    pieceHashes: new Uint8Array(4 * 32),
  };
  assertEquals(formatSavedSize(file), "1.0 MiB");
  assertEquals(formatShared(file), "a.bin (1.0 MiB)");
  const folder = folderMeta();
  const files = folderLayoutOf(folder)!.files.length;
  assertEquals(
    formatSavedSize(folder),
    `${files} files, ${formatSize(folder.size)}`,
  );
  assertEquals(
    formatShared(folder),
    `${folder.name}/ (${files} files, ${formatSize(folder.size)})`,
  );
});

Deno.test("stoppedSharing() says what to do only for a file that changed", () => {
  assertEquals(
    stoppedSharing("m.bin", '"/d/m.bin" was modified since it was shared'),
    'Stopped sharing m.bin: "/d/m.bin" was modified since it was shared. Share it again once it stops changing.',
  );
  assertEquals(
    stoppedSharing("m.bin", '"/d/m.bin" was deleted since it was shared'),
    'Stopped sharing m.bin: "/d/m.bin" was deleted since it was shared.',
  );
  assertEquals(
    stoppedSharing(
      "tree",
      '"/d/tree/a" was modified since it was shared; share the folder again',
    ),
    'Stopped sharing tree: "/d/tree/a" was modified since it was shared; share the folder again.',
  );
});
