import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { tempDir } from "../fixtures.ts";
import { FolderPart } from "../../lib/storage/folder_part.ts";
import {
  checkExistingFolderPieces,
  FolderStore,
} from "../../lib/storage/folder_store.ts";
import {
  PIECE,
  sameTree,
  shuffled,
  type SourceFolder,
  sourceFolder,
  TOP,
} from "./_folder_fixture.ts";

interface Opened {
  part: FolderPart;
  store: FolderStore;
  done: number[];
  errors: unknown[];
}

async function openStore(dir: string, source: SourceFolder): Promise<Opened> {
  const part = await FolderPart.open({ dir, meta: source.meta });
  const done: number[] = [];
  const errors: unknown[] = [];
  const store = new FolderStore({
    part,
    onError: (error) => errors.push(error),
    onFileDone: (file) => done.push(file),
  });
  return { part, store, done, errors };
}

Deno.test("FolderStore stores pieces in any order and knows every file's digest at the end", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const out = join(dir.path, "out");
  const { part, store, done, errors } = await openStore(out, source);
  const { files, pieces } = source.layout;
  const empty = files.filter((file) => file.pieces === 0).length;
  assertEquals(store.filesDone, empty);
  for (const index of shuffled(pieces)) store.add(index, source.piece(index));
  assertEquals(errors, []);
  assertEquals(done.toSorted(), files.flatMap((f, i) => f.pieces ? [i] : []));
  assertEquals(store.filesDone, files.length);
  assertEquals(await store.badFiles(), []);
  assertEquals(await store.digestHex(), source.meta.id);
  await store.close();
  const path = await part.commit();
  assertEquals(path, join(out, TOP));
  assertEquals(await sameTree(source, path), []);

  // A second download of the same name goes beside the first.
  const again = await openStore(out, source);
  for (const index of shuffled(pieces)) {
    again.store.add(index, source.piece(index));
  }
  assertEquals(await again.store.digestHex(), source.meta.id);
  assertEquals(await again.part.commit(), join(out, `${TOP} (1)`));
  assertEquals(await sameTree(source, join(out, `${TOP} (1)`)), []);
});

Deno.test("FolderStore reports each piece stored and releases each buffer once", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const part = await FolderPart.open({ dir: dir.path, meta: source.meta });
  const stored: number[] = [];
  const given = new Set<Uint8Array>();
  const released = new Set<Uint8Array>();
  const store = new FolderStore({
    part,
    onError: (error) => {
      throw error;
    },
    onStored: (index) => stored.push(index),
    release: (data) => {
      assert(!released.has(data), "released twice");
      released.add(data);
    },
  });
  const order = shuffled(source.layout.pieces);
  for (const index of order) {
    const data = source.piece(index);
    given.add(data);
    store.add(index, data);
  }
  assertEquals(stored, order);
  store.add(order[0], source.piece(order[0]));
  for (const data of given) assert(released.has(data));
  assertEquals(await store.digestHex(), source.meta.id);
  await store.close();
  await part.discard();
  assertEquals([...Deno.readDirSync(dir.path)].map((e) => e.name), [TOP]);
});

Deno.test("FolderStore reports a file whose bytes do not match its ID", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path, "sub dir/deep/🎵 song.dat");
  const { part, store } = await openStore(join(dir.path, "out"), source);
  try {
    await assertRejects(() => store.badFiles(), Error, "pieces stored");
    for (const index of shuffled(source.layout.pieces)) {
      store.add(index, source.piece(index));
    }
    const bad = await store.badFiles();
    assertEquals(
      bad.map((f) => source.layout.files[f].path.join("/")),
      ["sub dir/deep/🎵 song.dat"],
    );
    const digest = await store.digestHex();
    assert(digest !== source.meta.id);
    assertEquals(digest.length, 64);
  } finally {
    await store.close();
    part.close();
  }
});

Deno.test("FolderStore stops and reports the error when a write fails", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const { part, store, errors } = await openStore(dir.path, source);
  try {
    // Nowhere to make a.txt in.
    await Deno.remove(part.partPath, { recursive: true });
    store.add(0, source.piece(0));
    store.add(1, source.piece(1));
    assertEquals(errors.length, 1);
  } finally {
    await store.close();
    part.close();
  }
});

Deno.test("checkExistingFolderPieces finds exactly the pieces written, not a damaged one", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const out = join(dir.path, "out");
  const { pieces, files } = source.layout;
  const half = shuffled(pieces).slice(0, Math.ceil(pieces / 2)).toSorted((
    a,
    b,
  ) => a - b);
  const first = await openStore(out, source);
  for (const index of half) first.store.add(index, source.piece(index));
  await first.store.close();
  first.part.close();

  const second = await openStore(out, source);
  assertEquals(second.part.resumed, true);
  assertEquals(
    await checkExistingFolderPieces({ meta: source.meta, part: second.part }),
    half,
  );
  await second.store.close();
  second.part.close();

  // Damage one byte of a written piece, on disk.
  const damaged = half[half.length - 1];
  const file = files[source.layout.fileOf(damaged)];
  const at = (damaged - file.firstPiece) * PIECE + 3;
  {
    using handle = await Deno.open(
      join(first.part.partPath, ...file.path),
      { write: true },
    );
    await handle.seek(at, Deno.SeekMode.Start);
    await handle.write(Uint8Array.of(source.piece(damaged)[3] ^ 0xff));
  }
  const third = await openStore(out, source);
  const good = await checkExistingFolderPieces({
    meta: source.meta,
    part: third.part,
  });
  assertEquals(good, half.filter((index) => index !== damaged));

  // The rest completes the folder: pieces on disk are added without data.
  for (const index of good) third.store.add(index);
  for (let index = 0; index < pieces; index++) {
    if (!good.includes(index)) third.store.add(index, source.piece(index));
  }
  assertEquals(third.errors, []);
  assertEquals(await third.store.digestHex(), source.meta.id);
  await third.store.close();
  assertEquals(
    await sameTree(source, await third.part.commit()),
    [],
  );
});

Deno.test("checkExistingFolderPieces stops when aborted", async () => {
  await using dir = await tempDir();
  const source = await sourceFolder(dir.path);
  const part = await FolderPart.open({ dir: dir.path, meta: source.meta });
  try {
    await assertRejects(() =>
      checkExistingFolderPieces({
        meta: source.meta,
        part,
        signal: AbortSignal.abort(),
      })
    );
  } finally {
    part.close();
  }
});
