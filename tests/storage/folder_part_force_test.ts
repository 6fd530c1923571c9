import { join, relative } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { tempDir } from "../fixtures.ts";
import {
  FolderPart,
  ForeignEntriesError,
  SHOWN_FOREIGN_ENTRIES,
  StrayEntriesError,
} from "../../lib/storage/folder_part.ts";
import {
  PIECE,
  sameTree,
  type SourceFolder,
  sourceFolder,
  TOP,
} from "./_folder_fixture.ts";

/** Writes every piece of `source` into `part`. */
function writeAll(part: FolderPart, source: SourceFolder): void {
  for (let i = 0; i < source.layout.pieces; i++) {
    part.write(i * PIECE, source.piece(i));
  }
}

/** A copy of `source` saved in `out` as `out/TOP` (not forced). */
async function savedCopy(source: SourceFolder, out: string): Promise<string> {
  const part = await FolderPart.open({ dir: out, meta: source.meta });
  writeAll(part, source);
  return await part.commit();
}

/**
 * Everything below `root`, links not followed: each entry's path, its kind
 * and a file's bytes (or a link's target), sorted.
 */
async function snapshot(root: string): Promise<string[]> {
  const out: string[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    for await (const { name } of Deno.readDir(dir)) {
      const full = join(dir, name);
      const info = await Deno.lstat(full);
      const path = relative(root, full);
      if (info.isSymlink) {
        out.push(`link ${path} -> ${await Deno.readLink(full)}`);
      } else if (info.isDirectory) {
        out.push(`folder ${path}`);
        pending.push(full);
      } else {
        const bytes = await Deno.readFile(full);
        out.push(`file ${path} ${bytes.length} ${bytes.slice(0, 16)}`);
      }
    }
  }
  return out.sort();
}

Deno.test("FolderPart with force refuses, before making NAME.part, a folder holding files, folders or links the share does not have, and leaves it as it was", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const out = join(dir.path, "out");
  const target = await savedCopy(source, out);
  // A folder outside, with what the share's "sub dir/deep" holds: reached
  // through a link in the copy, it must not be touched either.
  const outside = join(dir.path, "outside");
  await Deno.mkdir(outside);
  await Deno.writeTextFile(join(outside, "run.sh"), "mine, outside");
  await Deno.writeTextFile(join(target, "MY-NOTES.txt"), "my notes");
  await Deno.mkdir(join(target, "my-photos"));
  await Deno.writeTextFile(join(target, "my-photos", "1.jpg"), "a photo");
  await Deno.writeTextFile(join(target, "a.txt"), "edited by me");
  // A file where the share has a folder, a folder where it has a file.
  await Deno.remove(join(target, "empty folder"));
  await Deno.writeTextFile(join(target, "empty folder"), "a file of mine");
  await Deno.remove(join(target, "zero"));
  await Deno.mkdir(join(target, "zero"));
  await Deno.remove(join(target, "sub dir", "deep"), { recursive: true });
  await Deno.symlink(outside, join(target, "sub dir", "deep"));
  const before = await snapshot(dir.path);

  const error = await assertRejects(
    () => FolderPart.open({ dir: out, meta: source.meta, force: true }),
    ForeignEntriesError,
  ) as ForeignEntriesError;
  assertEquals(error.path, target);
  assertEquals(error.count, 5);
  assertEquals(SHOWN_FOREIGN_ENTRIES, 3);
  // Top level first, by name.
  assertEquals(error.shown, ["MY-NOTES.txt", "empty folder", "my-photos/"]);
  assertEquals(await snapshot(dir.path), before);
  assertEquals([...Deno.readDirSync(out)].map((entry) => entry.name), [TOP]);
});

Deno.test("FolderPart with force refuses at the commit what was added meanwhile, keeps NAME.part to resume, and replaces the copy once it is moved away", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const out = join(dir.path, "out");
  const target = await savedCopy(source, out);
  await Deno.writeTextFile(join(target, "a.txt"), "edited");

  const part = await FolderPart.open({
    dir: out,
    meta: source.meta,
    force: true,
  });
  writeAll(part, source);
  const late = join(target, "sub dir", "late.txt");
  await Deno.writeTextFile(late, "added during the download");
  const error = await assertRejects(
    () => part.commit(),
    ForeignEntriesError,
  ) as ForeignEntriesError;
  part.close();
  assertEquals([error.count, error.shown], [1, ["sub dir/late.txt"]]);
  // Nothing of the copy was deleted, nor the finished download.
  assertEquals(await Deno.readTextFile(late), "added during the download");
  assertEquals(await Deno.readTextFile(join(target, "a.txt")), "edited");
  assertEquals(await sameTree(source, part.partPath), []);

  await Deno.remove(late);
  const again = await FolderPart.open({
    dir: out,
    meta: source.meta,
    force: true,
  });
  assert(again.resumed, "the finished download was not resumed");
  assertEquals(await again.commit(), target);
  assertEquals(await sameTree(source, target), []);
  assertEquals([...Deno.readDirSync(out)].map((entry) => entry.name), [TOP]);
});

Deno.test("FolderPart does not save entries someone put in NAME.part while it downloaded: the commit is refused and the verified files kept to resume", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const out = join(dir.path, "out");
  const part = await FolderPart.open({ dir: out, meta: source.meta });
  writeAll(part, source);
  await Deno.writeTextFile(join(part.partPath, "planted.sh"), "not shared");
  const error = await assertRejects(() => part.commit(), StrayEntriesError);
  assertEquals((error as StrayEntriesError).shown, ["planted.sh"]);
  part.close();
  // Nothing saved under the name; the .part and its record kept.
  assertEquals(
    await Deno.lstat(join(out, TOP)).catch(() => undefined),
    undefined,
  );
  await Deno.remove(join(join(out, `${TOP}.part`), "planted.sh"));
  const resumed = await FolderPart.open({ dir: out, meta: source.meta });
  assert(resumed.resumed);
  writeAll(resumed, source);
  const saved = await resumed.commit();
  assertEquals(await sameTree(source, saved), []);
});
