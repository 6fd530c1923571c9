/**
 * What a `.part` download leaves when its record cannot be written (a
 * full disk), and how a later run deals with what an earlier one left:
 * its record's temporary files, and a `.part` left without its record.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { requiring, runQuietly, tempDir } from "../fixtures.ts";
import { PartFile, type PartIdentity } from "../../lib/storage/part_file.ts";

function identity(size: number): PartIdentity {
  return { id: "a".repeat(64), size, pieceSize: 16384, hashesDigest: "d" };
}

async function namesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** What an earlier run's record write leaves when it stops short. */
const TEMP = "c.part.json.0b7e3f3c-5d2a-4c1e-9a8b-6f0e2d4c8a10.tmp";

/** Names of ours at a glance, that are not a record's temporary file. */
const NOT_TEMPS = [
  "c.part.json.nope.tmp",
  "c.part.json.0B7E3F3C-5D2A-4C1E-9A8B-6F0E2D4C8A10.tmp",
  "c.part.json.0b7e3f3c-5d2a-4c1e-9a8b-6f0e2d4c8a10.tmp.bak",
  "cc.part.json.0b7e3f3c-5d2a-4c1e-9a8b-6f0e2d4c8a10.tmp",
  "d.part.json.0b7e3f3c-5d2a-4c1e-9a8b-6f0e2d4c8a10.tmp",
];

/** True if the temporary folders' file system stores a file made by truncate as a hole. */
async function sparseFiles(): Promise<boolean> {
  await using dir = await tempDir();
  const path = join(dir.path, "probe");
  await Deno.writeFile(path, new Uint8Array());
  await Deno.truncate(path, 1 << 20);
  return (await Deno.lstat(path)).blocks === 0;
}

const withHoles = requiring(
  await sparseFiles() ? undefined : "the file system keeps no holes",
);

withHoles(
  "PartFile takes over an empty .part an earlier run left without its record, and removes only that record's temporary files",
  async () => {
    await using dir = await tempDir();
    // As a run that could not write its record on a full disk left them.
    await Deno.writeFile(join(dir.path, "c.part"), new Uint8Array());
    await Deno.truncate(join(dir.path, "c.part"), 3000);
    await Deno.writeFile(join(dir.path, TEMP), new Uint8Array());
    for (const name of NOT_TEMPS) {
      await Deno.writeTextFile(join(dir.path, name), "not ours to remove");
    }
    // A folder with a temporary file's name is not one either.
    const folderTemp = TEMP.replace("0b7e", "1b7e");
    await Deno.mkdir(join(dir.path, folderTemp));

    const part = await PartFile.open({
      dir: dir.path,
      name: "c",
      identity: identity(3),
    });
    assertEquals(part.partPath, join(dir.path, "c.part"));
    assert(!part.resumed, "it held nothing to resume");
    part.write(0, new Uint8Array([1, 2, 3]));
    assertEquals(await part.commit(), join(dir.path, "c"));
    assertEquals(
      await Deno.readFile(join(dir.path, "c")),
      new Uint8Array([1, 2, 3]),
    );
    assertEquals(
      await namesIn(dir.path),
      ["c", folderTemp, ...NOT_TEMPS].sort(),
    );
    for (const name of NOT_TEMPS) {
      assertEquals(
        await Deno.readTextFile(join(dir.path, name)),
        "not ours to remove",
      );
    }
  },
);

Deno.test("PartFile leaves a .part that holds data alone even with a record's temporary file beside it", async () => {
  await using dir = await tempDir();
  const mine = new Uint8Array(5000).fill(7);
  await Deno.writeFile(join(dir.path, "c.part"), mine);
  await Deno.writeFile(join(dir.path, TEMP), new Uint8Array());
  const part = await PartFile.open({
    dir: dir.path,
    name: "c",
    identity: identity(3),
  });
  assertEquals(part.partPath, join(dir.path, "c (1).part"));
  part.close();
  assertEquals(await Deno.readFile(join(dir.path, "c.part")), mine);
  assertEquals(await namesIn(dir.path), [
    "c (1).part",
    "c (1).part.json",
    "c.part",
    TEMP,
  ]);
});

Deno.test("PartFile removes its record's stale temporary files when it resumes its own .part", async () => {
  await using dir = await tempDir();
  const first = await PartFile.open({
    dir: dir.path,
    name: "c",
    identity: identity(3),
  });
  first.write(0, new Uint8Array([1, 2, 3]));
  first.close();
  // What a run stopped between writing its record and renaming it leaves.
  await Deno.writeFile(join(dir.path, TEMP), new Uint8Array());
  const again = await PartFile.open({
    dir: dir.path,
    name: "c",
    identity: identity(3),
  });
  assert(again.resumed);
  assertEquals(again.partPath, join(dir.path, "c.part"));
  again.close();
  assertEquals(await namesIn(dir.path), ["c.part", "c.part.json"]);
});

const asRoot = requiring(
  Deno.uid() === 0 ? undefined : "needs root to mount a tmpfs",
);

asRoot(
  "PartFile on a completely full disk fails leaving neither the .part nor its record's temporary file",
  async () => {
    await using dir = await tempDir();
    const mount = join(dir.path, "full");
    await Deno.mkdir(mount);
    assert(
      await runQuietly("mount", [
        "-t",
        "tmpfs",
        "-o",
        "size=1m",
        "tmpfs",
        mount,
      ]),
    );
    try {
      // Fills it: the last write fails with ENOSPC.
      await runQuietly("dd", ["if=/dev/zero", `of=${mount}/filler`, "bs=64k"]);
      const error = await assertRejects(() =>
        PartFile.open({ dir: mount, name: "c", identity: identity(3000) })
      );
      assertEquals((error as { code?: string }).code, "ENOSPC");
      assertEquals(await namesIn(mount), ["filler"]);
      // Once there is room, the same file is downloaded into c.part.
      await Deno.remove(join(mount, "filler"));
      const part = await PartFile.open({
        dir: mount,
        name: "c",
        identity: identity(3000),
      });
      assertEquals(part.partPath, join(mount, "c.part"));
      part.close();
    } finally {
      await runQuietly("umount", [mount]);
    }
  },
);
