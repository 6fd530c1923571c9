import { createHash } from "node:crypto";
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { tempDir } from "../fixtures.ts";
import { layFolder } from "../../lib/protocol/folder_layout.ts";
import {
  decodeManifest,
  encodeManifest,
  type ManifestEntry,
} from "../../lib/protocol/manifest.ts";
import type { FileMeta } from "../../lib/protocol/message_types.ts";
import { FolderPart } from "../../lib/storage/folder_part.ts";
import {
  checkExistingFolderPieces,
  FolderStore,
} from "../../lib/storage/folder_store.ts";
import {
  HashThread,
  THREAD_MIN_PIECES,
} from "../../lib/storage/hash_thread.ts";
import { THREAD_CAN_WRITE } from "../../lib/storage/piece_store.ts";
import { PIECE, sha256Hex, shuffled } from "./_folder_fixture.ts";

/** Files of the test folder: three large enough for the thread, one not. */
const FILES = [
  { path: ["a.big"], size: (THREAD_MIN_PIECES + 4) * PIECE + 100 },
  { path: ["b.big"], size: THREAD_MIN_PIECES * PIECE },
  { path: ["c.small"], size: 3 * PIECE - 5 },
  { path: ["sub", "d.big"], size: (THREAD_MIN_PIECES + 2) * PIECE + 7 },
  { path: ["sub", "e.empty"], size: 0 },
];

interface Folder {
  meta: FileMeta;
  data: Uint8Array[];
  /** Folder piece `index`'s bytes, in a buffer of its own. */
  piece(index: number): Uint8Array;
  /** The folder piece indices of file `f`. */
  pieces(f: number): number[];
}

/** The test folder, with file `lie`'s ID made wrong if given. */
function folder(lie?: number): Folder {
  const data = FILES.map(({ size }) => {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) {
      crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
    }
    return bytes;
  });
  const entries: ManifestEntry[] = [
    { path: ["sub"], type: "folder", size: 0, executable: false },
    ...FILES.map(({ path, size }, f) => ({
      path,
      type: "file" as const,
      size,
      executable: false,
      id: f === lie ? sha256Hex(Uint8Array.of(f)) : sha256Hex(data[f]),
    })),
  ];
  const manifest = encodeManifest({ name: "big", entries });
  const layout = layFolder(decodeManifest(manifest), PIECE);
  const piece = (index: number) => {
    const f = layout.fileOf(index);
    const start = (index - layout.files[f].firstPiece) * PIECE;
    const bytes = data[
      FILES.findIndex((file) =>
        file.path.join("/") === layout.files[f].path.join("/")
      )
    ];
    return bytes.slice(start, start + layout.pieceLength(index));
  };
  const pieceHashes = new Uint8Array(layout.pieces * 32);
  for (let i = 0; i < layout.pieces; i++) {
    pieceHashes.set(createHash("sha256").update(piece(i)).digest(), i * 32);
  }
  const meta: FileMeta = {
    id: sha256Hex(manifest),
    name: "big",
    size: layout.size,
    pieceSize: PIECE,
    pieceHashes,
    manifest,
  };
  const pieces = (f: number) => {
    const file = layout.files[f];
    return [...Array(file.pieces).keys()].map((i) => file.firstPiece + i);
  };
  return { meta, data, piece, pieces };
}

/** Layout index of the file at `path`. */
function fileAt(part: FolderPart, path: string): number {
  return part.layout.files.findIndex((file) => file.path.join("/") === path);
}

interface Run {
  store: FolderStore;
  stored: number[];
  /** Buffers given back, and buffers taken to read pieces back into. */
  buffers: { released: number; readBack: number };
  errors: unknown[];
}

function openStore(part: FolderPart, meta: FileMeta, thread: HashThread): Run {
  const stored: number[] = [];
  const buffers = { released: 0, readBack: 0 };
  const errors: unknown[] = [];
  const store = new FolderStore({
    part,
    meta,
    thread,
    readBack: (index) => {
      buffers.readBack++;
      return part.read(index * PIECE, part.layout.pieceLength(index));
    },
    onStored: (index) => stored.push(index),
    release: () => buffers.released++,
    onError: (error) => errors.push(error),
  });
  return { store, stored, buffers, errors };
}

/** Checks the saved folder holds exactly the test folder's files. */
async function assertSaved(path: string, source: Folder): Promise<void> {
  for (const [f, { path: p }] of FILES.entries()) {
    const bytes = await Deno.readFile(join(path, ...p));
    assertEquals(sha256Hex(bytes), sha256Hex(source.data[f]), p.join("/"));
  }
}

