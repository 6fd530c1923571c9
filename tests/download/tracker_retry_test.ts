/**
 * A get started while its tracker is down: the tracker is asked again
 * while the wait lasts and the get goes on once it answers; and what the
 * get says when it gives up having looked on the LAN and in the DHT.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { randomFile, sha256File, tempDir, within } from "../fixtures.ts";
import { freePort } from "../cli/_cli.ts";
import {
  download,
  DownloadError,
  type DownloadProgress,
  type TrackersDown,
} from "../../lib/download/download.ts";
import { PeerNode } from "../../lib/app/peer_node.ts";
import { startTracker } from "../../lib/tracker/server.ts";
import { hashFile } from "../../lib/storage/file_hash.ts";
import { TrackerUnreachableError } from "../../lib/discovery/tracker_client.ts";
import type { Address } from "../../lib/net/connection.ts";
import { SHORT_ID_HINT } from "../../lib/download/_patient_lookup.ts";

/** A LAN (or DHT) on which nobody answers; `nodes` as a DHT's stats say. */
function silent(nodes?: number) {
  return {
    find: () => ({ [Symbol.dispose]() {} }),
    ...(nodes === undefined ? {} : { stats: { nodes } }),
  };
}

/** Resolves once `check` holds, polling every 20 ms for at most `ms`. */
async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error("Timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A tracker, and a sharer of `source` registered with it, at `address`. */
async function comeUp(address: Address, source: string) {
  const tracker = startTracker({ host: address.host, port: address.port });
  const node = await PeerNode.start({
    tracker: address,
    host: "127.0.0.1",
    port: 0,
  });
  await node.share(source);
  return {
    async [Symbol.asyncDispose]() {
      await node.close();
      await tracker.close();
    },
  };
}

Deno.test("download() asks a tracker that is down again while it waits, and gets the file once the tracker is up", async () => {
  await using dir = await tempDir();
  const source = await randomFile(dir.path, "later.bin", 300_000);
  const { id } = await hashFile(source);
  const address = { host: "127.0.0.1", port: freePort() };
  const seen: DownloadProgress[] = [];
  const told: TrackersDown[] = [];
  const getting = download(id, {
    tracker: address,
    outDir: join(dir.path, "out"),
    waitMs: 30_000,
    onProgress: (p) => seen.push(p),
    onTrackersDown: (_, how) => told.push(how),
  });
  getting.catch(() => {});
  await within(
    until(() => seen.some((p) => p.waiting && p.trackersDown)),
    10_000,
    "the wait for the tracker",
  );
  assertEquals(told, [{ retryMs: 30_000, lookMs: 0, shortId: false }]);
  await using _up = await comeUp(address, source);
  const result = await within(getting, 20_000, "the get");
  assertEquals(await sha256File(result.path), id);
});

Deno.test("download() with several trackers down goes on once one of them is up", async () => {
  await using dir = await tempDir();
  const source = await randomFile(dir.path, "either.bin", 200_000);
  const { id } = await hashFile(source);
  const first = { host: "127.0.0.1", port: freePort() };
  const second = { host: "127.0.0.1", port: freePort() };
  const seen: DownloadProgress[] = [];
  const getting = download(id, {
    tracker: first,
    moreTrackers: [second],
    outDir: join(dir.path, "out"),
    waitMs: 30_000,
    onProgress: (p) => seen.push(p),
  });
  getting.catch(() => {});
  await within(
    until(() => seen.some((p) => p.trackersDown)),
    10_000,
    "the wait for the trackers",
  );
  await using _up = await comeUp(second, source);
  const result = await within(getting, 20_000, "the get");
  assertEquals(await sha256File(result.path), id);
});

Deno.test("download() gives up on a tracker that stays down when the wait is over, saying so", async () => {
  await using dir = await tempDir();
  const tracker = { host: "127.0.0.1", port: freePort() };
  const started = performance.now();
  const error = await assertRejects(
    () =>
      download("ab".repeat(32), {
        tracker,
        outDir: join(dir.path, "out"),
        waitMs: 2_500,
      }),
    TrackerUnreachableError,
  );
  const took = performance.now() - started;
  assert(took >= 2_400 && took < 6_000, `gave up after ${took} ms`);
  assert(/^Cannot reach tracker at .*connection refused/.test(error.message));
});

Deno.test("download() with no wait and no LAN fails at once when the tracker is down", async () => {
  await using dir = await tempDir();
  const tracker = { host: "127.0.0.1", port: freePort() };
  const started = performance.now();
  let told = false;
  await assertRejects(
    () =>
      download("ab".repeat(32), {
        tracker,
        outDir: join(dir.path, "out"),
        onTrackersDown: () => told = true,
      }),
    TrackerUnreachableError,
  );
  assert(performance.now() - started < 1_500);
  assert(!told, "told of a wait there is none of");
});

Deno.test("download() that found the file nowhere while the tracker was down says nobody on the LAN had it and the DHT had no nodes", async () => {
  await using dir = await tempDir();
  const tracker = { host: "127.0.0.1", port: freePort() };
  const told: TrackersDown[] = [];
  const error = await assertRejects(
    () =>
      download("ab".repeat(32), {
        tracker,
        outDir: join(dir.path, "out"),
        lan: silent(),
        dht: silent(0),
        waitMs: 1_000,
        onTrackersDown: (_, how) => told.push(how),
      }),
    TrackerUnreachableError,
  );
  assert(
    error.message.endsWith(
      "Nobody on the local network has the file, and the DHT has no nodes to ask.",
    ),
    error.message,
  );
  assert(/^Cannot reach tracker at /.test(error.message), error.message);
  assertEquals(told, [{ retryMs: 1_000, lookMs: 3_000, shortId: false }]);
});

Deno.test("download() that found the file nowhere says nobody in the DHT had it when the DHT has nodes", async () => {
  await using dir = await tempDir();
  const tracker = { host: "127.0.0.1", port: freePort() };
  const error = await assertRejects(
    () =>
      download("ab".repeat(32), {
        tracker,
        outDir: join(dir.path, "out"),
        dht: silent(40),
      }),
    TrackerUnreachableError,
  );
  assert(
    error.message.endsWith(" Nobody in the DHT has the file."),
    error.message,
  );
});

Deno.test("download() with no wait looks on the LAN once, for the time it says", async () => {
  await using dir = await tempDir();
  const tracker = { host: "127.0.0.1", port: freePort() };
  const told: TrackersDown[] = [];
  const started = performance.now();
  await assertRejects(
    () =>
      download("ab".repeat(32), {
        tracker,
        outDir: join(dir.path, "out"),
        lan: silent(),
        waitMs: 0,
        onTrackersDown: (_, how) => told.push(how),
      }),
    TrackerUnreachableError,
  );
  const took = performance.now() - started;
  assertEquals(told, [{ retryMs: 0, lookMs: 3_000, shortId: false }]);
  assert(took >= 2_900 && took < 5_000, `looked for ${took} ms`);
});

Deno.test("download() by a short ID with the tracker down says only a tracker can look it up", async () => {
  await using dir = await tempDir();
  const tracker = { host: "127.0.0.1", port: freePort() };
  const told: TrackersDown[] = [];
  const error = await assertRejects(
    () =>
      download("ab".repeat(8), {
        tracker,
        outDir: join(dir.path, "out"),
        lan: silent(),
        waitMs: 1_000,
        onTrackersDown: (_, how) => told.push(how),
      }),
    TrackerUnreachableError,
  );
  assert(error.message.endsWith(` ${SHORT_ID_HINT}`), error.message);
  assertEquals(told, [{ retryMs: 1_000, lookMs: 0, shortId: true }]);
});

Deno.test("download() by an ID the tracker does not know keeps the tracker's sentence, LAN or not", async () => {
  await using dir = await tempDir();
  const tracker = startTracker({ host: "127.0.0.1", port: 0 });
  try {
    const error = await assertRejects(
      () =>
        download("ab".repeat(32), {
          tracker: tracker.address,
          outDir: join(dir.path, "out"),
          lan: silent(),
        }),
      DownloadError,
    );
    assert(error.message.startsWith("No file with ID "), error.message);
  } finally {
    await tracker.close();
  }
});
