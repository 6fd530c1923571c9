/**
 * A `peer get` of a share link whose tracker address is a peer's (a link
 * typed by hand, or mixed up) says the link names a peer: the advice to
 * point `--tracker` at the tracker is no use, as a link's get does not read
 * `--tracker`.
 *
 * @module
 */

import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import { assertOneLine, freePort } from "./_cli.ts";
import { tempDir } from "../fixtures.ts";
import { readyLine, runEntry, spawnEntry } from "../../scripts/_child.ts";
import { isolatedEnv, startTracker } from "../_prompt_process.ts";

Deno.test("peer get of a link naming a peer as its tracker says so, not to set --tracker", async () => {
  await using dir = await tempDir();
  const home = join(dir.path, "home");
  await Deno.mkdir(home);
  await using tracker = await startTracker();
  const env = await isolatedEnv(home, tracker.address);
  const file = join(dir.path, "a.txt");
  await Deno.writeTextFile(file, "hello");
  const port = freePort();
  await using sharer = spawnEntry("peer.ts", [
    "share",
    file,
    "--host",
    "127.0.0.1",
    "--port",
    `${port}`,
    "--quiet",
  ], { env });
  const id = (await readyLine(sharer, /^[0-9a-f]{64}$/)).trim();
  const link = `p2p://127.0.0.1:${port}/v1/pub/${id}`;
  const result = await runEntry("peer.ts", [
    "get",
    link,
    "--wait",
    "0",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--out",
    join(dir.path, "out"),
  ], { env, timeoutMs: 20_000 });
  assertEquals(result.code, 1, result.stderr);
  assertEquals(
    assertOneLine(result.stderr),
    `127.0.0.1:${port} is a peer, not a tracker: the link names it as its tracker; ask whoever gave you the link for a new one.`,
  );
});
