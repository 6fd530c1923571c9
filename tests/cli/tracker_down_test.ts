/**
 * `peer get` while its tracker is down: it says it asks the tracker again,
 * does so while `--wait` lasts, and gets the file once the tracker is up.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, sha256File, tempDir } from "../fixtures.ts";
import { freePort } from "./_cli.ts";
import { completion, spawnEntry } from "../../scripts/_child.ts";
import { startTracker } from "../../lib/tracker/server.ts";
import { PeerNode } from "../../lib/app/peer_node.ts";
import { hashFile } from "../../lib/storage/file_hash.ts";
import { waitingFor, whileDown } from "../../lib/cli/_get_waits.ts";

Deno.test("peer get started while the tracker is down asks it again and saves the file once the tracker is up", async () => {
  await using dir = await tempDir();
  const source = await randomFile(dir.path, "b.bin", 400_000);
  const { id } = await hashFile(source);
  const port = freePort();
  const out = join(dir.path, "out");
  const getter = spawnEntry("peer.ts", [
    "get",
    id,
    "--tracker",
    `127.0.0.1:${port}`,
    "--no-dht",
    "--no-lan",
    "--wait",
    "40s",
    "--out",
    out,
  ]);
  const note = await getter.waitForLine(
    /Cannot reach tracker/,
    20_000,
    "stderr",
  );
  assertEquals(
    note,
    `Cannot reach tracker at 127.0.0.1:${port}: connection refused. Is it running? Set --tracker or P2P_TRACKER. Asking it again every few seconds, for up to 40s (--wait).`,
  );
  const tracker = startTracker({ host: "127.0.0.1", port });
  const node = await PeerNode.start({
    tracker: { host: "127.0.0.1", port },
    host: "127.0.0.1",
    port: 0,
  });
  try {
    await node.share(source);
    const result = await completion(getter, 30_000);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(await sha256File(join(out, "b.bin")), id);
  } finally {
    await node.close();
    await tracker.close();
  }
});

Deno.test("peer get of a link whose tracker stays down says to ask whoever gave the link, in the note and the error", async () => {
  const port = freePort();
  const link = `p2p://127.0.0.1:${port}/v1/pub/${"ab".repeat(32)}`;
  const started = performance.now();
  const result = await completion(
    spawnEntry("peer.ts", ["get", link, "--wait", "2s"]),
  );
  const took = performance.now() - started;
  assertEquals(result.code, 1, result.stderr);
  const lines = result.stderr.trim().split("\n");
  const cannot =
    `Cannot reach tracker at 127.0.0.1:${port}: connection refused. Is it running? The link names it: ask whoever gave you the link.`;
  assertEquals(
    lines[0],
    `${cannot} Asking it again every few seconds, for up to 2s (--wait).`,
  );
  assertEquals(lines.at(-1), cannot);
  assert(took > 2_000, `gave up after ${took} ms`);
});

Deno.test("peer get's notes while the tracker is down say what it does, and for how long", () => {
  const node = { lan: {}, dht: {} };
  assertEquals(
    whileDown({ retryMs: 0, lookMs: 3_000, shortId: false }, {
      trackers: 1,
      node,
    }),
    "Looking on the local network and in the DHT instead, for 3s.",
  );
  assertEquals(
    whileDown({ retryMs: 80_000, lookMs: 80_000, shortId: false }, {
      trackers: 2,
      node,
    }),
    "Asking them again every few seconds and looking on the local network and in the DHT meanwhile, for up to 1m 20s (--wait).",
  );
  assertEquals(
    whileDown({ retryMs: 10_000, lookMs: 0, shortId: true }, {
      trackers: 1,
      node,
    }),
    "Asking it again every few seconds, for up to 10s (--wait); a short ID cannot be looked up on the local network or in the DHT, only the full ID or the link can.",
  );
  const waiting = {
    name: "ID 2bc085e1d3d2ee97",
    size: 0,
    received: 0,
    bytesPerSecond: 0,
    peers: 0,
    waiting: true,
  };
  assertEquals(
    waitingFor({ ...waiting, trackersDown: true }, { trackers: 1 }),
    "ID 2bc085e1d3d2ee97: the tracker cannot be reached; asking again",
  );
  assertEquals(
    waitingFor(waiting, { trackers: 1 }),
    "ID 2bc085e1d3d2ee97 is not shared yet: waiting for a sharer",
  );
});
