/**
 * A sharer under a very low `--upload-limit` sends each piece as its bytes
 * are paid for, not in one burst a whole piece's time apart: a getter sees
 * bytes arrive well within the stall time and keeps it, where it used to
 * drop it as stalled (and connect again) every PEER_STALL_TIMEOUT_MS and
 * never finish. Real tracker, sharer and getter processes on 127.0.0.1.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, sha256File, tempDir } from "../fixtures.ts";
import { runEntry, spawnSharer, spawnTracker } from "../../scripts/_child.ts";
import { PEER_STALL_TIMEOUT_MS } from "../../lib/protocol/limits.ts";

const PIECE = 64 * 1024;
const LIMIT = 10 * 1024;

Deno.test("a get from a sharer at --upload-limit 10K with pieces that take longer than the stall time completes without dropping it", async () => {
  // One piece takes 6.4 s at the limit, longer than the stall time.
  assert(PIECE / LIMIT * 1000 > PEER_STALL_TIMEOUT_MS);
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "slow.bin", 2 * PIECE);
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const sharer = await spawnSharer(file, tracker.address, [
    "--upload-limit",
    "10K",
    "--piece-size",
    "64K",
    "-q",
  ]);
  await using _sharer = sharer.child;
  const out = join(dir.path, "out");
  const get = await runEntry("peer.ts", [
    "get",
    sharer.id,
    "--tracker",
    tracker.address,
    "--out",
    out,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--no-lan",
    "--no-dht",
    "--verbose",
  ], { timeoutMs: 45_000 });
  assertEquals(get.code, 0, get.stderr);
  assert(!/Dropped peer|stopped sending/.test(get.stderr), get.stderr);
  const connects = get.stderr.match(/Connected to /g) ?? [];
  assertEquals(connects.length, 1, get.stderr);
  assertEquals(await sha256File(join(out, "slow.bin")), await sha256File(file));
});
