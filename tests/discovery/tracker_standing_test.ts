/**
 * Which trackers have a peer's registrations, against real trackers on
 * 127.0.0.1: an `AnnouncerGroup` tells of each tracker that takes them,
 * stops answering, and is back (with what it had forgotten registered
 * again), once per change; and the teller's words for a tracker lost and
 * back, told once each.
 */

import { assert, assertEquals } from "../assert.ts";
import { AnnouncerGroup } from "../../lib/discovery/announcer_group.ts";
import { TrackerClient } from "../../lib/discovery/tracker_client.ts";
import { TrackerUnreachableError } from "../../lib/discovery/tracker_errors.ts";
import {
  type TrackerChange,
  troubleTeller,
} from "../../lib/discovery/tracker_trouble.ts";
import type { Address } from "../../lib/net/connection.ts";
import { HASH_BYTES, MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import type { FileMeta } from "../../lib/protocol/messages.ts";
import { startTracker, type TrackerServer } from "../../lib/tracker/server.ts";
import { freePort } from "../cli/_cli.ts";

/** A file whose ID starts with `prefix`. */
function meta(prefix: string): FileMeta {
  return {
    id: (prefix + "0".repeat(64)).slice(0, 64),
    name: `${prefix}.bin`,
    size: 2 * MIN_PIECE_SIZE,
    pieceSize: MIN_PIECE_SIZE,
    pieceHashes: new Uint8Array(2 * HASH_BYTES).fill(7),
  };
}

/** A tracker on 127.0.0.1 at `port` (0: any), closed on dispose. */
function tracker(port = 0): TrackerServer & AsyncDisposable {
  const server = startTracker({ host: "127.0.0.1", port });
  return Object.assign(server, {
    [Symbol.asyncDispose]: () => server.close(),
  });
}

/** Whether the tracker at `address` lists `id`. */
async function lists(address: Address, id: string): Promise<boolean> {
  const client = await TrackerClient.connect(address);
  try {
    return (await client.list()).some((file) => file.id === id);
  } finally {
    client.close();
  }
}

/** Polls `check` until true; fails after `ms`. */
async function eventually(check: () => boolean | Promise<boolean>, ms = 5_000) {
  const end = performance.now() + ms;
  while (!await check()) {
    assert(performance.now() < end, `not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A change as `[port, now, was]`, to compare. */
function brief(change: TrackerChange): [number, string, string | undefined] {
  return [change.tracker.port, change.now, change.was];
}

Deno.test("AnnouncerGroup tells once that a tracker took the registrations, stopped answering, and is back with them", async () => {
  await using one = tracker();
  const first = tracker();
  const a = { host: "127.0.0.1", port: one.address.port };
  const b = { host: "127.0.0.1", port: first.address.port };
  const group = new AnnouncerGroup([a, b], { port: 7000, intervalMs: 100 });
  const changes: TrackerChange[] = [];
  using _watching = group.watch((change) => changes.push(change));
  try {
    assertEquals(group.registeredWith(), []);
    await group.add(meta("aa"));
    await eventually(() => group.registeredWith().length === 2);
    assertEquals(group.registeredWith(), [a, b]);
    await first.close();
    await eventually(() => group.registeredWith().length === 1);
    assertEquals(group.registeredWith(), [a]);
    const lost = changes.at(-1)!;
    assert(lost.error instanceof TrackerUnreachableError, String(lost.error));
    // Renewals keep failing: no more news until it is back.
    await new Promise((resolve) => setTimeout(resolve, 350));
    await using _second = tracker(b.port);
    await eventually(() => group.registeredWith().length === 2);
    assert(await lists(b, meta("aa").id), "registered again when back");
    const of = (port: number) =>
      changes.filter((change) => change.tracker.port === port).map(brief);
    assertEquals(of(a.port), [[a.port, "registered", undefined]]);
    assertEquals(of(b.port), [
      [b.port, "registered", undefined],
      [b.port, "unreachable", "registered"],
      [b.port, "registered", "unreachable"],
    ]);
  } finally {
    await group.close();
    await first.close();
  }
});

Deno.test("AnnouncerGroup with its one tracker down tells it could not be reached, and that it has the files once it is up", async () => {
  const port = freePort();
  const address = { host: "127.0.0.1", port };
  const group = new AnnouncerGroup([address], { port: 7001, intervalMs: 100 });
  const changes: TrackerChange[] = [];
  using _watching = group.watch((change) => changes.push(change));
  try {
    let failed: unknown;
    await group.add(meta("bb"), {}, { keepWhenDown: true })
      .catch((error) => failed = error);
    assert(failed instanceof TrackerUnreachableError, String(failed));
    await group.add(meta("cc"), {}, { keepWhenDown: true }).catch(() => {});
    assertEquals(changes.map(brief), [[port, "unreachable", undefined]]);
    await using _up = tracker(port);
    await eventually(() => group.registeredWith().length === 1);
    assert(await lists(address, meta("bb").id));
    assert(await lists(address, meta("cc").id));
    assertEquals(changes.map(brief), [
      [port, "unreachable", undefined],
      [port, "registered", "unreachable"],
    ]);
  } finally {
    await group.close();
  }
});

Deno.test("troubleTeller tells of a tracker lost and back once each, back only after its trouble, and the next trouble again", () => {
  const said: string[] = [];
  const tell = troubleTeller((line) => said.push(line));
  const tracker = { host: "10.0.0.5", port: 5000 };
  const error = new TrackerUnreachableError(
    tracker,
    "Cannot reach tracker at 10.0.0.5:5000: connection refused. Is it running? Set --tracker or P2P_TRACKER.",
  );
  tell({ tracker, error, turn: "back" }, ": it has this peer's files again.");
  tell(
    { tracker, error, turn: "lost" },
    ": sharing on the local network only until it is back.",
  );
  tell({ tracker, error, turn: "lost" }, ": again.");
  tell({ tracker, error, turn: "back" }, ": it has this peer's files again.");
  tell({ tracker, error, turn: "back" }, ": twice.");
  tell({ tracker, error }, ": the others have this peer's files.");
  assertEquals(said, [
    "The tracker at 10.0.0.5:5000 stopped answering (connection refused): sharing on the local network only until it is back.",
    "The tracker at 10.0.0.5:5000 is back: it has this peer's files again.",
    "The tracker at 10.0.0.5:5000 could not be used (connection refused): the others have this peer's files.",
  ]);
});
