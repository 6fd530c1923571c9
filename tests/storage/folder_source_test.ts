import { createHash } from "node:crypto";
import { join } from "node:path";
import { scanFolder } from "../../lib/storage/folder_scan.ts";
import {
  FolderSource,
  MAX_OPEN_FOLDER_FILES,
} from "../../lib/storage/folder_source.ts";
import { HASH_BYTES, MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { randomFile, tempDir, within } from "../fixtures.ts";
import { NOT_FILES } from "./_not_files.ts";

const LIMIT_MS = 20_000;
const PIECE = MIN_PIECE_SIZE;

/** Reads every piece of `source`, checking each against its hash. */
async function readAll(source: FolderSource): Promise<Uint8Array[]> {
  const pieces: Uint8Array[] = [];
  const buffer = new Uint8Array(source.meta.pieceSize);
  for (let i = 0; i < source.pieces; i++) {
    const piece = await source.readPiece(i, i % 2 ? buffer : undefined);
    assertEquals(
      new Uint8Array(createHash("sha256").update(piece).digest()),
      source.meta.pieceHashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES),
      `piece ${i}`,
    );
    pieces.push(piece.slice());
  }
  return pieces;
}

Deno.test("FolderSource reads every piece of a folder from the right file, each matching its hash", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "tree");
  await Deno.mkdir(join(root, "sub", "empty"), { recursive: true });
  const sizes: Record<string, number> = {
    "a.bin": 3 * PIECE + 100,
    "b.bin": PIECE,
    "c.bin": 7,
    "sub/d.bin": 2 * PIECE - 1,
    "sub/e.bin": 0,
  };
  for (const [name, size] of Object.entries(sizes)) {
    await randomFile(root, name, size);
  }
  const scanned = await within(
    scanFolder(root, { pieceSize: PIECE }),
    LIMIT_MS,
    "scan",
  );
  using source = FolderSource.open(scanned);
  assertEquals(source.pieces, 4 + 1 + 1 + 2);
  const pieces = await within(readAll(source), LIMIT_MS, "reads");
  let at = 0;
  for (const file of scanned.files) {
    const count = Math.ceil(file.meta.size / PIECE);
    const bytes = new Uint8Array(file.meta.size);
    for (let i = 0; i < count; i++) bytes.set(pieces[at + i], i * PIECE);
    assertEquals(bytes, await Deno.readFile(file.path), file.path);
    at += count;
  }
  await assertRejects(() => source.readPiece(source.pieces), RangeError);
  await assertRejects(() => source.readPiece(-1), RangeError);
  source.close();
  assert(source.closed);
  assertEquals(source.openFiles, 0);
  await assertRejects(() => source.readPiece(0), Error, "no longer shared");
});

Deno.test("FolderSource refuses to read a file changed or deleted after the scan", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "tree");
  await Deno.mkdir(root);
  const a = await randomFile(root, "a.bin", 2 * PIECE);
  const b = await randomFile(root, "b.bin", 2 * PIECE);
  const c = await randomFile(root, "c.bin", 2 * PIECE);
  const scanned = await within(
    scanFolder(root, { pieceSize: PIECE }),
    LIMIT_MS,
    "scan",
  );
  using source = FolderSource.open(scanned);
  await source.readPiece(0);
  // Open, then grown: the open file's size no longer matches.
  using file = await Deno.open(a, { append: true });
  await file.write(Uint8Array.of(1));
  await assertRejects(() => source.readPiece(1), Error, "changed size");
  // Not open yet, same size but modified later.
  const bytes = await Deno.readFile(b);
  bytes[0] ^= 0xff;
  await Deno.writeFile(b, bytes);
  await Deno.utime(b, new Date(), new Date(Date.now() + 5_000));
  await assertRejects(() => source.readPiece(2), Error, "was modified");
  await Deno.remove(c);
  await assertRejects(() => source.readPiece(4), Error, "was deleted");
});

Deno.test({
  name:
    "FolderSource refuses a link, FIFO or socket put in a file's place after the scan, and never waits on the FIFO",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await using dir = await tempDir();
    const root = join(dir.path, "tree");
    await Deno.mkdir(root);
    const paths = [];
    for (const name of ["a.bin", "b.bin", "c.bin"]) {
      paths.push(await randomFile(root, name, 2 * PIECE));
    }
    const outside = await randomFile(dir.path, "outside.bin", 2 * PIECE);
    const scanned = await within(
      scanFolder(root, { pieceSize: PIECE }),
      LIMIT_MS,
      "scan",
    );
    using source = FolderSource.open(scanned);
    const [a, ...others] = paths;
    await Deno.remove(a);
    await Deno.symlink(outside, a);
    const removes = [];
    for (const [i, [, make]] of NOT_FILES.entries()) {
      await Deno.remove(others[i]);
      removes.push(await make(others[i]));
    }
    try {
      // A blocking open of the FIFO would hang this thread, timers and all.
      for (const piece of [0, 2, 4]) {
        await assertRejects(
          () => source.readPiece(piece),
          Error,
          "was replaced by another file",
        );
      }
    } finally {
      for (const remove of removes) await remove();
    }
  },
});

Deno.test("FolderSource keeps at most MAX_OPEN_FOLDER_FILES files open, however many the folder holds", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "many");
  await Deno.mkdir(root);
  const count = MAX_OPEN_FOLDER_FILES + 6;
  for (let i = 0; i < count; i++) {
    await randomFile(root, `f${String(i).padStart(3, "0")}.bin`, PIECE + 1 + i);
  }
  const scanned = await within(
    scanFolder(root, { pieceSize: PIECE }),
    LIMIT_MS,
    "scan",
  );
  using source = FolderSource.open(scanned);
  assertEquals(source.pieces, 2 * count);
  await within(readAll(source), LIMIT_MS, "reads");
  assertEquals(source.openFiles, MAX_OPEN_FOLDER_FILES);
  // Reading the files again, in reverse, reopens the ones closed.
  for (let i = source.pieces - 1; i >= 0; i--) await source.readPiece(i);
  assertEquals(source.openFiles, MAX_OPEN_FOLDER_FILES);

  using small = FolderSource.open(scanned, { maxOpenFiles: 3 });
  await within(readAll(small), LIMIT_MS, "reads");
  assertEquals(small.openFiles, 3);
  await within(readAll(small), LIMIT_MS, "reads again");
  assertEquals(small.openFiles, 3);
});

Deno.test("FolderSource.open() refuses a single file's metadata and files that do not match the manifest", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "tree");
  await Deno.mkdir(root);
  await randomFile(root, "a.bin", 10);
  await randomFile(root, "b.bin", 10);
  const scanned = await within(scanFolder(root), LIMIT_MS, "scan");
  let error: unknown;
  try {
    FolderSource.open({ ...scanned, files: scanned.files.toReversed() });
  } catch (caught) {
    error = caught;
  }
  assert(error instanceof TypeError, String(error));
  try {
    FolderSource.open({ ...scanned, meta: scanned.files[0].meta });
    error = undefined;
  } catch (caught) {
    error = caught;
  }
  assert(error instanceof TypeError, String(error));
});