Deno.test({
  name:
    "FolderStore writes and hashes large files on the hashing thread, whatever order their pieces come in",
  ignore: !THREAD_CAN_WRITE,
  fn: async () => {
    await using dir = await tempDir();
    const source = folder();
    using thread = new HashThread();
    const part = await FolderPart.open({ dir: dir.path, meta: source.meta });
    const a = fileAt(part, "a.big");
    const b = fileAt(part, "b.big");
    const c = fileAt(part, "c.small");
    const d = fileAt(part, "sub/d.big");
    const [pa, pb, pc, pd] = [a, b, c, d].map(source.pieces);
    // A random first piece of d, then a in order, b and c arriving before a
    // ends, the rest of b, then d: the thread lets d go for a, b waits.
    const order = [
      pd[3],
      ...pa.slice(0, -2),
      pb[0],
      pb[5],
      pc[1],
      ...pa.slice(-2),
      ...pb.filter((i) => i !== pb[0] && i !== pb[5]),
      pc[0],
      pc[2],
      ...pd.filter((i) => i !== pd[3]),
    ];
    assertEquals(order.toSorted((x, y) => x - y), [...order.keys()]);
    const run = openStore(part, source.meta, thread);
    for (const index of order) {
      run.store.add(index, source.piece(index));
      if (run.store.behind) await run.store.caughtUp();
    }
    await run.store.flushed();
    assertEquals(await run.store.badFiles(), []);
    assertEquals(await run.store.digestHex(), source.meta.id);
    assertEquals(run.errors, []);
    assertEquals(run.stored.toSorted((x, y) => x - y), [...order.keys()]);
    // Every buffer comes back once: each piece's and each read back.
    assertEquals(run.buffers.released, order.length + run.buffers.readBack);
    assertEquals(run.store.filesDone, FILES.length);
    await run.store.close();
    await assertSaved(await part.commit(), source);

    // Any order at all, on the same thread.
    const again = await FolderPart.open({ dir: dir.path, meta: source.meta });
    const shuffledRun = openStore(again, source.meta, thread);
    for (const index of shuffled(order.length)) {
      shuffledRun.store.add(index, source.piece(index));
      if (shuffledRun.store.behind) await shuffledRun.store.caughtUp();
    }
    assertEquals(await shuffledRun.store.badFiles(), []);
    assertEquals(
      shuffledRun.buffers.released,
      order.length + shuffledRun.buffers.readBack,
    );
    await shuffledRun.store.close();
    const path = await again.commit();
    assertEquals(path, join(dir.path, "big (1)"));
    await assertSaved(path, source);
  },
});

Deno.test({
  name:
    "FolderStore on the hashing thread reports a large file whose bytes do not match its ID",
  ignore: !THREAD_CAN_WRITE,
  fn: async () => {
    await using dir = await tempDir();
    const source = folder(3);
    using thread = new HashThread();
    const part = await FolderPart.open({ dir: dir.path, meta: source.meta });
    try {
      const run = openStore(part, source.meta, thread);
      for (const index of shuffled(part.layout.pieces)) {
        run.store.add(index, source.piece(index));
        if (run.store.behind) await run.store.caughtUp();
      }
      const bad = await run.store.badFiles();
      assertEquals(bad.map((f) => part.layout.files[f].path.join("/")), [
        FILES[3].path.join("/"),
      ]);
      assert(await run.store.digestHex() !== source.meta.id);
      await run.store.close();
    } finally {
      part.close();
    }
  },
});

Deno.test({
  name:
    "FolderStore on the hashing thread resumes: pieces written before are hashed from disk, the rest stored",
  ignore: !THREAD_CAN_WRITE,
  fn: async () => {
    await using dir = await tempDir();
    const source = folder();
    using thread = new HashThread();
    const first = await FolderPart.open({ dir: dir.path, meta: source.meta });
    const order = shuffled(first.layout.pieces);
    const half = order.slice(0, order.length >> 1);
    const run = openStore(first, source.meta, thread);
    for (const index of half) run.store.add(index, source.piece(index));
    // Stopping writes what the thread holds.
    await run.store.close();
    assertEquals(run.errors, []);
    first.close();

    const part = await FolderPart.open({ dir: dir.path, meta: source.meta });
    assert(part.resumed);
    const good = await checkExistingFolderPieces({ meta: source.meta, part });
    assertEquals(good, half.toSorted((x, y) => x - y));
    const resumed = openStore(part, source.meta, thread);
    for (const index of good) resumed.store.add(index);
    for (const index of order.slice(half.length)) {
      resumed.store.add(index, source.piece(index));
      if (resumed.store.behind) await resumed.store.caughtUp();
    }
    assertEquals(await resumed.store.badFiles(), []);
    assertEquals(resumed.errors, []);
    await resumed.store.close();
    await assertSaved(await part.commit(), source);
  },
});
