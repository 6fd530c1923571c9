/**
 * `peer get` resuming a large `.part` of which nothing matches (an earlier
 * get's `.part` whose bytes were since spoilt), with real processes: it says
 * it checks that `.part`, then that nothing in it matched, and gets the
 * whole file afresh.
 */

import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import { randomFile, sha256File, tempDir } from "../fixtures.ts";
import { runEntry, spawnSharer, spawnTracker } from "../../scripts/_child.ts";
import {
  assertCheckedThenNothingMatched,
  leavePart,
  loopbackGetArgs,
  spoilPart,
} from "./_cli.ts";
import { CHECK_SAID_BYTES } from "../../lib/cli/resumed.ts";

/** Large enough that its check is said before it starts. */
const SIZE = CHECK_SAID_BYTES;
/** Slow enough to stop the first get part way. */
const SLOW_UPLOAD = "512K";

Deno.test("peer get says nothing in a large resumed .part matched, after saying it checks it, and gets the file afresh", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "big.bin", SIZE);
  const tracker = await spawnTracker();
  try {
    const out = join(dir.path, "out");
    const env = { P2P_HOME: join(dir.path, "home") };
    const slow = await spawnSharer(file, tracker.address, [
      "--upload-limit",
      SLOW_UPLOAD,
    ]);
    const args = loopbackGetArgs(slow.id, tracker.address, out);
    const part = join(out, "big.bin.part");
    try {
      await leavePart(args, env, part);
    } finally {
      await slow.child.stop();
    }
    await spoilPart(part);

    const quick = await spawnSharer(file, tracker.address);
    try {
      const again = await runEntry("peer.ts", args, { env, timeoutMs: 90_000 });
      assertEquals(again.code, 0, again.stderr);
      const lines = again.stderr.split("\n");
      assertCheckedThenNothingMatched(lines, "big.bin", again.stderr);
      assertEquals(await sha256File(join(out, "big.bin")), slow.id);
    } finally {
      await quick.child.stop();
    }
  } finally {
    await tracker.child.stop();
  }
});
