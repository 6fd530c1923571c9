/**
 * A get from a sharer reached only through the tracker's relay, whose byte
 * quota ends each session: the get meets the sharer at the relay again
 * after each, as often as the file takes, in one run.
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, sha256File, tempDir } from "../fixtures.ts";
import { hiddenSharer, trackerWithRelay } from "./_relay_lab.ts";
import { download, MAX_LINKS_PER_PEER } from "../../lib/download/download.ts";

const MIB = 1024 * 1024;

Deno.test("a 10 MB get through a relay with a 1 MiB quota finishes on its first run: a session the quota ended after sending pieces does not use up the sharer's attempts, and is logged as a relayed connection that closed, not as a dropped peer", async () => {
  await using dir = await tempDir();
  const size = 10_000_000;
  const file = await randomFile(dir.path, "shared.bin", size);
  await using lab = trackerWithRelay({ sessionQuota: 1 * MIB });
  await using node = await hiddenSharer(lab.tracker.address, file);
  const lines: string[] = [];
  const result = await download(node.meta.id, {
    tracker: lab.tracker.address,
    outDir: join(dir.path, "out"),
    log: (line) => lines.push(line),
  }).catch((error) => {
    throw new Error(`${error.message}\n${lines.join("\n")}`);
  });
  assertEquals(await sha256File(result.path), node.meta.id);
  assertEquals(result.peers.map((peer) => peer.bytes), [size]);
  // More sessions than a peer is given attempts: each ended by the quota.
  const { paired, quotaReached } = lab.relay.stats();
  assert(
    paired > MAX_LINKS_PER_PEER && quotaReached >= MAX_LINKS_PER_PEER,
    `${paired} sessions, ${quotaReached} ended by the quota`,
  );
  // Each is said as a relayed connection that closed, with both likely
  // reasons and no claim of which, not as a dropped peer.
  const log = lines.join("\n");
  assertEquals(lines.filter((line) => line.startsWith("Dropped peer")), []);
  const ended = lines.filter((line) =>
    /^The relayed connection to 127\.0\.0\.1:\d+ closed after \d[\d.]* [KM]?i?B \(the relay's limit per connection, or the peer left\): meeting it at the relay again\.( Asking again for its \d+ outstanding pieces?\.)?$/
      .test(line)
  );
  assert(ended.length >= quotaReached - 1, log);
});
