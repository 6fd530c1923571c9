import { assert, assertEquals } from "../assert.ts";
import { testTracker } from "../fixtures.ts";
import {
  ASK_GRACE_MS,
  askEvery,
  mergeFileLists,
  trackersOf,
} from "../../lib/discovery/tracker_group.ts";
import {
  type TrackerTrouble,
  troubleNote,
  troubleReason,
} from "../../lib/discovery/tracker_trouble.ts";
import { AnnouncerGroup } from "../../lib/discovery/announcer_group.ts";
import { TrackerUnreachableError } from "../../lib/discovery/tracker_client.ts";
import { mergePeers } from "../../lib/download/_tracker_panel.ts";
import { resolveTrackers } from "../../lib/cli/args.ts";
import type { FileMeta } from "../../lib/protocol/messages.ts";

const ID_A = "a".repeat(64);
const ID_B = "b".repeat(64);

/** A port nothing listens on (taken and given back). */
function deadAddress(): { host: string; port: number } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return { host: "127.0.0.1", port };
}

Deno.test("mergeFileLists() keeps each file once, with the most peers any tracker counts", () => {
  const merged = mergeFileLists([
    [{ id: ID_A, name: "a", size: 1, peers: 2, partial: 1 }],
    [
      { id: ID_B, name: "b", size: 2, peers: 1 },
      { id: ID_A, name: "a", size: 1, peers: 5 },
    ],
    [],
  ]);
  assertEquals(merged, [
    { id: ID_A, name: "a", size: 1, peers: 5, partial: 1 },
    { id: ID_B, name: "b", size: 2, peers: 1 },
  ]);
});

Deno.test("trackersOf() and resolveTrackers() keep each tracker once, the first first", () => {
  const a = { host: "10.0.0.1", port: 5000 };
  const b = { host: "10.0.0.2", port: 5000 };
  assertEquals(trackersOf(a, [b, a, { ...b }]), [a, b]);
  assertEquals(
    resolveTrackers({ flag: "10.0.0.1, 10.0.0.2:5000,10.0.0.1:5000" }),
    [a, b],
  );
  assertEquals(resolveTrackers({ env: "10.0.0.2" }), [b]);
  assertEquals(mergePeers([a, b], [b, { host: "10.0.0.1", port: 5000 }]), [
    a,
    b,
  ]);
});

Deno.test("askEvery() answers with the trackers that are up, tells of the one that is down, and with none up names each", async () => {
  await using one = testTracker();
  const dead = deadAddress();
  const up = { host: "127.0.0.1", port: one.address.port };
  const troubles: TrackerTrouble[] = [];
  const lists = await askEvery([dead, up], (client) => client.list(), {
    onTrouble: (trouble) => troubles.push(trouble),
  });
  assertEquals(lists, [[]]);
  assertEquals(troubles.map((t) => t.tracker), [dead]);
  assertEquals(troubleReason(troubles[0].error), "connection refused");
  assertEquals(
    troubleNote(troubles[0], "."),
    `The tracker at 127.0.0.1:${dead.port} could not be used (connection refused).`,
  );
  let failed: unknown;
  const dead2 = deadAddress();
  await askEvery([dead, dead2], (client) => client.list()).catch((e) =>
    failed = e
  );
  assert(failed instanceof TrackerUnreachableError, String(failed));
  assertEquals((failed as TrackerUnreachableError).address.port, dead.port);
  assertEquals(
    (failed as Error).message,
    `Cannot reach any of the 2 trackers: 127.0.0.1:${dead.port} (connection refused), 127.0.0.1:${dead2.port} (connection refused). Are they running? Set --tracker or P2P_TRACKER.`,
  );
  // With one tracker its own error, as before.
  await askEvery([dead], (client) => client.list()).catch((e) => failed = e);
  assertEquals(
    (failed as Error).message,
    `Cannot reach tracker at 127.0.0.1:${dead.port}: connection refused. Is it running? Set --tracker or P2P_TRACKER.`,
  );
});

Deno.test("askEvery() tells of a tracker that has not answered when the others' answers are taken", async () => {
  await using one = testTracker();
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of silent) held.push(conn);
  })().catch(() => {});
  try {
    const hang = { host: "127.0.0.1", port: silent.addr.port };
    const up = { host: "127.0.0.1", port: one.address.port };
    const troubles: TrackerTrouble[] = [];
    const lists = await askEvery([hang, up], (client) => client.list(), {
      onTrouble: (trouble) => troubles.push(trouble),
    });
    assertEquals(lists, [[]]);
    assertEquals(troubles.map((t) => t.tracker), [hang]);
    assertEquals(
      troubleReason(troubles[0].error),
      `it did not answer within ${ASK_GRACE_MS / 1000} s of the others`,
    );
  } finally {
    for (const conn of held) conn.close();
    silent.close();
    await accepting;
  }
});

Deno.test("AnnouncerGroup registers with the trackers that are up, and with none up rejects leaving nothing kept", async () => {
  await using one = testTracker();
  await using two = testTracker();
  const up1 = { host: "127.0.0.1", port: one.address.port };
  const up2 = { host: "127.0.0.1", port: two.address.port };
  const meta: FileMeta = {
    id: ID_A,
    name: "a.bin",
    size: 10,
    pieceSize: 262_144,
    pieceHashes: new Uint8Array(32).fill(7),
  };
  const group = new AnnouncerGroup([deadAddress(), up1, up2], { port: 7000 });
  try {
    await group.add(meta);
    // Both trackers that are up list it (the second may take a moment).
    for (const up of [up1, up2]) {
      const deadline = performance.now() + 5_000;
      for (;;) {
        const [files] = await askEvery([up], (client) => client.list());
        if (files.some((f) => f.id === ID_A)) break;
        assert(performance.now() < deadline, `${up.port} never listed it`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  } finally {
    await group.close();
  }
  const none = new AnnouncerGroup([deadAddress(), deadAddress()], {
    port: 7001,
  });
  try {
    let failed: unknown;
    await none.add(meta).catch((error) => failed = error);
    assert(failed instanceof TrackerUnreachableError, String(failed));
  } finally {
    await none.close();
  }
});
