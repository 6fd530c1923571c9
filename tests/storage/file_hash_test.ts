import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileIdentity, hashFile } from "../../lib/storage/file_hash.ts";
import {
  HashThread,
  THREAD_MIN_PIECES,
} from "../../lib/storage/hash_thread.ts";
import {
  DEFAULT_PIECE_SIZE,
  HASH_BYTES,
  MIN_PIECE_SIZE,
} from "../../lib/protocol/limits.ts";
import { sha256sum } from "../fixtures.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";

const KIB = 1024;
const MIB = 1024 * KIB;

async function withTempDir(use: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "p2p-hash-test-" });
  try {
    await use(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
  }
  return bytes;
}

function pieceHashesOf(bytes: Uint8Array, pieceSize: number): Uint8Array {
  const count = Math.ceil(bytes.length / pieceSize);
  const out = new Uint8Array(count * HASH_BYTES);
  for (let i = 0; i < count; i++) {
    const piece = bytes.subarray(i * pieceSize, (i + 1) * pieceSize);
    out.set(createHash("sha256").update(piece).digest(), i * HASH_BYTES);
  }
  return out;
}

for (
  const size of [
    0,
    1,
    DEFAULT_PIECE_SIZE,
    DEFAULT_PIECE_SIZE + 1,
    3 * MIB + 12345,
    // Enough pieces for the hashing thread, with a short last piece.
    (THREAD_MIN_PIECES + 21) * DEFAULT_PIECE_SIZE + 5,
  ]
) {
  Deno.test(`hashFile() of ${size} bytes gives the ID sha256sum prints and every piece's SHA-256`, async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "file.bin");
      const bytes = randomBytes(size);
      await Deno.writeFile(path, bytes);
      const result = await hashFile(path);
      assertEquals(result.id, await sha256sum(path));
      assertEquals(result.size, size);
      assertEquals(result.pieceSize, DEFAULT_PIECE_SIZE);
      assertEquals(
        result.pieceHashes.length,
        Math.ceil(size / DEFAULT_PIECE_SIZE) * HASH_BYTES,
      );
      assertEquals(
        result.pieceHashes,
        pieceHashesOf(bytes, DEFAULT_PIECE_SIZE),
      );
    });
  });
}

Deno.test("hashFile() honours a smaller piece size", async () => {
  await hashesSmallPieces(5 * MIN_PIECE_SIZE + 7);
});

Deno.test("hashFile() gives every piece's SHA-256 when the hashing thread shares many small pieces", async () => {
  await hashesSmallPieces(4096 * MIN_PIECE_SIZE + 3);
});

/** hashFile() of `size` random bytes in MIN_PIECE_SIZE pieces matches a plain hash. */
async function hashesSmallPieces(size: number): Promise<void> {
  await withTempDir(async (dir) => {
    const path = join(dir, "file.bin");
    const bytes = randomBytes(size);
    await Deno.writeFile(path, bytes);
    const result = await hashFile(path, { pieceSize: MIN_PIECE_SIZE });
    assertEquals(result.pieceSize, MIN_PIECE_SIZE);
    assertEquals(result.pieceHashes, pieceHashesOf(bytes, MIN_PIECE_SIZE));
    assertEquals(result.id, createHash("sha256").update(bytes).digest("hex"));
  });
}

Deno.test("The hashing thread hashes only the pieces left unclaimed", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "file.bin");
    const bytes = randomBytes(10 * MIN_PIECE_SIZE + 1);
    await Deno.writeFile(path, bytes);
    const info = await Deno.stat(path);
    const claims = new Int32Array(new SharedArrayBuffer(4));
    const digests = new Uint8Array(new SharedArrayBuffer(11 * HASH_BYTES));
    claims[0] = 4;
    using thread = new HashThread();
    const hashed = await thread.filePieces(path, {
      pieceSize: MIN_PIECE_SIZE,
      expect: fileIdentity(info),
      claims,
      digests,
    });
    assertEquals(hashed, 7);
    const expected = pieceHashesOf(bytes, MIN_PIECE_SIZE);
    assertEquals(
      digests.slice(0, 4 * HASH_BYTES),
      new Uint8Array(4 * HASH_BYTES),
    );
    assertEquals(digests.slice(4 * HASH_BYTES), expected.slice(4 * HASH_BYTES));
  });
});

Deno.test("The hashing thread refuses a file that is not the one the caller opened", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "file.bin");
    await Deno.writeFile(path, randomBytes(4 * MIN_PIECE_SIZE));
    const info = await Deno.stat(path);
    const claims = new Int32Array(new SharedArrayBuffer(4));
    using thread = new HashThread();
    const hashed = await thread.filePieces(path, {
      pieceSize: MIN_PIECE_SIZE,
      expect: { ...fileIdentity(info), size: info.size + 1 },
      claims,
      digests: new Uint8Array(new SharedArrayBuffer(5 * HASH_BYTES)),
    });
    assertEquals(hashed, undefined);
    assertEquals(claims[0], 0, "no piece claimed");
    assertEquals(
      await thread.filePieces(join(dir, "gone.bin"), {
        pieceSize: MIN_PIECE_SIZE,
        expect: { dev: info.dev, ino: info.ino, size: 1, mtime: null },
        claims,
        digests: new Uint8Array(new SharedArrayBuffer(HASH_BYTES)),
      }),
      undefined,
    );
  });
});

Deno.test("hashFile() refuses a piece size outside the limits", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "file.bin");
    await Deno.writeFile(path, new Uint8Array(10));
    await assertRejects(
      () => hashFile(path, { pieceSize: MIN_PIECE_SIZE - 1 }),
      RangeError,
      "Piece size",
    );
    await assertRejects(() => hashFile(path, { pieceSize: 1.5 }), RangeError);
  });
});

Deno.test("hashFile() reports progress ending at the full size", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "file.bin");
    await Deno.writeFile(path, randomBytes(2 * MIB));
    const calls: [number, number][] = [];
    await hashFile(path, {
      onProgress: (done, total) => calls.push([done, total]),
    });
    assert(calls.length >= 1, "no progress reported");
    assertEquals(calls.at(-1), [2 * MIB, 2 * MIB]);
  });
});

Deno.test("hashFile() rejects with the abort reason when aborted", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "file.bin");
    await Deno.writeFile(path, randomBytes(MIB));
    const controller = new AbortController();
    controller.abort(new Error("stop now"));
    await assertRejects(
      () => hashFile(path, { signal: controller.signal }),
      Error,
      "stop now",
    );
  });
});

Deno.test("hashFile() stops part way when the signal fires during hashing", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "file.bin");
    await Deno.writeFile(path, randomBytes(64 * MIB));
    const controller = new AbortController();
    // Fires at the hash loop's first yield to the event loop.
    const timer = setTimeout(() => controller.abort(new Error("cancelled")));
    try {
      await assertRejects(
        () => hashFile(path, { signal: controller.signal }),
        Error,
        "cancelled",
      );
    } finally {
      clearTimeout(timer);
    }
  });
});

Deno.test("hashFile() refuses a folder and a missing file", async () => {
  await withTempDir(async (dir) => {
    await assertRejects(() => hashFile(dir), TypeError, "not a regular file");
    await assertRejects(
      () => hashFile(join(dir, "nope")),
      Deno.errors.NotFound,
    );
  });
});
