/**
 * A get the disk refuses carries its file's name as a field of the error
 * (`fileName`), as a get that fails on the network does: what the page
 * titles a get started by ID with. In process, with a real tracker and
 * sharer: a folder no one may write to (the `.part` cannot be opened), a
 * disk that fills while downloading, a `.part` removed while downloading.
 * The first two need root (chattr, mount).
 *
 * @module
 */

import { join } from "node:path";
import { assertEquals, assertRejects } from "../assert.ts";
import { runQuietly, tempDir } from "../fixtures.ts";
import { asRoot, MiB, shares } from "./_disk_lab.ts";
import { download, type DownloadOptions } from "../../lib/download/download.ts";
import { DiskError } from "../../lib/download/_download_error.ts";

/** The disk error a get of `id` fails with. */
async function failure(
  id: string,
  shared: { tracker: { address: { host: string; port: number } } },
  options: Omit<DownloadOptions, "tracker">,
): Promise<DiskError> {
  const error = await assertRejects(
    () => download(id, { tracker: shared.tracker.address, ...options }),
    DiskError,
  );
  return error as DiskError;
}

asRoot(
  "a get into a folder no one may write to (chattr +i) fails naming the file or folder",
  async () => {
    await using dir = await tempDir();
    await using shared = await shares(dir.path);
    const out = join(dir.path, "locked");
    await Deno.mkdir(out);
    if (!await runQuietly("chattr", ["+i", out])) {
      throw new Error("chattr +i fails");
    }
    try {
      const named = [[shared.fileId, "big.bin"], [shared.folderId, "multi"]];
      for (const [id, name] of named) {
        const error = await failure(id.slice(0, 16), shared, { outDir: out });
        assertEquals(
          [error.fileName, error.message],
          [
            name,
            `Cannot write to ${out}: you may not write there; pick another --out.`,
          ],
        );
      }
    } finally {
      await runQuietly("chattr", ["-i", out]);
    }
  },
);

asRoot(
  "a get onto a disk that fills while downloading fails naming the file",
  async () => {
    await using dir = await tempDir();
    await using shared = await shares(dir.path);
    const out = join(dir.path, "small");
    await Deno.mkdir(out);
    if (
      !await runQuietly("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", out])
    ) {
      throw new Error("mount fails");
    }
    try {
      const error = await failure(shared.fileId, shared, { outDir: out });
      assertEquals(error.fileName, "big.bin");
      assertEquals(
        error.message.startsWith(`Cannot write to ${out}: the disk is full.`),
        true,
        error.message,
      );
    } finally {
      await runQuietly("umount", [out]);
    }
  },
);

Deno.test("a get whose .part is removed while downloading fails naming the file", async () => {
  await using dir = await tempDir();
  await using shared = await shares(dir.path);
  const out = join(dir.path, "out");
  const part = join(out, "big.bin.part");
  let removed = false;
  const error = await failure(shared.fileId.slice(0, 16), shared, {
    outDir: out,
    downloadLimit: MiB,
    onProgress: (progress) => {
      if (removed || progress.received < MiB / 2) return;
      removed = true;
      Deno.removeSync(part);
    },
  });
  assertEquals(error.fileName, "big.bin");
  assertEquals(
    error.message,
    `The partial download ${part} was removed while downloading; nothing was saved. Run the same get again to start over.`,
  );
});
