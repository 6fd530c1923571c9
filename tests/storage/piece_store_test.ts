import { createHash } from "node:crypto";
import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { tempDir } from "../fixtures.ts";
import { HashThread, PartWriteError } from "../../lib/storage/hash_thread.ts";
import {
  MAX_HELD_PIECES,
  READ_BACK_PIECES_PER_ANSWER,
} from "../../lib/storage/hash_worker.ts";
import { PartFile } from "../../lib/storage/part_file.ts";
import {
  InlineStore,
  MAX_STORE_BACKLOG,
  type PieceStore,
  type PieceStoreOptions,
  ThreadStore,
} from "../../lib/storage/piece_store.ts";

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

/**
 * A folder with a `.part` for `count` pieces of {@linkcode fileData}, a
 * hashing thread, and what a store told: all closed and removed on dispose.
 */
async function threadSetup(count: number) {
  const dir = await tempDir();
  const data = fileData(count);
  const part = await openPart(dir.path, data.length);
  const thread = new HashThread();
  const seen: Seen = { stored: [], released: [], errors: [] };
  return {
    dir: dir.path,
    data,
    part,
    thread,
    seen,
    options: storeOptions(part, data.length, seen),
    async [Symbol.asyncDispose]() {
      thread.close();
      part.close();
      await dir[Symbol.asyncDispose]();
    },
  };
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
    const options = {
      ...storeOptions(part, data.length, seen),
      onStored: (index: number) => {
        // Only ever said of a piece that is on disk.
        const length = Math.min(PIECE, data.length - index * PIECE);
        assertEquals(part.read(index * PIECE, length), piece(data, index));
        seen.stored.push(index);
      },
    };
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
  const count = MAX_STORE_BACKLOG * 3;
  await using setup = await threadSetup(count);
  const { data, part, thread } = setup;
  const store = new ThreadStore(thread, setup.options);
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
  await using setup = await threadSetup(20);
  const { data, part, thread, seen } = setup;
  const store = new ThreadStore(thread, {
    ...setup.options,
    part: {
      partPath: "/dev/full",
      where: () => Deno.statSync("/dev/full"),
      noteWritten: () => {},
    } as unknown as PartFile,
  });
  for (let index = 0; index < 8; index++) store.add(index, piece(data, index));
  await store.flushed();
  assertEquals(seen.errors.length, 1, "the failure is told by flushed()");
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
});

