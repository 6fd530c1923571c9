/**
 * `peer get` resuming a large `.part` an earlier get left, with real
 * processes (a tracker, a slow sharer, the getter stopped part way, then run
 * again): every piece already there is checked before the get goes on,
 * which takes a while for a large `.part`, and the get says so before the
 * check starts, not only once it is done.
 */

import { join } from "node:path";
import { randomFile, tempDir } from "../fixtures.ts";
import {
  READY_TIMEOUT_MS,
  spawnEntry,
  spawnSharer,
  spawnTracker,
} from "../../scripts/_child.ts";
import {
  assertCheckedThenResumed,
  leavePart,
  loopbackGetArgs,
} from "./_cli.ts";
import { CHECK_SAID_BYTES } from "../../lib/cli/resumed.ts";

/** Large enough that its check is said before it starts. */
const SIZE = CHECK_SAID_BYTES;
/** Slow enough to stop either get part way. */
const SLOW_UPLOAD = "512K";

Deno.test("peer get resuming a large .part says it checks it before the check starts, then how much was there", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "big.bin", SIZE);
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
    await leavePart(args, env, part);

    const again = spawnEntry("peer.ts", args, { env });
    try {
      await again.waitForLine(
        /^Resuming big\.bin: /,
        READY_TIMEOUT_MS,
        "stderr",
      );
    } finally {
      await again.stop("SIGINT");
    }
    assertCheckedThenResumed(
      again.stderr,
      "big.bin",
      again.stderr.join("\n"),
    );
  } finally {
    await sharer.child.stop();
    await tracker.child.stop();
  }
});
