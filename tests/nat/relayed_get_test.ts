/**
 * A sharer the tracker cannot connect back to, on 127.0.0.1: it listens on
 * 127.0.0.2 while the tracker sees it at 127.0.0.1, so its registered
 * address refuses connections, as an address behind a router would drop
 * them. The tracker marks it unreachable, the get comes through the relay,
 * and a recording proxy in front of the relay shows it only ciphertext.
 * (tests/nat/nat_traversal_test.ts does the same through real NAT routers.)
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { sha256File, tempDir } from "../fixtures.ts";
import { contains, markedFile, MARKER, recordingRelay } from "../_wiretap.ts";
import { startTracker } from "../../lib/tracker/server.ts";
import { startRelay } from "../../lib/nat/relay_server.ts";
import { PeerNode } from "../../lib/app/peer_node.ts";
import {
  type Reachability,
  TrackerClient,
} from "../../lib/discovery/tracker_client.ts";
import { download } from "../../lib/download/download.ts";
import type { Address } from "../../lib/net/connection.ts";

const LOCAL = "127.0.0.1";
/** Where the sharer really listens: not where the tracker sees it. */
const HIDDEN = "127.0.0.2";
/** Longest wait for the tracker's answer about reachability. */
const REACH_WAIT_MS = 10_000;

/** A tracker whose relay sits behind a recording proxy; all closed on dispose. */
function trackerWithRelay(options: { relay?: boolean } = {}) {
  const relay = startRelay({ host: LOCAL, port: 0 });
  const tap = recordingRelay(relay.address);
  const tracker = startTracker({
    host: LOCAL,
    port: 0,
    relay: options.relay === false ? undefined : {
      port: tap.address.port,
      expect: (token, ends) => relay.expect(token, ends),
    },
  });
  return {
    tracker,
    relay,
    tap,
    async [Symbol.asyncDispose]() {
      await tracker.close();
      await tap[Symbol.asyncDispose]();
      await relay.close();
    },
  };
}

/** A node listening on HIDDEN, and the tracker's verdict on reaching it. */
async function hiddenSharer(tracker: Address, file: string) {
  const verdict = Promise.withResolvers<Reachability>();
  const node = await PeerNode.start({
    tracker,
    host: HIDDEN,
    port: 0,
    onReachability: verdict.resolve,
    // Never ask this machine's real router for anything.
    portMapping: false,
  });
  const meta = await node.share(file);
  const timer = setTimeout(
    () => verdict.reject(new Error("no reachability answer")),
    REACH_WAIT_MS,
  );
  try {
    return { node, meta, reachability: await verdict.promise };
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("a sharer the tracker cannot connect back to is told so, and a get reaches it through the relay, which sees only ciphertext", async () => {
  await using dir = await tempDir();
  const file = await markedFile(dir.path);
  await using lab = trackerWithRelay();
  const { node, meta, reachability } = await hiddenSharer(
    lab.tracker.address,
    file,
  );
  await using _node = node;
  assertEquals(reachability.reachable, false);
  assertEquals(reachability.observed.host, LOCAL);
  const client = await TrackerClient.connect(lab.tracker.address);
  try {
    const { peers } = await client.query(meta.id);
    assertEquals(peers, [{
      host: LOCAL,
      port: node.address.port,
      reachable: false,
    }]);
  } finally {
    client.close();
  }
  const result = await download(meta.id, {
    tracker: lab.tracker.address,
    outDir: join(dir.path, "out"),
  });
  assertEquals(await sha256File(result.path), meta.id);
  assertEquals(result.peers.length, 1);
  assertEquals(result.peers[0].via, "relayed");
  assertEquals(result.peers[0].bytes, meta.size);
  const wire = lab.tap.recorded();
  assert(
    wire.length > meta.size,
    `the pieces crossed the relay (${wire.length} bytes)`,
  );
  assert(
    !contains(wire, new TextEncoder().encode(MARKER)),
    "the file's contents crossed the relay in clear",
  );
  assertEquals(
    lab.relay.stats().sessions,
    0,
    "the relayed session ended with the get",
  );
});

Deno.test("a sharer the tracker can connect back to is reachable and got directly", async () => {
  await using dir = await tempDir();
  const file = await markedFile(dir.path);
  await using lab = trackerWithRelay();
  const verdict = Promise.withResolvers<Reachability>();
  await using node = await PeerNode.start({
    tracker: lab.tracker.address,
    host: LOCAL,
    port: 0,
    onReachability: verdict.resolve,
  });
  const meta = await node.share(file);
  assertEquals((await verdict.promise).reachable, true);
  const result = await download(meta.id, {
    tracker: lab.tracker.address,
    outDir: join(dir.path, "out"),
  });
  assertEquals(await sha256File(result.path), meta.id);
  assertEquals(result.peers[0].via, "direct");
  assertEquals(lab.tap.recorded().length, 0, "nothing went through the relay");
});

Deno.test("without a relay at the tracker, a get from an unreachable sharer fails with a sentence saying so", async () => {
  await using dir = await tempDir();
  const file = await markedFile(dir.path);
  await using lab = trackerWithRelay({ relay: false });
  const { node, meta } = await hiddenSharer(lab.tracker.address, file);
  await using _node = node;
  let failure: unknown;
  try {
    await download(meta.id, {
      tracker: lab.tracker.address,
      outDir: join(dir.path, "out"),
      waitMs: 0,
    });
  } catch (error) {
    failure = error;
  }
  assert(failure instanceof Error, "the get failed");
  assert(
    /offers no relay/.test(failure.message),
    `the failure says why: ${failure.message}`,
  );
});
