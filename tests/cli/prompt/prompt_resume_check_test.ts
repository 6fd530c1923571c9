/**
 * The prompt's get of a file whose large `.part` an earlier get left says
 * it checks that `.part` before the check starts (every piece already there
 * is hashed again: seconds for a large one), then how much was there, in
 * `peer get`'s words. Real processes: a tracker, a slow sharer, a `peer
 * get` stopped part way, a prompt.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../../assert.ts";
import { pollUntil, randomFile, tempDir } from "../../fixtures.ts";
import {
  READY_TIMEOUT_MS,
  spawnEntry,
  spawnSharer,
} from "../../../scripts/_child.ts";
import {
  isolatedEnv,
  PromptProcess,
  sleep,
  startTracker,
} from "../../_prompt_process.ts";
import { loopbackGetArgs } from "../_cli.ts";
import { CHECK_SAID_BYTES } from "../../../lib/cli/resumed.ts";

/** Large enough that its check is said before it starts. */
const SIZE = CHECK_SAID_BYTES;
/** Slow enough to stop either get part way. */
const SLOW_UPLOAD = "512K";

/** Whether `part` holds bytes other than zeros: pieces were written. */
async function written(part: string): Promise<boolean> {
  await sleep(500);
  const held = await Deno.readFile(part).catch(() => new Uint8Array());
  return held.some((byte) => byte !== 0);
}

Deno.test("the prompt's get says it checks a large resumed .part before the check starts, then how much it held", async () => {
  await using dir = await tempDir();
  const big = await randomFile(dir.path, "big.bin", SIZE);
  await using tracker = await startTracker();
  const slow = await spawnSharer(big, tracker.address, [
    "--upload-limit",
    SLOW_UPLOAD,
  ]);
  await using _slow = slow.child;
  const out = join(dir.path, "out");
  const first = spawnEntry(
    "peer.ts",
    loopbackGetArgs(slow.id, tracker.address, out),
    { env: { P2P_HOME: join(dir.path, "first") } },
  );
  await pollUntil(READY_TIMEOUT_MS, () => written(join(out, "big.bin.part")));
  await first.stop("SIGINT");

  const home = join(dir.path, "home");
  await Deno.mkdir(home);
  await using prompt = new PromptProcess(
    ["--host", "127.0.0.1", "--port", "0", "--out", out],
    await isolatedEnv(home, tracker.address),
  );
  await prompt.type(`get ${slow.id}\n`);
  await prompt.waitFor(/^Resuming big\.bin: /, 30_000);
  // A script's get runs to its end before the next line is read: stopped.
  Deno.kill(prompt.pid, "SIGTERM");
  await prompt.exited(30_000);
  const told = prompt.lines.filter((line) =>
    /^(Checking|Resuming) /.test(line)
  );
  assertEquals(told.length, 2, prompt.output);
  assertEquals(told[0], "Checking big.bin.part from an earlier get…");
  assert(told[1].startsWith("Resuming big.bin: "), told[1]);
});
