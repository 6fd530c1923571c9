/**
 * A get's transfer record says how much of the file an earlier get had
 * saved (`Transfer.resumed`) only when it resumed a `.part` that was in the
 * folder as it started: a fresh get of a file of one piece, whose first
 * report comes with that piece in and its peer gone, resumed nothing.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import {
  otherFilesPart,
  randomFile,
  sha256File,
  tempDir,
  testTracker,
} from "../fixtures.ts";
import { startPeerSession } from "../../lib/cli/peer_session.ts";
import type { Transfer } from "../../lib/app/transfers.ts";
import type { Session } from "../../lib/app/session.ts";
import { DEFAULT_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import { PART_SUFFIX, RECORD_SUFFIX } from "../../lib/storage/part_file.ts";

/**
 * Gets `id` on `session`; resolves once it saved the file to its transfer
 * and the bytes its peers sent.
 */
async function savedGet(
  session: Session,
  id: string,
): Promise<{ transfer: Transfer; fromPeers: number }> {
  let saved: Transfer | undefined;
  const stop = session.listen((event) => {
    if (event.type === "saved") saved = event.transfer;
  });
  try {
    const result = await session.get(id);
    assert(result, "the get saved the file");
    assertEquals(await sha256File(result.path), id);
    assert(saved, "the session said the file was saved");
    const fromPeers = result.peers.reduce((sum, peer) => sum + peer.bytes, 0);
    return { transfer: saved, fromPeers };
  } finally {
    stop();
  }
}

/** Session options for a node on 127.0.0.1 using the tracker at `port`. */
function onLoopback(port: number) {
  return {
    tracker: { host: "127.0.0.1", port },
    host: "127.0.0.1",
    port: 0,
    note: () => {},
  };
}

Deno.test("a fresh get of a file of one piece records nothing resumed, its piece received", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "small.bin", 100_000);
  const id = await sha256File(file);
  await using tracker = testTracker();
  const common = onLoopback(tracker.address.port);
  await using sharer = await startPeerSession(common);
  await sharer.session.share(file);
  await using getter = await startPeerSession({
    ...common,
    outDir: join(dir.path, "out"),
  });

  const { transfer, fromPeers } = await savedGet(getter.session, id);
  assertEquals(fromPeers, 100_000);
  assertEquals(transfer.resumed, 0);
  assertEquals(transfer.fetched, 100_000);
  assertEquals(getter.session.status().downloaded, 100_000);
});

for (const renamed of [false, true]) {
  Deno.test(
    `a get that resumes the .part a cancelled get left${
      renamed ? " under another name" : ""
    } records the bytes that were there`,
    async () => {
      const size = 6 * DEFAULT_PIECE_SIZE;
      await using dir = await tempDir();
      const file = await randomFile(dir.path, "big.bin", size);
      const id = await sha256File(file);
      await using tracker = testTracker();
      const common = onLoopback(tracker.address.port);
      // Three seconds for the whole file: the first get is cancelled sooner.
      await using sharer = await startPeerSession({
        ...common,
        uploadLimit: 2 * DEFAULT_PIECE_SIZE,
      });
      await sharer.session.share(file);
      await using getter = await startPeerSession({
        ...common,
        outDir: join(dir.path, "out"),
      });
      const { session } = getter;

      const first = session.get(id);
      const deadline = performance.now() + 10_000;
      let running = session.transfers()[0];
      while ((running?.done ?? 0) === 0 && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        running = session.transfers()[0];
      }
      assert(running && running.done > 0, "the first get got a piece");
      assertEquals(running.resumed, 0, "the first get started afresh");
      running.cancel();
      assertEquals(await first, undefined);

      if (renamed) {
        // As a get saving it as other.bin (peer get --output) leaves it.
        const part = join(dir.path, "out", "big.bin" + PART_SUFFIX);
        const moved = join(dir.path, "out", "other.bin" + PART_SUFFIX);
        await Deno.rename(part, moved);
        await Deno.rename(part + RECORD_SUFFIX, moved + RECORD_SUFFIX);
      }

      const { transfer, fromPeers } = await savedGet(session, id);
      assert(
        transfer.resumed > 0 && transfer.resumed < size,
        `${transfer.resumed} bytes resumed`,
      );
      assertEquals(transfer.resumed + fromPeers, size);
    },
  );
}

Deno.test("a fresh get beside another file's .part of its name records nothing resumed", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "small.bin", 100_000);
  const id = await sha256File(file);
  const out = join(dir.path, "out");
  await otherFilesPart(out, "small.bin");
  await using tracker = testTracker();
  const common = onLoopback(tracker.address.port);
  await using sharer = await startPeerSession(common);
  await sharer.session.share(file);
  await using getter = await startPeerSession({ ...common, outDir: out });

  const { transfer, fromPeers } = await savedGet(getter.session, id);
  assertEquals(fromPeers, 100_000);
  assertEquals([transfer.resumed, transfer.fetched], [0, 100_000]);
  assertEquals(await transfer.resumeChecked, 0);
});
