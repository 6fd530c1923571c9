import { join } from "node:path";
import { assert } from "../assert.ts";
import { randomFile, tempDir, testTracker } from "../fixtures.ts";
import { PeerNode } from "../../lib/app/peer_node.ts";
import { spawnEntry } from "../../scripts/_child.ts";

Deno.test("peer get --wait 3s that gives up says it waited 3 s, the wait it used", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "left.bin", 2 * 1024 * 1024);
  const node = await PeerNode.start({
    tracker: tracker.address,
    host: "127.0.0.1",
    port: 0,
    uploadLimit: 256 * 1024,
  });
  let closed = false;
  try {
    const meta = await node.share(source);
    await using getter = spawnEntry("peer.ts", [
      "get",
      meta.id,
      "--tracker",
      `127.0.0.1:${tracker.address.port}`,
      "--out",
      join(dir.path, "out"),
      "--port",
      "0",
      "--wait",
      "3s",
      "--verbose",
    ]);
    await getter.waitForLine(/Connected to/, 20_000, "stderr");
    // The only sharer leaves mid-download.
    await node.close();
    closed = true;
    const line = await getter.waitForLine(
      /Could not download/,
      30_000,
      "stderr",
    );
    assert(/after waiting 3 s for a peer/.test(line), line);
  } finally {
    if (!closed) await node.close();
  }
});
