/**
 * `peer get` resuming the `.part` an earlier get left, with real processes
 * (a tracker, a slow sharer, the getter stopped part way, then run again):
 * it says once how much was already there, or with `--json` gives it as
 * `resumedBytes`; a get that starts afresh says nothing of the kind.
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { otherFilesPart, pollUntil, randomFile, tempDir } from "../fixtures.ts";
import {
  READY_TIMEOUT_MS,
  runEntry,
  spawnEntry,
  spawnSharer,
  spawnTracker,
} from "../../scripts/_child.ts";
import { loopbackGetArgs } from "./_cli.ts";
import { formatSize } from "../../lib/util/format_size.ts";

/** Six pieces of 256 KiB: three seconds at SLOW_UPLOAD. */
const SIZE = 6 * 256 * 1024;
/** Slow enough to stop the first get part way. */
const SLOW_UPLOAD = "512K";
/** Bytes compared at a time: a piece is a whole number of them. */
const BLOCK = 16 * 1024;

/** The lines of `lines` that speak of resuming. */
function resumeLines(lines: readonly string[]): string[] {
  return lines.filter((line) => line.includes("Resum"));
}

/** What a get of big.bin says when `held` of its bytes were already there. */
function resumingBigBin(held: number): string {
  return `Resuming big.bin: ${formatSize(held)} of ${
    formatSize(SIZE)
  } already here, checked.`;
}

/** Bytes of `part` that are already the same as in `source`, by block. */
async function sameBytes(part: string, source: Uint8Array): Promise<number> {
  const held = await Deno.readFile(part).catch(() => new Uint8Array());
  let same = 0;
  for (let at = 0; at + BLOCK <= held.length; at += BLOCK) {
    const block = held.subarray(at, at + BLOCK);
    if (block.every((byte, i) => byte === source[at + i])) same += BLOCK;
  }
  return same;
}

for (const json of [false, true]) {
  Deno.test(
    `peer get${
      json ? " --json" : ""
    } resuming the .part an earlier get left says how much was already there, once`,
    async () => {
      await using dir = await tempDir();
      const file = await randomFile(dir.path, "big.bin", SIZE);
      const source = await Deno.readFile(file);
      const tracker = await spawnTracker();
      const sharer = await spawnSharer(file, tracker.address, [
        "--upload-limit",
        SLOW_UPLOAD,
      ]);
      try {
        const out = join(dir.path, "out");
        const env = { P2P_HOME: join(dir.path, "home") };
        const args = loopbackGetArgs(sharer.id, tracker.address, out);
        const part = join(out, "big.bin.part");
        const first = spawnEntry("peer.ts", args, { env });
        // Stopped once a piece or more is verified and written, seconds
        // before the rest could come at SLOW_UPLOAD.
        await pollUntil(
          READY_TIMEOUT_MS,
          async () => await sameBytes(part, source) >= SIZE / 6,
        );
        await first.stop("SIGINT");
        const held = await sameBytes(part, source);
        assert(held > 0 && held < SIZE, `${held} bytes held`);
        const fresh = resumeLines(first.stderr);
        assertEquals(fresh, [], "a get that starts afresh resumes nothing");

        const again = await runEntry(
          "peer.ts",
          json ? [...args, "--json"] : args,
          { env },
        );
        assertEquals(again.code, 0, again.stderr);
        const told = resumeLines(again.stderr.split("\n"));
        if (json) {
          assertEquals(told, [], "--json keeps stderr for errors");
          const result = JSON.parse(again.stdout.split("\n")[0]);
          assertEquals(result.resumedBytes, held);
          const fetched = result.peers.reduce(
            (sum: number, peer: { bytes: number }) => sum + peer.bytes,
            0,
          );
          assertEquals(result.resumedBytes + fetched, SIZE);
        } else {
          assertEquals(told, [resumingBigBin(held)]);
        }
      } finally {
        await sharer.child.stop();
        await tracker.child.stop();
      }
    },
  );
}

