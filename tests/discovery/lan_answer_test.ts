/**
 * A sharer on the LAN answers each asker at once, once a second: two
 * getters that start within a second of each other both hear it before
 * their own first retry (FIND_FIRST_RETRY_MS).
 */

import { assert, assertEquals } from "../assert.ts";
import { requiring, within } from "../fixtures.ts";
import {
  discoveryKey,
  FIND_FIRST_RETRY_MS,
  LanDiscovery,
} from "../../lib/discovery/lan.ts";
import type { Address } from "../../lib/net/connection.ts";

const LOCAL = "127.0.0.1";

function testGroup(): { group: string; udpPort: number } {
  return {
    group: `239.255.78.${1 + Math.floor(Math.random() * 250)}`,
    udpPort: 20_000 + Math.floor(Math.random() * 40_000),
  };
}

async function start(
  where: { group: string; udpPort: number },
  port: number,
): Promise<LanDiscovery | undefined> {
  return await LanDiscovery.start({ port, interface: LOCAL, ...where });
}

/** Ms until `lan` hears a peer for `key`, bounded. */
async function msToFind(lan: LanDiscovery, key: string): Promise<number> {
  const started = performance.now();
  let search: Disposable | undefined;
  try {
    await within(
      new Promise<Address>((resolve) => search = lan.find(key, resolve)),
      5_000,
      "finding the sharer",
    );
    return performance.now() - started;
  } finally {
    search?.[Symbol.dispose]();
  }
}

const probe = await start(testGroup(), 1);
await probe?.close();
const loopbackTest = requiring(
  probe ? undefined : `no multicast on ${LOCAL}`,
);

loopbackTest(
  "LAN: two getters a moment apart both hear the sharer before their first retry",
  async () => {
    const where = testGroup();
    const sharer = (await start(where, 7100))!;
    const first = (await start(where, 7101))!;
    const second = (await start(where, 7102))!;
    try {
      const key = discoveryKey("ab".repeat(32));
      assert(sharer.offer(key));
      // Let the sharer's own announcement pass.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const firstMs = await msToFind(first, key);
      // The second asks well within a second of the sharer's answer to the first.
      const secondMs = await msToFind(second, key);
      assert(firstMs < FIND_FIRST_RETRY_MS, `first heard after ${firstMs} ms`);
      assert(
        secondMs < FIND_FIRST_RETRY_MS,
        `second heard after ${secondMs} ms`,
      );
      assertEquals(sharer.stats.malformed, 0);
    } finally {
      await Promise.all([sharer.close(), first.close(), second.close()]);
    }
  },
);
