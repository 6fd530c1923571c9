/**
 * What a get says when the disk refuses, in process with a real tracker
 * and sharer: a folder the process may not write to, a read-only mount, a
 * full disk, a `.part` removed while downloading. Each sentence says why
 * and what to do, and that the partial download is kept only when it is.
 * Most need root (an immutable folder, a small or read-only tmpfs).
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { requiring, runQuietly, sha256File, tempDir } from "../fixtures.ts";
import { asRoot, MiB, shares } from "./_disk_lab.ts";
import { download, DownloadError } from "../../lib/download/download.ts";
import { PART_CHECK_MS } from "../../lib/download/_watched_target.ts";

async function namesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** True if the temporary folders' file system stores a truncated file as a hole. */
async function sparseFiles(): Promise<boolean> {
  await using dir = await tempDir();
  const path = join(dir.path, "probe");
  await Deno.writeFile(path, new Uint8Array());
  await Deno.truncate(path, MiB);
  return (await Deno.lstat(path)).blocks === 0;
}

const withHoles = requiring(
  await sparseFiles() ? undefined : "the file system keeps no holes",
);

/** The sentence a get of `id` into `out` fails with. */
async function failure(
  id: string,
  tracker: { address: { host: string; port: number } },
  out: string,
): Promise<string> {
  const error = await assertRejects(
    () => download(id, { tracker: tracker.address, outDir: out }),
    DownloadError,
  );
  return error.message;
}

asRoot(
  "a get into a folder it may not write to (chattr +i) says so, not that the disk is full or that anything is kept",
  async () => {
    await using dir = await tempDir();
    await using shared = await shares(dir.path);
    const out = join(dir.path, "ro");
    await Deno.mkdir(out);
    assert(await runQuietly("chattr", ["+i", out]), "chattr +i works here");
    try {
      for (const id of [shared.fileId, shared.folderId]) {
        assertEquals(
          await failure(id, shared.tracker, out),
          `Cannot write to ${out}: you may not write there; pick another --out.`,
        );
      }
    } finally {
      await runQuietly("chattr", ["-i", out]);
    }
    assertEquals(await namesIn(out), []);
  },
);

asRoot(
  "a get onto a read-only mount says it is read-only in plain words",
  async () => {
    await using dir = await tempDir();
    await using shared = await shares(dir.path);
    const out = join(dir.path, "romnt");
    await Deno.mkdir(out);
    assert(
      await runQuietly("mount", [
        "-t",
        "tmpfs",
        "-o",
        "size=1m,ro",
        "tmpfs",
        out,
      ]),
    );
    try {
      for (const id of [shared.fileId, shared.folderId]) {
        assertEquals(
          await failure(id, shared.tracker, out),
          `Cannot write to ${out}: it is on a read-only file system; pick another --out.`,
        );
      }
    } finally {
      await runQuietly("umount", [out]);
    }
  },
);

asRoot(
  "a get onto a completely full disk fails leaving nothing, and the same get then saves the file and nothing else",
  async () => {
    await using dir = await tempDir();
    await using shared = await shares(dir.path);
    const out = join(dir.path, "full");
    await Deno.mkdir(out);
    assert(
      await runQuietly("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", out]),
    );
    try {
      await runQuietly("dd", ["if=/dev/zero", `of=${out}/filler`, "bs=64k"]);
      assertEquals(
        await failure(shared.fileId, shared.tracker, out),
        `Cannot write to ${out}: the disk is full. Free some space or pick another --out, then run the same get again.`,
      );
      assertEquals(await namesIn(out), ["filler"]);
      await Deno.remove(join(out, "filler"));
      assert(await runQuietly("mount", ["-o", "remount,size=8m", out]));
      const result = await download(shared.fileId, {
        tracker: shared.tracker.address,
        outDir: out,
      });
      assertEquals(result.path, join(out, "big.bin"));
      assertEquals(await sha256File(result.path), shared.fileId);
      assertEquals(await namesIn(out), ["big.bin"]);
    } finally {
      await runQuietly("umount", [out]);
    }
  },
);

