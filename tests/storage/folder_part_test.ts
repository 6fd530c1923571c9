import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../assert.ts";
import { tempDir } from "../fixtures.ts";
import { layFolder } from "../../lib/protocol/folder_layout.ts";
import {
  decodeManifest,
  encodeManifest,
  type ManifestEntry,
} from "../../lib/protocol/manifest.ts";
import {
  FolderPart,
  FS_SYNC_MIN_FILES,
  MAX_OPEN_FOLDER_WRITE_FILES,
  numberedFolderName,
  PartBusyError,
} from "../../lib/storage/folder_part.ts";
import {
  PIECE,
  sameTree,
  sha256Hex,
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

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test("FolderPart makes every folder and empty file inside NAME.part at once, other files on their first write", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const out = join(dir.path, "out", "new");
  const part = await FolderPart.open({ dir: out, meta: source.meta });
  try {
    assertEquals(part.partPath, join(out, `${TOP}.part`));
    assertEquals(part.name, TOP);
    assertEquals(part.resumed, false);
    for (const file of source.layout.files) {
      const path = join(part.partPath, ...file.path);
      assertEquals(await exists(path), file.size === 0, path);
    }
    for (const folder of source.layout.folders) {
      const info = await Deno.lstat(join(part.partPath, ...folder));
      assert(info.isDirectory);
    }
    writeAll(part, source);
    for (const file of source.layout.files) {
      const info = await Deno.lstat(join(part.partPath, ...file.path));
      assert(info.isFile);
      assertEquals(info.size, file.size);
    }
    // The record stays outside the folder.
    assert(await exists(`${part.partPath}.json`));
  } finally {
    part.close();
  }
});

Deno.test("FolderPart reads and writes at virtual offsets, within one piece", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const part = await FolderPart.open({ dir: dir.path, meta: source.meta });
  try {
    writeAll(part, source);
    const last = source.layout.pieces - 1;
    assertEquals(
      part.read(last * PIECE, PIECE),
      source.piece(last),
    );
    assertEquals(
      part.read(2 * PIECE + 10, 5),
      source.piece(2).subarray(10, 15),
    );
    const into = new Uint8Array(PIECE);
    const got = part.read(PIECE, PIECE, into);
    assertEquals(got.buffer, into.buffer);
    assertEquals(got, source.piece(1));
    assertThrows(
      () => part.write(PIECE + 1, new Uint8Array(PIECE)),
      RangeError,
    );
    assertThrows(() => part.read(source.layout.pieces * PIECE, 1), RangeError);
  } finally {
    part.close();
  }
});

Deno.test("FolderPart commits under its name with each file's mode, and removes the part and record", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const out = join(dir.path, "out");
  const part = await FolderPart.open({ dir: out, meta: source.meta });
  writeAll(part, source);
  const path = await part.commit();
  assertEquals(path, join(out, TOP));
  assertEquals(await sameTree(source, path), []);
  assertEquals(await exists(part.partPath), false);
  assertEquals(await exists(`${part.partPath}.json`), false);
});

Deno.test("FolderPart never replaces an existing folder: the next one is 'NAME (1)', 'NAME (2)'", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const out = join(dir.path, "out");
  await Deno.mkdir(join(out, TOP), { recursive: true });
  await Deno.writeTextFile(join(out, `${TOP} (1)`), "a file of mine");
  const part = await FolderPart.open({ dir: out, meta: source.meta });
  writeAll(part, source);
  assertEquals(await part.commit(), join(out, `${TOP} (2)`));
  assertEquals([...Deno.readDirSync(join(out, TOP))], []);
  assertEquals(
    await Deno.readTextFile(join(out, `${TOP} (1)`)),
    "a file of mine",
  );
  assertEquals(await sameTree(source, join(out, `${TOP} (2)`)), []);
  assertEquals(numberedFolderName("v1.2", 3), "v1.2 (3)");
});

