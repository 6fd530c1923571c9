/**
 * A page that cannot be served (its port in use) leaves nothing of itself
 * running: no repeating timer (counted here through a wrapped
 * `setInterval`, since Deno's test sanitizers do not see intervals) and no
 * tracker check still out.
 *
 * @module
 */

import { join } from "node:path";
import { assertEquals, assertRejects } from "../assert.ts";
import { tempDir, testTracker } from "../fixtures.ts";
import { PeerNode } from "../../lib/app/peer_node.ts";
import { Session } from "../../lib/app/session.ts";
import { startWebUi } from "../../lib/web/server.ts";

Deno.test("web: a page whose port is in use fails to start and leaves no timer or check running", async () => {
  await using dir = await tempDir();
  const tracker = testTracker();
  const address = { host: "127.0.0.1", port: tracker.address.port };
  const node = await PeerNode.start({
    tracker: address,
    host: "127.0.0.1",
    port: 0,
  });
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // Intervals set and not cleared while the page starts.
  const live = new Set<unknown>();
  const { setInterval: set, clearInterval: clear } = globalThis;
  globalThis.setInterval = ((...args: Parameters<typeof set>) => {
    const id = set(...args);
    live.add(id);
    return id;
  }) as typeof set;
  globalThis.clearInterval = ((id?: Parameters<typeof clear>[0]) => {
    live.delete(id);
    clear(id);
  }) as typeof clear;
  try {
    const session = new Session(node, {
      tracker: address,
      outDir: join(dir.path, "downloads"),
    });
    await assertRejects(
      () =>
        startWebUi(session, {
          tracker: address,
          dropDir: join(dir.path, "dropped"),
          port: busy.addr.port,
        }),
      Deno.errors.AddrInUse,
    );
    assertEquals(live.size, 0, "intervals left running");
  } finally {
    globalThis.setInterval = set;
    globalThis.clearInterval = clear;
    for (const id of live) clear(id as Parameters<typeof clear>[0]);
    await node.close();
    await tracker.close();
  }
});