Deno.test("ThreadStore.close() writes every piece handed over before it resolves, then takes no more", async () => {
  await using setup = await threadSetup(20);
  const { data, part, thread, seen } = setup;
  const store = new ThreadStore(thread, setup.options);
  // Six pieces: some go to the thread at once, the rest wait for it.
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

Deno.test("ThreadStore has a piece held ahead of the hash written once the thread is idle, without waiting for a full batch or the pieces before it", async () => {
  await using setup = await threadSetup(20);
  const { data, part, thread, seen } = setup;
  const store = new ThreadStore(thread, setup.options);
  store.add(3, piece(data, 3));
  const deadline = Date.now() + 5_000;
  while (!seen.stored.includes(3) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assertEquals(seen.stored, [3]);
  assertEquals(part.read(3 * PIECE, PIECE), piece(data, 3));
  await store.close();
  part.close();
});

Deno.test("ThreadStore writes the pieces held ahead of the hash when it closes, so that a resume need not fetch them again", async () => {
  await using setup = await threadSetup(20);
  const { data, part, thread, seen } = setup;
  const store = new ThreadStore(thread, setup.options);
  const ahead = [5, 6, 7, 9, 12];
  for (const index of ahead) store.add(index, piece(data, index));
  await store.flushed();
  // Held by the thread, not written: they wait for pieces 0 to 4.
  assertEquals(seen.stored, []);
  await store.close();
  for (const index of ahead) {
    assertEquals(part.read(index * PIECE, PIECE), piece(data, index));
  }
  assertEquals(seen.released.length, ahead.length);
  assertEquals(seen.errors, []);
  part.close();
});

Deno.test("ThreadStore hashes a long run of pieces already on disk (a resume) a slice at a time and still gets the file's hash", async () => {
  const count = READ_BACK_PIECES_PER_ANSWER * 3 + 5;
  await using setup = await threadSetup(count);
  const { data, part, thread, seen } = setup;
  const onDisk = count - 10;
  part.write(0, data.subarray(0, onDisk * PIECE));
  const store = new ThreadStore(thread, setup.options);
  for (let index = 0; index < onDisk; index++) store.add(index);
  for (let index = onDisk; index < count; index++) {
    store.add(index, piece(data, index));
  }
  assertEquals(await store.digestHex(), sha256Hex(data));
  assertEquals(seen.stored.length, count);
  part.close();
});

Deno.test("ThreadStore refuses to write through a .part replaced by a link to another file", async () => {
  await using setup = await threadSetup(20);
  const { data, part, thread, seen } = setup;
  const victim = join(setup.dir, "precious.txt");
  await Deno.writeTextFile(victim, "precious");
  // The .part swapped for a link after the download opened it.
  await Deno.rename(part.partPath, join(setup.dir, "moved.part"));
  await Deno.symlink(victim, part.partPath);
  const store = new ThreadStore(thread, setup.options);
  for (let index = 0; index < 8; index++) store.add(index, piece(data, index));
  await assertRejects(() => store.digestHex(), PartWriteError);
  assertEquals(await Deno.readTextFile(victim), "precious");
  assertEquals(seen.stored, []);
  assert(
    /replaced/.test((seen.errors[0] as Error).message),
    String(seen.errors[0]),
  );
  part.close();
});

Deno.test("ThreadStore keeps pieces that come ahead of the whole-file hash, lets go of those past MAX_HELD_PIECES, and gives every buffer back", async () => {
  // Page-sized pieces, so on Linux they are written past the page cache;
  // the short last piece is not.
  const pieceSize = 4096;
  const count = MAX_HELD_PIECES * 2 + 3;
  await using dir = await tempDir();
  const data = new Uint8Array(count * pieceSize - 100);
  crypto.getRandomValues(data.subarray(0, 65536));
  for (let at = 65536; at < data.length; at += 65536) {
    data.copyWithin(at, 0, 65536);
    data[at] = at / 65536;
  }
  const part = await PartFile.open({
    dir: dir.path,
    name: "f.bin",
    identity: {
      id: "a".repeat(64),
      size: data.length,
      pieceSize,
      hashesDigest: "d".repeat(64),
    },
  });
  using thread = new HashThread();
  const seen: Seen = { stored: [], released: [], errors: [] };
  const store = new ThreadStore(thread, {
    ...storeOptions(part, data.length, seen),
    pieceSize,
  });
  const pieceAt = (index: number) =>
    data.slice(index * pieceSize, (index + 1) * pieceSize);
  // Every piece but the first, last to first: more come ahead of the hash
  // than it keeps.
  for (let index = count - 1; index >= 1; index--) {
    store.add(index, pieceAt(index));
    await store.flushed();
  }
  const heldBack = count - 1 - seen.released.length;
  assertEquals(heldBack, MAX_HELD_PIECES);
  store.add(0, pieceAt(0));
  assertEquals(await store.digestHex(), sha256Hex(data));
  assertEquals(seen.released.length, count);
  assertEquals(seen.errors, []);
  part.close();
  assertEquals(await Deno.readFile(part.partPath), data);
});

Deno.test("ThreadStore hashes a piece stored twice once and gives both buffers back", async () => {
  await using setup = await threadSetup(20);
  const { data, part, thread, seen } = setup;
  const store = new ThreadStore(thread, setup.options);
  const given: Uint8Array[] = [];
  const give = async (index: number) => {
    const buffer = piece(data, index);
    given.push(buffer);
    store.add(index, buffer);
    await store.flushed();
  };
  await give(3); // held, ahead of the hash
  await give(3); // again while held
  await give(0);
  await give(0); // again after the hash took it
  for (let index = 1; index < 20; index++) if (index !== 3) await give(index);
  assertEquals(await store.digestHex(), sha256Hex(data));
  assertEquals(seen.released.length, given.length);
  assertEquals(seen.errors, []);
  part.close();
});
