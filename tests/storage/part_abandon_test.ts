/**
 * `abandon()` of a download that saved nothing: a `.part` (file or folder)
 * this run made and wrote nothing into goes, with its record; one resumed
 * or written into stays, as `close()` keeps it; in a `.part` folder,
 * anything that is not the share's own empty files and folders stays.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { tempDir } from "../fixtures.ts";
import { PartFile, type PartIdentity } from "../../lib/storage/part_file.ts";
import { FolderPart } from "../../lib/storage/folder_part.ts";
import { sourceFolder, TOP } from "./_folder_fixture.ts";

const IDENTITY: PartIdentity = {
  id: "a".repeat(64),
  size: 8 * 16384,
  pieceSize: 16384,
  hashesDigest: "d".repeat(64),
};

async function names(dir: string): Promise<string[]> {
  const found = await Array.fromAsync(Deno.readDir(dir), (e) => e.name);
  return found.sort();
}

function open(dir: string): Promise<PartFile> {
  return PartFile.open({ dir, name: "a.bin", identity: IDENTITY });
}

Deno.test("PartFile.abandon removes a .part this run made and wrote nothing into, with its record", async () => {
  await using dir = await tempDir();
  const part = await open(dir.path);
  assertEquals(await names(dir.path), ["a.bin.part", "a.bin.part.json"]);
  assertEquals(part.abandon(), true);
  assertEquals(await names(dir.path), []);
});

Deno.test("PartFile.abandon keeps a .part written into, and a resumed one", async () => {
  await using dir = await tempDir();
  const part = await open(dir.path);
  part.write(16384, new Uint8Array(16384).fill(9));
  assertEquals(part.abandon(), false);
  assertEquals(await names(dir.path), ["a.bin.part", "a.bin.part.json"]);
  const resumed = await open(dir.path);
  assert(resumed.resumed);
  assertEquals(resumed.read(16384, 2), new Uint8Array([9, 9]));
  assertEquals(resumed.abandon(), false);
  assertEquals(await names(dir.path), ["a.bin.part", "a.bin.part.json"]);
});

Deno.test("FolderPart.abandon removes a .part folder this run made and wrote nothing into: the share's folders and empty files, and the record", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const out = join(dir.path, "out");
  const part = await FolderPart.open({ dir: out, meta: source.meta });
  assertEquals(await names(out), [`${TOP}.part`, `${TOP}.part.json`]);
  assertEquals(part.abandon(), true);
  assertEquals(await names(out), []);
});

Deno.test("FolderPart.abandon keeps a .part folder holding an entry someone put there, with its record", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const out = join(dir.path, "out");
  const part = await FolderPart.open({ dir: out, meta: source.meta });
  const note = join(part.partPath, "sub dir", "note.txt");
  await Deno.writeTextFile(note, "mine");
  assertEquals(part.abandon(), false);
  assertEquals(await Deno.readTextFile(note), "mine");
  assertEquals(await names(out), [`${TOP}.part`, `${TOP}.part.json`]);
});

Deno.test("FolderPart.abandon keeps a .part folder written into, and a resumed one", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const out = join(dir.path, "out");
  const part = await FolderPart.open({ dir: out, meta: source.meta });
  part.write(0, source.piece(0));
  assertEquals(part.abandon(), false);
  const resumed = await FolderPart.open({ dir: out, meta: source.meta });
  assert(resumed.resumed);
  assertEquals(resumed.abandon(), false);
  assertEquals(await names(out), [`${TOP}.part`, `${TOP}.part.json`]);
  const written = await Deno.lstat(join(out, `${TOP}.part`, "a.txt"));
  assert(written.size > 0);
});
