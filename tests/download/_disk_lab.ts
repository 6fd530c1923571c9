/**
 * What the tests of a get the disk refuses share: running `chattr` and
 * `mount`, a skip without root, and a real tracker with a sharer of one
 * 3 MiB file and one folder of two files.
 *
 * @module
 */

import { join } from "node:path";
import { randomFile, requiring, sharer, testTracker } from "../fixtures.ts";

/** Bytes in one MiB. */
export const MiB = 1024 * 1024;

/** Skips a test without root (an immutable folder, a small or read-only tmpfs). */
export const asRoot = requiring(
  Deno.uid() === 0 ? undefined : "needs root (chattr, mount)",
);

/**
 * A tracker and a sharer in `dir` of one 3 MiB file, `big.bin`, and a
 * folder, `multi`, of `a.bin` and `sub/b.bin` (3 MiB each).
 */
export async function shares(dir: string) {
  const tracker = testTracker();
  const file = await randomFile(dir, "big.bin", 3 * MiB);
  const folder = join(dir, "multi");
  await Deno.mkdir(join(folder, "sub"), { recursive: true });
  await randomFile(folder, "a.bin", 3 * MiB);
  await randomFile(join(folder, "sub"), "b.bin", 3 * MiB);
  const node = await sharer(tracker.address, [file, folder]);
  const [fileId, folderId] = node.shared().map((shared) => shared.id);
  return {
    tracker,
    fileId,
    folderId,
    async [Symbol.asyncDispose]() {
      await node.close();
      await tracker.close();
    },
  };
}
