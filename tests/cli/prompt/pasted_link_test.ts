/**
 * A link pasted where a command was expected: at the prompt it is a get of
 * it; on the command line (`peer LINK`) it is refused saying to use `peer
 * get`. Neither repeats a link back, nor does a get given two: a private
 * link carries its secret. Real processes: a tracker, a sharer, a prompt.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../../assert.ts";
import { randomFile, tempDir } from "../../fixtures.ts";
import {
  isolatedEnv,
  PromptProcess,
  startTracker,
} from "../../_prompt_process.ts";
import { runEntry, spawnSharer } from "../../../scripts/_child.ts";
import { refusalOf } from "./_commands.ts";
import { USAGE_EXIT_CODE } from "../../../lib/cli/args.ts";

/** Flags of every prompt here: its own port, on loopback only. */
const LOOPBACK = ["--host", "127.0.0.1", "--port", "0"];
/** A private link's secret, and a link carrying it. */
const SECRET = "ABEiM0RVZneImaq7zN3u_w";
const PRIVATE_LINK = `p2p://127.0.0.1:5000/v1/priv/${SECRET}/0123456789abcdef`;

Deno.test("a link pasted alone at the prompt is a get of it", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "pasted.bin", 200_000);
  await using tracker = await startTracker();
  const env = await isolatedEnv(dir.path, tracker.address);
  const sharer = await spawnSharer(file, tracker.address);
  await using _sharer = sharer.child;
  const out = join(dir.path, "out");

  await using prompt = new PromptProcess([...LOOPBACK, "--out", out], env);
  await prompt.type(`${sharer.link}\n`);
  assertEquals((await prompt.end(30_000)).code, 0, prompt.output);
  assert(
    /^Saved .*pasted\.bin .* from 1 peer\.$/m.test(prompt.output),
    prompt.output,
  );
  assertEquals(
    await Deno.readFile(join(out, "pasted.bin")),
    await Deno.readFile(file),
  );
});

Deno.test("a get of two links at the prompt is refused without repeating the second", async () => {
  const message = await refusalOf(`get ${PRIVATE_LINK} ${PRIVATE_LINK}`);
  assert(message.startsWith("Give one link or ID at a time:"));
  assert(!message.includes(SECRET), message);
});

Deno.test("peer LINK says to use peer get, without repeating the link", async () => {
  await using dir = await tempDir();
  const env = await isolatedEnv(dir.path, "127.0.0.1:9");
  for (const word of [PRIVATE_LINK, "ab".repeat(32)]) {
    const run = await runEntry("peer.ts", [word], { env });
    assertEquals(run.code, USAGE_EXIT_CODE, run.stderr);
    assertEquals(
      run.stderr,
      'To download it, run "peer get" with it (or "peer get -" to paste it).',
    );
    assert(!run.stderr.includes(SECRET));
  }
});
