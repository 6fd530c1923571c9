import { join } from "node:path";
import {
  fileIdentity,
  HASH_READ_BYTES,
  HASH_YIELD_INTERVAL_MS,
  hashFile,
} from "../../lib/storage/file_hash.ts";
import { SmallFileHasher } from "../../lib/storage/small_file_hasher.ts";
import type { FileIdentity } from "../../lib/storage/hash_worker.ts";
import { THREAD_MIN_PIECES } from "../../lib/storage/hash_thread.ts";
import { MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import { randomFile, sha256sum, tempDir } from "../fixtures.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { NOT_FILES } from "./_not_files.ts";

async function withTempDir(use: (dir: string) => Promise<void>): Promise<void> {
  await using dir = await tempDir();
  await use(dir.path);
}

/** `size` random bytes. */
function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
  }
  return bytes;
}

/** What a folder walk's `lstat` tells of `path` now. */
async function found(path: string): Promise<FileIdentity> {
  return fileIdentity(await Deno.lstat(path));
}

Deno.test("SmallFileHasher gives what hashFile() gives, the ID sha256sum prints, for files one after another", async () => {
  const sizes = [
    4096,
    0,
    1,
    MIN_PIECE_SIZE - 1,
    MIN_PIECE_SIZE,
    MIN_PIECE_SIZE + 1,
    5 * MIN_PIECE_SIZE + 3,
    (THREAD_MIN_PIECES - 1) * MIN_PIECE_SIZE,
    // Read in several goes, and then a small file after a larger one.
    HASH_READ_BYTES + 3 * MIN_PIECE_SIZE + 7,
    100,
  ];
  await withTempDir(async (dir) => {
    const hasher = new SmallFileHasher({ pieceSize: MIN_PIECE_SIZE });
    for (const [i, size] of sizes.entries()) {
      const path = await randomFile(dir, `file ${i}.bin`, size);
      if (i % 3 === 1) {
        // Dated before 1970, to the second and between milliseconds.
        const seconds = i === 1 ? -1 : -86_400.1234;
        await Deno.utime(path, seconds, seconds);
      }
      const result = await hasher.hash(path, await found(path));
      assertEquals(result.id, await sha256sum(path), `${size} bytes`);
      assertEquals(
        result,
        await hashFile(path, { pieceSize: MIN_PIECE_SIZE }),
      );
    }
  });
});

Deno.test("SmallFileHasher refuses a file changed after the walk found it: changed while it was being hashed", async () => {
  await withTempDir(async (dir) => {
    const hasher = new SmallFileHasher();
    const path = join(dir, "file.bin");
    await Deno.writeFile(path, randomBytes(100));
    const walked = await found(path);
    const changes: [string, () => Promise<void>][] = [
      ["rewritten", async () => {
        await Deno.writeFile(path, randomBytes(100));
        // Whatever the file system's clock granularity.
        await Deno.utime(path, new Date(), new Date(walked.mtime! + 2000));
      }],
      ["grown", () => Deno.writeFile(path, randomBytes(1), { append: true })],
      ["shrunk", () => Deno.truncate(path, 50)],
      ["replaced by another file like it", async () => {
        const other = join(dir, "other.bin");
        await Deno.writeFile(other, randomBytes(100));
        await Deno.utime(other, new Date(), new Date(walked.mtime!));
        await Deno.rename(other, path);
      }],
    ];
    for (const [what, change] of changes) {
      await change();
      const error = await assertRejects(() => hasher.hash(path, walked));
      assert(
        error.message.includes("changed while it was being hashed"),
        `${what}: ${error.message}`,
      );
      await Deno.writeFile(path, randomBytes(100));
    }
  });
});

Deno.test("SmallFileHasher never hashes what a symbolic link put in place of a file after the walk leads to", async () => {
  await withTempDir(async (dir) => {
    const hasher = new SmallFileHasher();
    const path = join(dir, "file.txt");
    await Deno.writeTextFile(path, "mine");
    const walked = await found(path);
    // Outside the folder shared, and alike but for its inode.
    const outside = join(dir, "secret.txt");
    await Deno.writeTextFile(outside, "pass");
    await Deno.utime(outside, new Date(), new Date(walked.mtime!));
    await Deno.remove(path);
    await Deno.symlink(outside, path);
    await assertRejects(
      () => hasher.hash(path, walked),
      Error,
      "changed while it was being hashed",
    );
    // A link to a folder: the read fails, and that too is a change.
    await Deno.remove(path);
    await Deno.symlink(dir, path);
    await assertRejects(
      () => hasher.hash(path, walked),
      Error,
      "changed while it was being hashed",
    );
  });
});

Deno.test("SmallFileHasher rejects with NotFound for a file gone since the walk, and with the abort reason", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "file.txt");
    await Deno.writeTextFile(path, "soon gone");
    const walked = await found(path);
    const controller = new AbortController();
    const hasher = new SmallFileHasher({ signal: controller.signal });
    controller.abort(new Error("stop now"));
    await assertRejects(() => hasher.hash(path, walked), Error, "stop now");
    await Deno.remove(path);
    await assertRejects(
      () => new SmallFileHasher().hash(path, walked),
      Deno.errors.NotFound,
    );
  });
});

Deno.test("SmallFileHasher lets timers run while it hashes file after file", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "file.bin");
    await Deno.writeFile(path, randomBytes(4096));
    const walked = await found(path);
    const hasher = new SmallFileHasher();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const start = performance.now();
      // Each hash is synchronous unless it yields: without yields, no tick.
      // Not every yield lets timers run (measured: about two in three, and
      // none in ten once, under a full test run with other load), so this
      // hashes until the first tick, for up to a hundred yields' time.
      while (
        ticks === 0 && performance.now() - start < 100 * HASH_YIELD_INTERVAL_MS
      ) {
        await hasher.hash(path, walked);
      }
    } finally {
      clearInterval(timer);
    }
    assert(ticks >= 1, `${ticks} timer ticks`);
  });
});

for (const [what, make] of NOT_FILES) {
  Deno.test({
    name:
      `SmallFileHasher calls ${what} in a file's place after the walk a change, and waits on nothing`,
    ignore: Deno.build.os === "windows",
    fn: async () => {
      await withTempDir(async (dir) => {
        const path = join(dir, "file.txt");
        await Deno.writeTextFile(path, "mine");
        const walked = await found(path);
        await Deno.remove(path);
        const remove = await make(path);
        try {
          // A blocking open of a FIFO would hang this thread, timers and
          // all: the test would never end rather than fail.
          await assertRejects(
            () => new SmallFileHasher().hash(path, walked),
            Error,
            "changed while it was being hashed",
          );
        } finally {
          await remove();
        }
      });
    },
  });
}