Deno.test("peer get of a file of one piece, with no .part there, says nothing of resuming", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "small.bin", 100_000);
  const tracker = await spawnTracker();
  const sharer = await spawnSharer(file, tracker.address);
  try {
    const out = join(dir.path, "out");
    const result = await runEntry(
      "peer.ts",
      loopbackGetArgs(sharer.id, tracker.address, out),
      { env: { P2P_HOME: join(dir.path, "home") } },
    );
    assertEquals(result.code, 0, result.stderr);
    assert(result.stdout.startsWith("Saved "), result.stdout);
    assertEquals(result.stderr, "");
  } finally {
    await sharer.child.stop();
    await tracker.child.stop();
  }
});

Deno.test("peer get of a file beside another file's .part of its name starts afresh and says nothing of resuming", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "small.bin", 100_000);
  const tracker = await spawnTracker();
  const sharer = await spawnSharer(file, tracker.address);
  try {
    for (const json of [false, true]) {
      const out = join(dir.path, json ? "out-json" : "out");
      // Another file's download, cut short, under the same name.
      await otherFilesPart(out, "small.bin");
      const args = loopbackGetArgs(sharer.id, tracker.address, out);
      const result = await runEntry(
        "peer.ts",
        json ? [...args, "--json"] : args,
        { env: { P2P_HOME: join(dir.path, "home") } },
      );
      assertEquals(result.code, 0, result.stderr);
      assertEquals(result.stderr, "");
      if (json) {
        const saved = JSON.parse(result.stdout.split("\n")[0]);
        assertEquals(saved.resumedBytes, undefined);
      }
      assert(await Deno.stat(join(out, "small.bin.part")), "the other is kept");
    }
  } finally {
    await sharer.child.stop();
    await tracker.child.stop();
  }
});

Deno.test("peer get without --output resumes the .part a get with --output other.bin left, and says so", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "big.bin", SIZE);
  const source = await Deno.readFile(file);
  const tracker = await spawnTracker();
  const sharer = await spawnSharer(file, tracker.address, [
    "--upload-limit",
    SLOW_UPLOAD,
  ]);
  try {
    const out = join(dir.path, "out");
    const env = { P2P_HOME: join(dir.path, "home") };
    const args = loopbackGetArgs(sharer.id, tracker.address, out);
    const part = join(out, "other.bin.part");
    const first = spawnEntry("peer.ts", [...args, "--output", "other.bin"], {
      env,
    });
    await pollUntil(
      READY_TIMEOUT_MS,
      async () => await sameBytes(part, source) >= SIZE / 6,
    );
    await first.stop("SIGINT");
    const held = await sameBytes(part, source);
    assert(held > 0 && held < SIZE, `${held} bytes held`);

    const again = await runEntry("peer.ts", args, { env });
    assertEquals(again.code, 0, again.stderr);
    assertEquals(resumeLines(again.stderr.split("\n")), [
      resumingBigBin(held),
    ]);
  } finally {
    await sharer.child.stop();
    await tracker.child.stop();
  }
});

Deno.test("peer get stopped beside another file's .part of its name says where its own partial file is kept", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "big.bin", SIZE);
  const source = await Deno.readFile(file);
  const out = join(dir.path, "out");
  await otherFilesPart(out, "big.bin");
  const tracker = await spawnTracker();
  const sharer = await spawnSharer(file, tracker.address, [
    "--upload-limit",
    SLOW_UPLOAD,
  ]);
  try {
    const args = loopbackGetArgs(sharer.id, tracker.address, out);
    const own = join(out, "big (1).bin.part");
    const get = spawnEntry("peer.ts", args, {
      env: { P2P_HOME: join(dir.path, "home") },
    });
    await pollUntil(
      READY_TIMEOUT_MS,
      async () => await sameBytes(own, source) >= SIZE / 6,
    );
    await get.stop("SIGINT");
    const told = get.stderr.filter((line) => line.includes("is kept in"));
    assertEquals(told, [
      `Download stopped; the partial file is kept in ${own}: run the same get again to resume.`,
    ]);
  } finally {
    await sharer.child.stop();
    await tracker.child.stop();
  }
});
