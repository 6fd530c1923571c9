/**
 * The session's download total (`status`'s "down", the web page's) counts
 * the bytes received from peers: a cancelled get keeps what it fetched, and
 * a resumed one adds only what it fetched, not what an earlier run saved.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, sha256File, tempDir, testTracker } from "../fixtures.ts";
import { startPeerSession } from "../../lib/cli/peer_session.ts";
import { DEFAULT_PIECE_SIZE } from "../../lib/protocol/limits.ts";

const MIB = 1024 * 1024;
/** The file: 16 pieces of the default size. */
const SIZE = 4 * MIB;
/** What the sharer uploads a second, so that the first get is cut mid-way. */
const UPLOAD_LIMIT = 2 * MIB;
/** Longest the first get may take to reach a quarter of the file. */
const QUARTER_MS = 10_000;

Deno.test("the session's download total keeps a cancelled get's bytes and adds only what a resumed get fetched", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "totals.bin", SIZE);
  const id = await sha256File(file);
  await using tracker = testTracker();
  const address = { host: "127.0.0.1", port: tracker.address.port };
  const common = { tracker: address, host: "127.0.0.1", port: 0 };
  await using sharer = await startPeerSession({
    ...common,
    uploadLimit: UPLOAD_LIMIT,
    note: () => {},
  });
  await sharer.session.share(file);
  await using getter = await startPeerSession({
    ...common,
    outDir: join(dir.path, "out"),
    note: () => {},
  });
  const { session } = getter;

  const first = session.get(id);
  const deadline = performance.now() + QUARTER_MS;
  let running = session.transfers()[0];
  while (
    (running?.done ?? 0) < SIZE / 4 && performance.now() < deadline
  ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    running = session.transfers()[0];
  }
  assert(running && running.done >= SIZE / 4, "the first get got going");
  running.cancel();
  assertEquals(await first, undefined);
  const cut = session.status().downloaded;
  assert(
    cut >= SIZE / 4 && cut < SIZE,
    `a cancelled get keeps what it fetched: ${cut}`,
  );

  const second = await session.get(id);
  assert(second, "the second get saved the file");
  assertEquals(await sha256File(second.path), id);
  const fetched = second.peers.reduce((sum, peer) => sum + peer.bytes, 0);
  assert(fetched < SIZE, `the second get resumed: it fetched ${fetched}`);
  const total = session.status().downloaded;
  assertEquals(total, cut + fetched);
  // Fetched twice at most: pieces in flight when the first was cancelled.
  assert(
    total >= SIZE && total <= SIZE + 4 * DEFAULT_PIECE_SIZE,
    `${total} bytes down for a file of ${SIZE}`,
  );
});
