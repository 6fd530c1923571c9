/**
 * `peer share` of an unfinished download, with real processes: a
 * `NAME.part` with its record beside it (left by an interrupted `peer
 * get`) is refused in one sentence with exit 2, and a folder share leaves
 * it out with its record, listing both among what it left out. A `.part`
 * without a record is the user's own file and is shared.
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, tempDir } from "../fixtures.ts";
import { getArgs, runEntry, spawnEntry } from "../../scripts/_child.ts";
import { assertOneLine } from "./_cli.ts";
import { startSwarm } from "./_folders.ts";

const MiB = 1024 * 1024;

/**
 * Starts `peer get ID --json` into `out` and stops it with SIGINT once
 * `out/NAME.part` holds at least `bytes` on disk; the `.part`'s path.
 */
async function interruptedFileGet(
  id: string,
  tracker: string,
  out: string,
  name: string,
  bytes: number,
): Promise<string> {
  const part = join(out, `${name}.part`);
  const get = spawnEntry("peer.ts", getArgs(id, tracker, out));
  try {
    const deadline = Date.now() + 60_000;
    while (get.stdout.length === 0 && Date.now() < deadline) {
      const info = await Deno.stat(part).catch(() => undefined);
      if ((info?.blocks ?? 0) * 512 >= bytes) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await get.stop("SIGINT", 10_000);
  }
  assertEquals((await get.finished()).code, 130, get.stderr.join("\n"));
  await Deno.stat(`${part}.json`);
  return part;
}

const REFUSAL =
  /^Cannot share "(.*)": it is an unfinished download of (.*) \(about (\d+)% done\); finish it with peer get, or share the finished file\.$/;

Deno.test("peer share of an interrupted get's .part is refused with one sentence and exit 2; a folder share leaves it and its record out", async () => {
  await using dir = await tempDir();
  const source = await randomFile(dir.path, "c.bin", 8 * MiB);
  await using swarm = await startSwarm();
  const shared = await swarm.share(source, ["--upload-limit", "1M"]);
  const out = join(dir.path, "dl");
  const part = await interruptedFileGet(
    shared.id,
    swarm.tracker,
    out,
    "c.bin",
    MiB,
  );

  const refused = await runEntry("peer.ts", [
    "share",
    part,
    "--tracker",
    swarm.tracker,
    "--port",
    "0",
  ]);
  assertEquals(refused.code, 2, refused.stderr);
  const line = assertOneLine(refused.stderr);
  const match = REFUSAL.exec(line);
  assert(match, line);
  assertEquals(match[1], part);
  assertEquals(match[2], "c.bin");
  const percent = Number(match[3]);
  assert(percent >= 1 && percent <= 99, line);

  const json = await runEntry("peer.ts", [
    "share",
    part,
    "--json",
    "--tracker",
    swarm.tracker,
  ]);
  assertEquals(json.code, 2, json.stderr);
  const last = JSON.parse(json.stdout.trim().split("\n").at(-1)!);
  assertEquals(last.exitCode, 2);
  assertEquals(last.error, line);

  // The download folder, with a file of the user's named .part (no record).
  await Deno.writeTextFile(join(out, "notes.part"), "mine\n");
  await Deno.writeTextFile(join(out, "keep.txt"), "kept\n");
  const folder = await swarm.share(out);
  assertEquals(folder.ready.files, 2, JSON.stringify(folder.ready));
  const skipped = folder.ready.skipped ?? [];
  assertEquals(skipped.map((entry) => entry.path), [
    await Deno.realPath(part),
    await Deno.realPath(`${part}.json`),
  ]);
  assert(
    /^unfinished download \(about \d+% done\)$/.test(skipped[0].reason),
    skipped[0].reason,
  );
  assertEquals(
    skipped[1].reason,
    "record of the unfinished download c.bin.part",
  );
});

Deno.test("peer share of a folder download's .part folder, with its record beside it, is refused with exit 2", async () => {
  await using dir = await tempDir();
  const part = join(dir.path, "album.part");
  await Deno.mkdir(part);
  await randomFile(part, "one.bin", 1000);
  // As a folder get writes it (storage/_folder_part_record.ts).
  await Deno.writeTextFile(
    `${part}.json`,
    JSON.stringify({
      version: 1,
      kind: "folder",
      id: "ab".repeat(32),
      size: 5000,
      pieceSize: 262144,
      hashesDigest: "cd".repeat(32),
    }),
  );
  for (const given of [part, `${part}/`]) {
    const run = await runEntry("peer.ts", [
      "share",
      given,
      "--tracker",
      "127.0.0.1:1",
    ]);
    assertEquals(run.code, 2, run.stderr);
    assertEquals(
      assertOneLine(run.stderr),
      `Cannot share "${given}": it is an unfinished download of album; finish it with peer get, or share the finished file.`,
    );
  }
});
