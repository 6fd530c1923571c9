/**
 * The prompt's get of a file whose large `.part` an earlier get left says
 * it checks that `.part` before the check starts (every piece already there
 * is hashed again: seconds for a large one), then how much was there, in
 * `peer get`'s words. Real processes: a tracker, a slow sharer, a `peer
 * get` stopped part way, a prompt. When nothing in that `.part` matches,
 * it says so after the check, and gets the file afresh.
 *
 * @module
 */

import { join } from "node:path";
import { assertEquals } from "../../assert.ts";
import { randomFile, sha256File, tempDir } from "../../fixtures.ts";
import { spawnSharer } from "../../../scripts/_child.ts";
import {
  isolatedEnv,
  PromptProcess,
  startTracker,
} from "../../_prompt_process.ts";
import {
  assertCheckedThenNothingMatched,
  assertCheckedThenResumed,
  leavePart,
  loopbackGetArgs,
  spoilPart,
} from "../_cli.ts";
import { CHECK_SAID_BYTES } from "../../../lib/cli/resumed.ts";

/** Large enough that its check is said before it starts. */
const SIZE = CHECK_SAID_BYTES;
/** Slow enough to stop either get part way. */
const SLOW_UPLOAD = "512K";

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
  await leavePart(
    loopbackGetArgs(slow.id, tracker.address, out),
    { P2P_HOME: join(dir.path, "first") },
    join(out, "big.bin.part"),
  );

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
  assertCheckedThenResumed(prompt.lines, "big.bin", prompt.output);
});

Deno.test("the prompt's get says nothing in a large resumed .part matched, after saying it checks it, and gets the file afresh", async () => {
  await using dir = await tempDir();
  const big = await randomFile(dir.path, "big.bin", SIZE);
  await using tracker = await startTracker();
  const out = join(dir.path, "out");
  const part = join(out, "big.bin.part");
  const slow = await spawnSharer(big, tracker.address, [
    "--upload-limit",
    SLOW_UPLOAD,
  ]);
  try {
    await leavePart(
      loopbackGetArgs(slow.id, tracker.address, out),
      { P2P_HOME: join(dir.path, "first") },
      part,
    );
  } finally {
    await slow.child.stop();
  }
  await spoilPart(part);
  const quick = await spawnSharer(big, tracker.address);
  await using _quick = quick.child;

  const home = join(dir.path, "home");
  await Deno.mkdir(home);
  await using prompt = new PromptProcess(
    ["--host", "127.0.0.1", "--port", "0", "--out", out],
    await isolatedEnv(home, tracker.address),
  );
  await prompt.type(`get ${quick.id}\nquit\n`);
  const status = await prompt.end(90_000);
  assertEquals(status.code, 0, prompt.output + prompt.stderr);
  assertCheckedThenNothingMatched(prompt.lines, "big.bin", prompt.output);
  assertEquals(await sha256File(join(out, "big.bin")), quick.id);
});
