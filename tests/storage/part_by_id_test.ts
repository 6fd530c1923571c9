/**
 * A download resumes an earlier run's `.part` (file or folder) of the same
 * file found by its record when it was begun under another name, saving
 * under the name asked for now; a `.part` of anything else, or one another
 * download holds, is never taken; at most MAX_RECORDS_LOOKED_AT records
 * are read.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { tempDir } from "../fixtures.ts";
import { PartFile, type PartIdentity } from "../../lib/storage/part_file.ts";
import { FolderPart } from "../../lib/storage/folder_part.ts";
import {
  MAX_RECORDS_LOOKED_AT,
  partsByRecord,
} from "../../lib/storage/_part_by_id.ts";
import { PIECE, sameTree, sourceFolder, TOP } from "./_folder_fixture.ts";

const SIZE = 4 * 16384;

function identity(changes: Partial<PartIdentity> = {}): PartIdentity {
  return {
    id: "a".repeat(64),
    size: SIZE,
    pieceSize: 16384,
    hashesDigest: "d".repeat(64),
    ...changes,
  };
}

/** Starts a download of `name` in `dir`, writes `byte` into its first piece, and stops it. */
async function begun(
  dir: string,
  name: string,
  id: PartIdentity = identity(),
  byte = 7,
): Promise<string> {
  const part = await PartFile.open({ dir, name, identity: id });
  part.write(0, new Uint8Array(16384).fill(byte));
  const { partPath } = part;
  part.close();
  return partPath;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("PartFile.open resumes an earlier run's .part of the same file under another name and saves it under the name asked for", async () => {
  await using dir = await tempDir();
  const earlier = await begun(dir.path, "f3.bin");
  const part = await PartFile.open({
    dir: dir.path,
    name: "f3copy.bin",
    identity: identity(),
  });
  assertEquals(part.resumed, true);
  assertEquals(part.partPath, earlier);
  assertEquals(part.name, "f3copy.bin");
  assertEquals(part.read(0, 3), new Uint8Array([7, 7, 7]));
  const saved = await part.commit();
  assertEquals(saved, join(dir.path, "f3copy.bin"));
  assert(!await exists(earlier));
  assert(!await exists(earlier + ".json"));
  assert(!await exists(join(dir.path, "f3copy.bin.part")));
});

Deno.test("PartFile.open never resumes by its record a .part of another file, nor of the same ID with another piece size or piece hashes", async () => {
  await using dir = await tempDir();
  const others = [
    await begun(dir.path, "other.bin", identity({ id: "b".repeat(64) })),
    await begun(dir.path, "small.bin", identity({ pieceSize: 8192 })),
    await begun(dir.path, "variant.bin", identity({ hashesDigest: "e" })),
  ];
  const before = await Promise.all(others.map((path) => Deno.readFile(path)));
  const part = await PartFile.open({
    dir: dir.path,
    name: "f3.bin",
    identity: identity(),
  });
  try {
    assertEquals(part.resumed, false);
    assertEquals(part.partPath, join(dir.path, "f3.bin.part"));
  } finally {
    part.close();
  }
  for (const [i, path] of others.entries()) {
    assertEquals(await Deno.readFile(path), before[i]);
    assert(await exists(path + ".json"));
  }
});

Deno.test("PartFile.open resumes the .part of its own name before one of the same file under another name", async () => {
  await using dir = await tempDir();
  await begun(dir.path, "a.bin", identity(), 1);
  const own = await begun(dir.path, "b.bin", identity(), 2);
  const part = await PartFile.open({
    dir: dir.path,
    name: "b.bin",
    identity: identity(),
  });
  try {
    assertEquals(part.partPath, own);
    assertEquals(part.read(0, 1), new Uint8Array([2]));
  } finally {
    part.close();
  }
});

Deno.test("PartFile.open passes over a .part of the same file that another download holds, and makes its own", async () => {
  await using dir = await tempDir();
  const held = await PartFile.open({
    dir: dir.path,
    name: "a.bin",
    identity: identity(),
  });
  try {
    const part = await PartFile.open({
      dir: dir.path,
      name: "b.bin",
      identity: identity(),
    });
    try {
      assertEquals(part.resumed, false);
      assertEquals(part.partPath, join(dir.path, "b.bin.part"));
    } finally {
      part.close();
    }
  } finally {
    held.close();
  }
});

Deno.test("no more than MAX_RECORDS_LOOKED_AT resume records are read in a folder full of them", async () => {
  await using dir = await tempDir();
  const record = JSON.stringify({ version: 1, ...identity() });
  for (let i = 0; i < MAX_RECORDS_LOOKED_AT + 20; i++) {
    await Deno.writeTextFile(join(dir.path, `p${i}.part`), "");
    await Deno.writeTextFile(join(dir.path, `p${i}.part.json`), record);
  }
  let read = 0;
  const found = await partsByRecord(dir.path, {
    partSuffix: ".part",
    recordSuffix: ".json",
    maxBytes: 4096,
    matches: () => ++read > 0,
  });
  assertEquals(read, MAX_RECORDS_LOOKED_AT);
  assertEquals(found.length, MAX_RECORDS_LOOKED_AT);
});

Deno.test("FolderPart.open resumes an earlier run's .part folder of the same folder saved under another name (-o), and saves under the new one", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const out = join(dir.path, "out");
  const first = await FolderPart.open({ dir: out, meta: source.meta });
  first.write(0, source.piece(0));
  const earlier = first.partPath;
  first.close();
  const part = await FolderPart.open({
    dir: out,
    meta: source.meta,
    name: "renamed",
  });
  let saved: string;
  try {
    assertEquals(part.resumed, true);
    assertEquals(part.partPath, earlier);
    assertEquals(part.read(0, PIECE), source.piece(0));
    for (let i = 1; i < source.layout.pieces; i++) {
      part.write(i * PIECE, source.piece(i));
    }
    saved = await part.commit();
  } finally {
    part.close();
  }
  assertEquals(saved, join(out, "renamed"));
  assertEquals(await sameTree(source, saved), []);
  assertEquals(
    (await Array.fromAsync(Deno.readDir(out))).map((e) => e.name),
    ["renamed"],
  );
  assert(!await exists(join(out, `${TOP}.part`)));
});
