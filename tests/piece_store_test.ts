import { createHash } from "node:crypto";
import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { tempDir } from "./fixtures.ts";
import { HashThread, PartWriteError } from "../lib/hash_thread.ts";
import { PartFile } from "../lib/part_file.ts";
import {
  InlineStore,
  MAX_STORE_BACKLOG,
  type PieceStore,
  type PieceStoreOptions,
  ThreadStore,
} from "../lib/piece_store.ts";

const PIECE = 1000;

/** `count` pieces of distinct bytes, the last one shorter. */
function fileData(count: number): Uint8Array {
  const data = new Uint8Array(count * PIECE - 123);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 10)) & 0xff;
  return data;
}

function piece(data: Uint8Array, index: number): Uint8Array {
  return data.slice(index * PIECE, (index + 1) * PIECE);
}

function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

async function openPart(dir: string, size: number): Promise<PartFile> {
  return await PartFile.open({
    dir,
    name: "f.bin",
    identity: {
      id: "a".repeat(64),
      size,
      pieceSize: PIECE,
      hashesDigest: "d".repeat(64),
    },
  });
}

interface Seen {
  stored: number[];
  released: Uint8Array[];
  errors: unknown[];
}

function storeOptions(part: PartFile, size: number, seen: Seen) {
  return {
    part,
    pieceSize: PIECE,
    size,
    readBack: (index: number) =>
      part.read(index * PIECE, Math.min(PIECE, size - index * PIECE)),
    onStored: (index: number) => seen.stored.push(index),
    release: (data: Uint8Array) => seen.released.push(data),
    onError: (error: unknown) => seen.errors.push(error),
  } satisfies PieceStoreOptions;
}

for (const threaded of [true, false]) {
  const kind = threaded ? "ThreadStore" : "InlineStore";
  Deno.test(`${kind} writes pieces in any order and hashes the whole file`, async () => {
    await using dir = await tempDir();
    const data = fileData(40);
    const part = await openPart(dir.path, data.length);
    // Pieces 0 and 7 are on disk already, as after a resume.
    part.write(0, piece(data, 0));
    part.write(7 * PIECE, piece(data, 7));
    using thread = threaded ? new HashThread() : undefined;
    const seen: Seen = { stored: [], released: [], errors: [] };
    const options = storeOptions(part, data.length, seen);
    const store: PieceStore = thread
      ? new ThreadStore(thread, options)
      : new InlineStore(40, options);
    store.add(7);
    const given: Uint8Array[] = [];
    for (let index = 39; index >= 1; index--) {
      if (index === 7) continue;
      const buffer = piece(data, index);
      given.push(buffer);
      store.add(index, buffer);
    }
    store.add(0);
    assertEquals(await store.digestHex(), sha256Hex(data));
    part.close();
    assertEquals(await Deno.readFile(part.partPath), data);
    assertEquals(seen.errors, []);
    assertEquals(
      seen.stored.toSorted((a, b) => a - b),
      [...Array(40).keys()],
    );
    // Every buffer handed over comes back exactly once (from the thread
    // as a new view of the same memory, moved there and back).
    if (threaded) {
      assertEquals(seen.released.length, given.length);
    } else {
      for (const buffer of given) {
        assertEquals(seen.released.filter((b) => b === buffer).length, 1);
      }
    }
  });
}

Deno.test("ThreadStore holds back (behind) while many pieces wait to be written", async () => {
  await using dir = await tempDir();
  const count = MAX_STORE_BACKLOG * 3;
  const data = fileData(count);
  const part = await openPart(dir.path, data.length);
  using thread = new HashThread();
  const seen: Seen = { stored: [], released: [], errors: [] };
  const store = new ThreadStore(
    thread,
    storeOptions(part, data.length, seen),
  );
  let wasBehind = false;
  for (let index = 0; index < count; index++) {
    store.add(index, piece(data, index));
    if (store.behind) {
      wasBehind = true;
      await store.caughtUp();
      assert(!store.behind, "caughtUp() resolved while still behind");
    }
  }
  assert(wasBehind, "never behind with the whole file handed over at once");
  assertEquals(await store.digestHex(), sha256Hex(data));
  part.close();
});

Deno.test("ThreadStore reports a failed write once with the system's reason and stores nothing after", async () => {
  // /dev/full accepts the open and the seek and fails every write: a full disk.
  await using dir = await tempDir();
  const data = fileData(20);
  const part = await openPart(dir.path, data.length);
  using thread = new HashThread();
  const seen: Seen = { stored: [], released: [], errors: [] };
  const store = new ThreadStore(thread, {
    ...storeOptions(part, data.length, seen),
    part: {
      partPath: "/dev/full",
      noteWritten: () => {},
    } as unknown as PartFile,
  });
  for (let index = 0; index < 8; index++) store.add(index, piece(data, index));
  await assertRejects(() => store.digestHex(), PartWriteError);
  assertEquals(seen.errors.length, 1);
  assert(seen.errors[0] instanceof PartWriteError, String(seen.errors[0]));
  assert(
    /space/i.test((seen.errors[0] as Error).message),
    (seen.errors[0] as Error).message,
  );
  assertEquals(seen.stored, []);
  const late = piece(data, 9);
  store.add(9, late);
  assertEquals(seen.released.includes(late), true);
  part.close();
  assertEquals(join(dir.path, "f.bin.part"), part.partPath);
});

Deno.test("ThreadStore.close() writes every piece handed over before it resolves, then takes no more", async () => {
  await using dir = await tempDir();
  const data = fileData(20);
  const part = await openPart(dir.path, data.length);
  using thread = new HashThread();
  const seen: Seen = { stored: [], released: [], errors: [] };
  const store = new ThreadStore(thread, storeOptions(part, data.length, seen));
  // Six pieces: one full batch goes to the thread at once, two wait.
  for (let index = 0; index < 6; index++) store.add(index, piece(data, index));
  await store.close();
  thread.close();
  part.close();
  const onDisk = await Deno.readFile(part.partPath);
  assertEquals(onDisk.subarray(0, 6 * PIECE), data.subarray(0, 6 * PIECE));
  assertEquals(seen.released.length, 6);
  const late = piece(data, 7);
  store.add(7, late);
  assertEquals(seen.released.at(-1), late);
  assertEquals(seen.errors, []);
});
