/**
 * `peer share DIR` when a file of the folder changes while it is shared,
 * with a tracker, the sharer and the getters as child processes: a file
 * only touched is hashed again and the folder shared on; a file whose bytes
 * changed stops the share, in the folder's words.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, tempDir } from "../fixtures.ts";
import { runEntry } from "../../scripts/_child.ts";
import { assertSameTree, getArgs, getFolder, startSwarm } from "./_folders.ts";

/** A folder `dir/shelf` of a file of several pieces and a small one below. */
async function shelf(dir: string): Promise<string> {
  const root = join(dir, "shelf");
  await Deno.mkdir(join(root, "notes"), { recursive: true });
  await randomFile(root, "big.bin", 1024 * 1024);
  await Deno.writeTextFile(join(root, "notes", "a.txt"), "first draft\n");
  return root;
}

/** Sets `path`'s modification time a minute ahead (a `touch`). */
async function touch(path: string): Promise<void> {
  const later = new Date(Date.now() + 60_000);
  await Deno.utime(path, later, later);
}

Deno.test("peer share DIR goes on sharing a folder whose files were only touched: gets of it succeed, and it exits 0 on SIGTERM without saying it stopped", async () => {
  await using dir = await tempDir();
  const root = await shelf(dir.path);
  await using swarm = await startSwarm();
  const sharer = await swarm.share(root);
  await touch(join(root, "big.bin"));
  await touch(join(root, "notes", "a.txt"));
  for (const out of ["out", "again"]) {
    const got = await getFolder(
      sharer.id,
      swarm.tracker,
      join(dir.path, out),
      ["--wait", "20s"],
    );
    await assertSameTree(root, got.path);
  }
  assertEquals((await sharer.child.stop("SIGTERM")).code, 0);
  const stderr = sharer.child.stderr.join("\n");
  assert(!stderr.includes("Stopped sharing"), stderr);
});

Deno.test("peer share DIR stops sharing, says which file changed and to share the folder again, and exits 1, when a file's bytes change but not its size", async () => {
  await using dir = await tempDir();
  const root = await shelf(dir.path);
  await using swarm = await startSwarm();
  const sharer = await swarm.share(root);
  const changed = join(root, "notes", "a.txt");
  await Deno.writeTextFile(changed, "FIRST DRAFT\n");
  await touch(changed);
  const get = await runEntry(
    "peer.ts",
    getArgs(sharer.id, swarm.tracker, join(dir.path, "out"), ["--wait", "0"]),
    { timeoutMs: 60_000 },
  );
  assert(get.code !== 0, get.stdout);
  const status = await sharer.child.stop("SIGCONT", 20_000);
  assertEquals(status.code, 1);
  assertEquals(
    sharer.child.stderr.filter((line) => line.startsWith("Stopped sharing")),
    [
      `Stopped sharing shelf: "${await Deno.realPath(
        changed,
      )}" was modified since it was shared; share the folder again.`,
    ],
  );
});