asRoot(
  "a folder get onto a completely full disk fails leaving nothing, no empty NAME.part.json, and the same get then saves the folder and nothing else",
  async () => {
    await using dir = await tempDir();
    await using shared = await shares(dir.path);
    const out = join(dir.path, "full");
    await Deno.mkdir(out);
    assert(
      await runQuietly("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", out]),
    );
    try {
      await runQuietly("dd", ["if=/dev/zero", `of=${out}/filler`, "bs=64k"]);
      assertEquals(
        await failure(shared.folderId, shared.tracker, out),
        `Cannot write to ${out}: the disk is full. Free some space or pick another --out, then run the same get again.`,
      );
      assertEquals(await namesIn(out), ["filler"]);
      await Deno.remove(join(out, "filler"));
      assert(await runQuietly("mount", ["-o", "remount,size=8m", out]));
      const result = await download(shared.folderId, {
        tracker: shared.tracker.address,
        outDir: out,
      });
      assertEquals(result.path, join(out, "multi"));
      assertEquals(await namesIn(out), ["multi"]);
      assertEquals(
        await sha256File(join(out, "multi", "sub", "b.bin")),
        await sha256File(join(dir.path, "multi", "sub", "b.bin")),
      );
    } finally {
      await runQuietly("umount", [out]);
    }
  },
);

asRoot(
  "a disk that fills while downloading says the partial download is kept, naming it",
  async () => {
    await using dir = await tempDir();
    await using shared = await shares(dir.path);
    const out = join(dir.path, "small");
    await Deno.mkdir(out);
    assert(
      await runQuietly("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", out]),
    );
    try {
      const part = join(out, "big.bin.part");
      assertEquals(
        await failure(shared.fileId, shared.tracker, out),
        `Cannot write to ${out}: the disk is full. Free some space and run the same get again to resume from the partial download ${part}, or pick another --out.`,
      );
      assertEquals(await namesIn(out), ["big.bin.part", "big.bin.part.json"]);
    } finally {
      await runQuietly("umount", [out]);
    }
  },
);

withHoles(
  "a get takes over the empty .part a full disk left without its record, and leaves nothing else",
  async () => {
    await using dir = await tempDir();
    await using shared = await shares(dir.path);
    const out = join(dir.path, "out");
    await Deno.mkdir(out);
    // What an earlier get left when its record could not be written.
    const part = join(out, "big.bin.part");
    await Deno.writeFile(part, new Uint8Array());
    await Deno.truncate(part, 3 * MiB);
    const temp = "big.bin.part.json.3f1c2b7a-9d4e-4a8b-b6c5-0e1f2a3b4c5d.tmp";
    await Deno.writeFile(join(out, temp), new Uint8Array());
    const result = await download(shared.fileId, {
      tracker: shared.tracker.address,
      outDir: out,
    });
    assertEquals(result.path, join(out, "big.bin"));
    assertEquals(await sha256File(result.path), shared.fileId);
    assertEquals(await namesIn(out), ["big.bin"]);
  },
);

for (const kind of ["file", "folder"] as const) {
  Deno.test(`a ${kind}'s .part removed while downloading stops the get soon, saying nothing was saved`, async () => {
    await using dir = await tempDir();
    await using shared = await shares(dir.path);
    const out = join(dir.path, "out");
    const [id, name, size] = kind === "file"
      ? [shared.fileId, "big.bin", 3 * MiB]
      : [shared.folderId, "multi", 6 * MiB];
    const part = join(out, `${name}.part`);
    let removedAt: number | undefined;
    let last = 0;
    const error = await assertRejects(
      () =>
        download(id, {
          tracker: shared.tracker.address,
          outDir: out,
          // Long enough (6 s for the folder) to remove it part way.
          downloadLimit: MiB,
          onProgress: (progress) => {
            last = progress.received;
            if (removedAt === undefined && progress.received >= MiB / 2) {
              removedAt = performance.now();
              Deno.removeSync(part, { recursive: true });
            }
          },
        }),
      DownloadError,
    );
    assertEquals(
      error.message,
      `The partial download ${part} was removed while downloading; nothing was saved. Run the same get again to start over.`,
    );
    assert(removedAt !== undefined);
    if (kind === "folder") {
      // A file's .part may well be complete before the first check.
      assert(last < size, `stopped at ${last} of ${size} bytes`);
      assert(performance.now() - removedAt < PART_CHECK_MS + 2_000);
    }
    assert(!(await namesIn(out)).includes(name), "nothing saved");
  });
}
