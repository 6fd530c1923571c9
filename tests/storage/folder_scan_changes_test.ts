import { join } from "node:path";
import { scanFolder } from "../../lib/storage/folder_scan.ts";
import { MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import { THREAD_MIN_PIECES } from "../../lib/storage/hash_thread.ts";
import { hashFile } from "../../lib/storage/file_hash.ts";
import { assertEquals, assertRejects } from "../assert.ts";
import { randomFile, sha256sum, tempDir, within } from "../fixtures.ts";

const LIMIT_MS = 20_000;

/**
 * A folder `tree` in `dir` of small files `a.txt`, `b.txt`, `c.txt`; its
 * path. The scan hashes them in that order, after the walk found all three.
 */
async function smallTree(dir: string): Promise<string> {
  const root = join(dir, "tree");
  await Deno.mkdir(root);
  for (const name of ["a.txt", "b.txt", "c.txt"]) {
    await Deno.writeTextFile(join(root, name), `${name} as found`);
  }
  return root;
}

/**
 * Scans `root`, calling `change` once the first file is hashed: after the
 * walk found `b.txt`, before it is read.
 */
function scanChanging(root: string, change: () => void) {
  let changed = false;
  return within(
    scanFolder(root, {
      onProgress: () => {
        if (changed) return;
        changed = true;
        change();
      },
    }),
    LIMIT_MS,
    "scan",
  );
}

Deno.test("scanFolder() refuses a small file changed between the walk and its read: changed while it was being hashed", async () => {
  await using dir = await tempDir();
  const root = await smallTree(dir.path);
  const b = join(root, "b.txt");
  const { mtime } = await Deno.lstat(b);
  await assertRejects(
    () =>
      scanChanging(root, () => {
        // The same size, and a modification time the walk cannot have seen.
        Deno.writeTextFileSync(b, "b.txt as FOUND");
        Deno.utimeSync(b, new Date(), new Date(mtime!.getTime() + 2000));
      }),
    Error,
    "changed while it was being hashed",
  );
});

Deno.test("scanFolder() never follows a symbolic link put in place of a small file after the walk", async () => {
  await using dir = await tempDir();
  const root = await smallTree(dir.path);
  const b = join(root, "b.txt");
  const { mtime } = await Deno.lstat(b);
  // Outside the folder, and like b.txt in all but its inode.
  const outside = join(dir.path, "secret.txt");
  await Deno.writeTextFile(outside, "b.txt SECRET!");
  await Deno.utime(outside, new Date(), mtime!);
  await assertRejects(
    () =>
      scanChanging(root, () => {
        Deno.removeSync(b);
        Deno.symlinkSync(outside, b);
      }),
    Error,
    "changed while it was being hashed",
  );
});

Deno.test("scanFolder() leaves out a small file gone between the walk and its read, saying so, and shares the rest", async () => {
  await using dir = await tempDir();
  const root = await smallTree(dir.path);
  const b = join(root, "b.txt");
  const scanned = await scanChanging(root, () => Deno.removeSync(b));
  assertEquals(scanned.files.map((file) => file.entryPath), [
    ["a.txt"],
    ["c.txt"],
  ]);
  for (const file of scanned.files) {
    assertEquals(file.meta.id, await sha256sum(file.path));
  }
  assertEquals(scanned.skipped, [{
    path: join(await Deno.realPath(root), "b.txt"),
    reason: "cannot be read (it disappeared)",
  }]);
});

Deno.test("scanFolder() hashes small files of one and several pieces, and large ones, as sha256sum does", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "sizes");
  await Deno.mkdir(root);
  const sizes = [
    0,
    1,
    4096,
    MIN_PIECE_SIZE,
    MIN_PIECE_SIZE + 1,
    (THREAD_MIN_PIECES - 1) * MIN_PIECE_SIZE + 9,
    THREAD_MIN_PIECES * MIN_PIECE_SIZE,
    3,
  ];
  for (const [i, size] of sizes.entries()) {
    await randomFile(root, `file ${i}`, size);
  }
  const scanned = await within(
    scanFolder(root, { pieceSize: MIN_PIECE_SIZE }),
    LIMIT_MS,
    "scan",
  );
  assertEquals(scanned.files.map((file) => file.meta.size), sizes);
  for (const file of scanned.files) {
    assertEquals(file.meta.id, await sha256sum(file.path), file.path);
    const alone = await hashFile(file.path, { pieceSize: MIN_PIECE_SIZE });
    assertEquals(file.meta.pieceHashes, alone.pieceHashes, file.path);
  }
});
