/**
 * Telling an unfinished download (`NAME.part` with its record) from the
 * user's own files, on real files: `unfinishedDownload()` and a folder
 * scan that leaves such downloads out with their records.
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { tempDir } from "../fixtures.ts";
import {
  progressOf,
  unfinishedDownload,
} from "../../lib/storage/unfinished_download.ts";
import { scanFolder } from "../../lib/storage/folder_scan.ts";

const SIZE = 4 * 1024 * 1024;

/** The record a file get writes beside its `.part` (`_part_record.ts`). */
function fileRecord(size = SIZE): string {
  return JSON.stringify({
    version: 1,
    id: "ab".repeat(32),
    size,
    pieceSize: 262144,
    hashesDigest: "cd".repeat(32),
  });
}

/** A sparse `.part` of SIZE bytes with its first `written` bytes written. */
async function partFile(path: string, written: number): Promise<void> {
  using file = await Deno.open(path, { write: true, createNew: true });
  await file.truncate(SIZE);
  await file.write(new Uint8Array(written).fill(1));
}

Deno.test("unfinishedDownload() knows a .part by its record, and how far it got", async () => {
  await using dir = await tempDir();
  const part = join(dir.path, "c.bin.part");
  await partFile(part, SIZE / 4);
  assertEquals(await unfinishedDownload(part), undefined, "no record yet");
  await Deno.writeTextFile(`${part}.json`, fileRecord());
  const found = await unfinishedDownload(part);
  assertEquals(found?.name, "c.bin");
  assertEquals(found?.record, `${part}.json`);
  // Sparse files: about a quarter is on disk (ext4, tmpfs, xfs…).
  if (found?.done !== undefined) {
    assert(found.done > 0.2 && found.done < 0.35, String(found.done));
    assertEquals(
      progressOf(found),
      ` (about ${Math.floor(found.done * 100)}% done)`,
    );
  }
  assertEquals(
    progressOf({ name: "c.bin", record: "", done: 0 }),
    " (nothing received yet)",
  );
  assertEquals(progressOf({ name: "c.bin", record: "" }), "");
});

Deno.test("unfinishedDownload() leaves alone a .part whose .part.json is not a record, and files not named .part", async () => {
  await using dir = await tempDir();
  const part = join(dir.path, "notes.part");
  await Deno.writeTextFile(part, "mine\n");
  for (const text of ["", "not json", '{"version":1,"id":"x"}', "[]"]) {
    await Deno.writeTextFile(`${part}.json`, text);
    assertEquals(await unfinishedDownload(part), undefined, text);
  }
  await Deno.remove(`${part}.json`);
  await Deno.mkdir(`${part}.json`);
  assertEquals(await unfinishedDownload(part), undefined, "a folder");
  const plain = join(dir.path, "c.bin");
  await Deno.writeTextFile(plain, "x");
  await Deno.writeTextFile(`${plain}.json`, fileRecord());
  assertEquals(await unfinishedDownload(plain), undefined);
  assertEquals(await unfinishedDownload(join(dir.path, ".part")), undefined);
});

Deno.test("unfinishedDownload() knows a folder download's .part folder by its record, given with a trailing slash too", async () => {
  await using dir = await tempDir();
  const part = join(dir.path, "album.part");
  await Deno.mkdir(part);
  await Deno.writeTextFile(
    `${part}.json`,
    JSON.stringify({ ...JSON.parse(fileRecord()), kind: "folder" }),
  );
  for (const given of [part, `${part}/`]) {
    const found = await unfinishedDownload(given);
    assertEquals(found?.name, "album");
    assertEquals(found?.done, undefined);
  }
});

Deno.test("scanFolder() leaves out unfinished downloads with their records, at any depth, and keeps a .part without one", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "dl");
  const deep = join(root, "sub");
  await Deno.mkdir(deep, { recursive: true });
  await partFile(join(root, "c.bin.part"), 1000);
  await Deno.writeTextFile(join(root, "c.bin.part.json"), fileRecord());
  await Deno.mkdir(join(deep, "album.part"));
  await Deno.writeTextFile(join(deep, "album.part", "one.bin"), "1");
  await Deno.writeTextFile(
    join(deep, "album.part.json"),
    JSON.stringify({ ...JSON.parse(fileRecord()), kind: "folder" }),
  );
  await Deno.writeTextFile(join(root, "notes.part"), "mine\n");
  await Deno.writeTextFile(join(root, "keep.txt"), "kept\n");
  const scanned = await scanFolder(root);
  const real = await Deno.realPath(root);
  assertEquals(
    scanned.files.map((file) => file.entryPath.join("/")).sort(),
    ["keep.txt", "notes.part"],
  );
  assertEquals(
    scanned.skipped.map((
      entry,
    ) => [entry.path.slice(real.length + 1), entry.reason]),
    [
      ["c.bin.part", scanned.skipped[0].reason],
      ["c.bin.part.json", "record of the unfinished download c.bin.part"],
      ["sub/album.part", "unfinished download"],
      ["sub/album.part.json", "record of the unfinished download album.part"],
    ],
  );
  assert(
    /^unfinished download( \(.*\))?$/.test(scanned.skipped[0].reason),
    scanned.skipped[0].reason,
  );
});