Deno.test("FolderPart with force replaces an existing copy holding only the share's paths (one file edited, one gone), a file or a link of the name, nothing else", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const out = join(dir.path, "out");
  const outside = join(dir.path, "outside");
  await Deno.mkdir(outside);
  await Deno.writeTextFile(join(outside, "keep"), "precious");
  for (const old of ["folder", "file", "link"] as const) {
    const target = join(out, TOP);
    await Deno.mkdir(out, { recursive: true });
    if (old === "folder") {
      const copy = await FolderPart.open({ dir: out, meta: source.meta });
      writeAll(copy, source);
      assertEquals(await copy.commit(), target);
      await Deno.writeTextFile(join(target, "a.txt"), "edited");
      await Deno.remove(join(target, "sub dir", "deep", "run.sh"));
    } else if (old === "file") {
      await Deno.writeTextFile(target, "old");
    } else {
      await Deno.symlink(outside, target);
    }
    const part = await FolderPart.open({
      dir: out,
      meta: source.meta,
      force: true,
    });
    writeAll(part, source);
    assertEquals(await part.commit(), target);
    assertEquals(await sameTree(source, target), [], old);
    await Deno.remove(target, { recursive: true });
  }
  assertEquals(await Deno.readTextFile(join(outside, "keep")), "precious");
});

Deno.test("FolderPart refuses a second open of the same download while the first holds it", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const first = await FolderPart.open({ dir: dir.path, meta: source.meta });
  try {
    await assertRejects(
      () => FolderPart.open({ dir: dir.path, meta: source.meta }),
      PartBusyError,
    );
  } finally {
    first.close();
  }
  const again = await FolderPart.open({ dir: dir.path, meta: source.meta });
  assertEquals(again.resumed, true);
  again.close();
});

Deno.test("FolderPart resumes its own part, re-creating what is missing, and leaves others' alone", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const other = await sourceFolder(join(dir.path, "other"));
  const out = join(dir.path, "out");
  const first = await FolderPart.open({ dir: out, meta: source.meta });
  writeAll(first, source);
  first.close();
  await Deno.remove(join(first.partPath, "sub dir"), { recursive: true });
  await Deno.remove(join(first.partPath, "zero"));

  const resumed = await FolderPart.open({ dir: out, meta: source.meta });
  assertEquals(resumed.resumed, true);
  assertEquals(resumed.partPath, first.partPath);
  assertEquals(resumed.read(0, PIECE), source.piece(0));
  // Folders and empty files are made again at once, other files when written.
  const deep = join(resumed.partPath, "sub dir", "deep");
  assert((await Deno.lstat(deep)).isDirectory);
  assertEquals(await exists(join(deep, "run.sh")), false);
  assert(await exists(join(resumed.partPath, "zero")));

  // Another folder of the same name gets a part of its own.
  const second = await FolderPart.open({ dir: out, meta: other.meta });
  assertEquals(second.partPath, join(out, `${TOP} (1).part`));
  assertEquals(second.resumed, false);
  second.close();
  resumed.close();

  // A NAME.part folder with no record is the user's: never written into.
  const mine = join(dir.path, "mine");
  await Deno.mkdir(join(mine, `${TOP}.part`), { recursive: true });
  await Deno.writeTextFile(join(mine, `${TOP}.part`, "a.txt"), "mine");
  const third = await FolderPart.open({ dir: mine, meta: source.meta });
  assertEquals(third.partPath, join(mine, `${TOP} (1).part`));
  await third.discard();
  assertEquals(
    await Deno.readTextFile(join(mine, `${TOP}.part`, "a.txt")),
    "mine",
  );
  assertEquals(await exists(third.partPath), false);
  assertEquals(await exists(`${third.partPath}.json`), false);
});

