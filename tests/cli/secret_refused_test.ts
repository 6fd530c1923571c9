/**
 * A team secret file that is refused (too short) gets its one sentence
 * alone: no warning first that others may read it, which is no use for a
 * secret that cannot be used (the peer's `--secret-file` and the
 * tracker's alike).
 *
 * @module
 */

import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import { assertOneLine, freePort } from "./_cli.ts";
import { tempDir } from "../fixtures.ts";
import { runEntry } from "../../scripts/_child.ts";
import { isolatedEnv } from "../_prompt_process.ts";

Deno.test("a team secret file too short, that others may read, is refused in one line", async () => {
  await using dir = await tempDir();
  const home = join(dir.path, "home");
  await Deno.mkdir(home);
  const path = join(dir.path, "short.secret");
  await Deno.writeTextFile(path, "short\n");
  await Deno.chmod(path, 0o644);
  const env = await isolatedEnv(home, `127.0.0.1:${freePort()}`);
  const sentence =
    `The team secret is too short: it needs at least 16 characters (set by --secret-file "${path}").`;
  const peer = await runEntry("peer.ts", ["list", "--secret-file", path], {
    env,
  });
  assertEquals(peer.code, 2, peer.stderr);
  assertEquals(assertOneLine(peer.stderr), sentence);
  const tracker = await runEntry("tracker.ts", [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--secret-file",
    path,
  ], { env, timeoutMs: 15_000 });
  assertEquals(tracker.code, 2, tracker.stderr);
  assertEquals(assertOneLine(tracker.stderr), sentence);
});
