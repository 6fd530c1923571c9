/**
 * `peer get` resuming a large `.part` an earlier get left, with real
 * processes (a tracker, a slow sharer, the getter stopped part way, then run
 * again): every piece already there is checked before the get goes on,
 * which takes a while for a large `.part`, and the get says so before the
 * check starts, not only once it is done.
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { pollUntil, randomFile, tempDir } from "../fixtures.ts";
import {
  READY_TIMEOUT_MS,
  spawnEntry,
  spawnSharer,
  spawnTracker,
} from "../../scripts/_child.ts";
import { loopbackGetArgs } from "./_cli.ts";
import { CHECK_SAID_BYTES } from "../../lib/cli/resumed.ts";

/** Large enough that its check is said before it starts. */
const SIZE = CHECK_SAID_BYTES;
/** Slow enough to stop either get part way. */
const SLOW_UPLOAD = "512K";

/** Bytes of `part` that are not zero, a sign that pieces were written. */
async function written(part: string): Promise<boolean> {
  const held = await Deno.readFile(part).catch(() => new Uint8Array());
  return held.some((byte) => byte !== 0);
}

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
    const first = spawnEntry("peer.ts", args, { env });
    await pollUntil(READY_TIMEOUT_MS, async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      return await written(part);
    });
    await first.stop("SIGINT");
    assertEquals(
      first.stderr.filter((line) => line.includes("Checking")),
      [],
      "a get that starts afresh checks nothing",
    );

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
    const told = again.stderr.filter((line) =>
      /^(Checking|Resuming) /.test(line)
    );
    assertEquals(told.length, 2, again.stderr.join("\n"));
    assertEquals(told[0], "Checking big.bin.part from an earlier get…");
    assert(told[1].startsWith("Resuming big.bin: "), told[1]);
  } finally {
    await sharer.child.stop();
    await tracker.child.stop();
  }
});