Deno.test("FolderPart never writes through symbolic links planted in NAME.part", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const out = join(dir.path, "out");
  const outside = join(dir.path, "outside");
  await Deno.mkdir(outside);
  await Deno.writeTextFile(join(outside, "file"), "precious");
  await Deno.writeTextFile(join(outside, "run.sh"), "precious");
  await Deno.writeTextFile(join(outside, "🎵 song.dat"), "precious");
  await Deno.chmod(join(outside, "run.sh"), 0o600);
  const first = await FolderPart.open({ dir: out, meta: source.meta });
  writeAll(first, source);
  first.close();
  const part = first.partPath;
  await Deno.remove(join(part, "a.txt"));
  await Deno.symlink(join(outside, "file"), join(part, "a.txt"));
  await Deno.remove(join(part, "sub dir", "deep"), { recursive: true });
  await Deno.symlink(outside, join(part, "sub dir", "deep"));
  await Deno.remove(join(part, "sub dir", "中文 file.bin"));
  await Deno.link(
    join(outside, "file"),
    join(part, "sub dir", "中文 file.bin"),
  );

  const resumed = await FolderPart.open({ dir: out, meta: source.meta });
  writeAll(resumed, source);
  const path = await resumed.commit();
  assertEquals(await sameTree(source, path), []);
  for (const name of ["file", "run.sh", "🎵 song.dat"]) {
    assertEquals(await Deno.readTextFile(join(outside, name)), "precious");
  }
  if (Deno.build.os !== "windows") {
    assertEquals(
      (await Deno.stat(join(outside, "run.sh"))).mode! & 0o777,
      0o600,
    );
  }
});

Deno.test("FolderPart refuses to write a file swapped for a link during the download", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const outside = join(dir.path, "outside");
  await Deno.writeTextFile(outside, "precious");
  const part = await FolderPart.open({
    dir: join(dir.path, "out"),
    meta: source.meta,
  });
  try {
    // Planted before the file's first write.
    await Deno.symlink(outside, join(part.partPath, "a.txt"));
    let error = assertThrows(() => part.write(0, source.piece(0)));
    assert(error.message.includes("replaced"), error.message);
    // Planted in place of a file made, once its handle is closed.
    const song = join(part.partPath, "sub dir", "deep", "🎵 song.dat");
    const first = source.layout.files.find((f) =>
      f.path.at(-1) === "🎵 song.dat"
    )!
      .firstPiece;
    part.write(first * PIECE, source.piece(first));
    part.close();
    const again = await FolderPart.open({ dir: part.dir, meta: source.meta });
    try {
      await Deno.remove(song);
      await Deno.symlink(outside, song);
      error = assertThrows(() =>
        again.write(first * PIECE, source.piece(first))
      );
      assert(error.message.includes("replaced"), error.message);
    } finally {
      again.close();
    }
    assertEquals(await Deno.readTextFile(outside), "precious");
  } finally {
    part.close();
  }
});

Deno.test("FolderPart replaces a link planted at NAME.part itself when the record is its own", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const out = join(dir.path, "out");
  const outside = join(dir.path, "outside");
  await Deno.mkdir(outside);
  const first = await FolderPart.open({ dir: out, meta: source.meta });
  first.close();
  await Deno.remove(first.partPath, { recursive: true });
  await Deno.symlink(outside, first.partPath);
  const part = await FolderPart.open({ dir: out, meta: source.meta });
  writeAll(part, source);
  assertEquals(part.resumed, false);
  assertEquals(await sameTree(source, await part.commit()), []);
  assertEquals([...Deno.readDirSync(outside)], []);
});

/** A folder "many" of `count` small files, `data[i]` in `many/f{i}`. */
function manyFiles(count: number) {
  const entries: ManifestEntry[] = [
    { path: ["many"], type: "folder", size: 0, executable: false },
  ];
  const data: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    data.push(new TextEncoder().encode(`file ${i}\n`.repeat(i + 1)));
    entries.push({
      path: ["many", `f${i}`],
      type: "file",
      size: data[i].length,
      executable: i % 10 === 0,
      id: sha256Hex(data[i]),
    });
  }
  const manifest = encodeManifest({ name: "many", entries });
  const layout = layFolder(decodeManifest(manifest), PIECE);
  const meta = {
    id: sha256Hex(manifest),
    name: "many",
    size: layout.size,
    pieceSize: PIECE,
    pieceHashes: new Uint8Array(layout.pieces * 32),
    manifest,
  };
  /** Writes file `f` (layout order) whole into `part`. */
  const write = (part: FolderPart, f: number) => {
    const file = layout.files[f];
    part.write(file.firstPiece * PIECE, data[Number(file.path[1].slice(1))]);
  };
  return { meta, layout, data, write };
}

