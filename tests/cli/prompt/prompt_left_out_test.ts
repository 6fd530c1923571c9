/**
 * A folder shared at the prompt names each entry it left out, with why, in
 * the lines `peer share` prints, where the prompt said only how many.
 *
 * @module
 */

import { join } from "node:path";
import { assertEquals } from "../../assert.ts";
import { randomFile, tempDir } from "../../fixtures.ts";
import {
  READY_TIMEOUT_MS,
  shareArgs,
  spawnEntry,
} from "../../../scripts/_child.ts";
import {
  isolatedEnv,
  PromptProcess,
  startTracker,
} from "../../_prompt_process.ts";
import { leftOutLines } from "../../../lib/cli/left_out.ts";

Deno.test("a folder shared at the prompt lists each entry left out and why, in peer share's words", async () => {
  await using dir = await tempDir();
  const tree = join(dir.path, "tree");
  await Deno.mkdir(tree);
  await randomFile(tree, "kept.bin", 10_000);
  await Deno.symlink("kept.bin", join(tree, "link one"));
  await Deno.symlink("/nowhere", join(tree, "link two"));
  await using tracker = await startTracker();

  await using sharer = spawnEntry(
    "peer.ts",
    shareArgs(tree, tracker.address, [], { json: false }),
  );
  await sharer.waitForLine(/^Serving on/, READY_TIMEOUT_MS);
  const start = sharer.stderr.findIndex((line) => line.startsWith("Left out"));
  const cli = sharer.stderr.slice(start, start + 3);
  assertEquals(cli.length, 3, sharer.stderr.join("\n"));

  const home = join(dir.path, "home");
  await Deno.mkdir(home);
  await using prompt = new PromptProcess(
    ["--host", "127.0.0.1", "--port", "0"],
    await isolatedEnv(home, tracker.address),
  );
  await prompt.type(`share ${tree}\n`);
  await prompt.waitFor(/^ {2}Share this link: /);
  assertEquals((await prompt.end()).code, 0, prompt.output);
  const at = prompt.lines.findIndex((line) => line.startsWith("Sharing tree"));
  assertEquals(
    prompt.lines.slice(at + 1, at + 4),
    cli.map((line) => `  ${line}`),
    prompt.output,
  );
  assertEquals(cli, [
    "Left out 2 entries that cannot be shared:",
    `  ${join(tree, "link one")}: symbolic link`,
    `  ${join(tree, "link two")}: symbolic link`,
  ]);
});

Deno.test("leftOutLines() lists up to 20 entries and counts the rest", () => {
  const skipped = Array.from({ length: 23 }, (_, i) => ({
    path: `/t/l${i}`,
    reason: "symbolic link",
  }));
  const lines = leftOutLines(skipped);
  assertEquals(lines.length, 22);
  assertEquals(lines[0], "Left out 23 entries that cannot be shared:");
  assertEquals(lines[20], "  /t/l19: symbolic link");
  assertEquals(lines[21], "  … and 3 more.");
  assertEquals(leftOutLines([]), []);
});