/** Checks every file of `manyFiles(count)` committed at `path`, with its mode. */
async function checkMany(path: string, data: Uint8Array[]): Promise<void> {
  for (let i = 0; i < data.length; i++) {
    const file = join(path, "many", `f${i}`);
    assertEquals(await Deno.readFile(file), data[i]);
    if (Deno.build.os !== "windows") {
      const mode = (await Deno.stat(file)).mode! & 0o777;
      assertEquals(mode, i % 10 === 0 ? 0o755 : 0o644, file);
    }
  }
}

Deno.test("FolderPart flushes each file once done, more files than it holds open, and commits the lot", async () => {
  await using dir = await tempDir();
  const { meta, layout, data, write } = manyFiles(
    MAX_OPEN_FOLDER_WRITE_FILES * 3,
  );
  const part = await FolderPart.open({ dir: dir.path, meta });
  // Every file written before any is done: most handles are closed and
  // opened again (checked) to be flushed.
  layout.files.forEach((_, f) => {
    write(part, f);
    if (f % 2 === 0) part.fileDone(f);
  });
  layout.files.forEach((_, f) => part.fileDone(f));
  assert(!part.behind);
  await part.caughtUp();
  await checkMany(await part.commit(), data);
});

Deno.test("FolderPart flushes many small files with one flush of their file system at the commit, else one by one", async () => {
  for (
    const [count, works, calls] of [[FS_SYNC_MIN_FILES, true, 1], [
      FS_SYNC_MIN_FILES,
      false,
      1,
    ], [FS_SYNC_MIN_FILES - 1, true, 0]] as const
  ) {
    await using dir = await tempDir();
    const { meta, layout, data, write } = manyFiles(count);
    const flushed: string[] = [];
    const part = await FolderPart.open({
      dir: dir.path,
      meta,
      flushFileSystem: (path) => {
        flushed.push(path);
        return Promise.resolve(works);
      },
    });
    layout.files.forEach((_, f) => {
      write(part, f);
      part.fileDone(f);
    });
    assertEquals(part.behind, false, "small files wait for the commit");
    const partPath = part.partPath;
    await checkMany(await part.commit(), data);
    assertEquals(flushed, calls ? [partPath] : [], `${count} files`);
  }
});

Deno.test("FolderPart resumed flushes at the commit the small files an earlier run closed unflushed", async () => {
  await using dir = await tempDir();
  const { meta, layout, data, write } = manyFiles(FS_SYNC_MIN_FILES);
  const last = layout.files.length - 2;
  const first = await FolderPart.open({ dir: dir.path, meta });
  // All but two files written and done (closed, their flush deferred),
  // then the run stops.
  for (let f = 0; f < last; f++) {
    write(first, f);
    first.fileDone(f);
  }
  first.close();
  const flushed: string[] = [];
  const again = await FolderPart.open({
    dir: dir.path,
    meta,
    flushFileSystem: (path) => {
      flushed.push(path);
      return Promise.resolve(true);
    },
  });
  assert(again.resumed);
  for (let f = last; f < layout.files.length; f++) {
    write(again, f);
    again.fileDone(f);
  }
  const partPath = again.partPath;
  await checkMany(await again.commit(), data);
  // Two files written in this run alone would be flushed one by one; the
  // earlier run's count too, so the whole file system is flushed.
  assertEquals(flushed, [partPath]);
});

Deno.test("FolderPart makes no file through a folder swapped for a link after it opened", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const outside = join(dir.path, "outside");
  await Deno.mkdir(outside);
  const part = await FolderPart.open({
    dir: join(dir.path, "out"),
    meta: source.meta,
  });
  try {
    const sub = join(part.partPath, "sub dir");
    await Deno.rename(sub, join(dir.path, "moved"));
    await Deno.symlink(outside, sub);
    const file = source.layout.files.find((f) =>
      f.path.join("/") === "sub dir/中文 file.bin"
    )!;
    const error = assertThrows(() =>
      part.write(file.firstPiece * PIECE, source.piece(file.firstPiece))
    );
    assert(error.message.includes("replaced"), error.message);
    // Nothing written there: at most the empty file the create made.
    for (const entry of Deno.readDirSync(outside)) {
      assertEquals((await Deno.lstat(join(outside, entry.name))).size, 0);
    }
  } finally {
    part.close();
  }
});
