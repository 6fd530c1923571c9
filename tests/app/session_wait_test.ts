/**
 * A session's get of a file nobody shares yet waits for a sharer, as
 * `peer get` does: its transfer says it waits (its size unknown, not 100%
 * of 0 B), it completes once someone shares the file, cancel ends the wait
 * at once, and a wait that runs out fails in the download's words. Also
 * what a transfer records of a download that waits.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  pollUntil,
  randomFile,
  sha256File,
  tempDir,
  testTracker,
  within,
} from "../fixtures.ts";
import { startPeerSession } from "../../lib/cli/peer_session.ts";
import { DEFAULT_WAIT_MS } from "../../lib/app/session.ts";
import { DEFAULT_WAIT_MS as CLI_WAIT_MS } from "../../lib/cli/flags.ts";
import { Transfers } from "../../lib/app/transfers.ts";
import { DownloadError } from "../../lib/download/download.ts";

/** When the sharer comes, after the get started. */
const SHARER_LATE_MS = 2_000;
/** Longest a cancelled wait may take to end. */
const CANCEL_MS = 1_000;

/** A tracker and two sessions on it, closed on dispose. */
async function twoPeers() {
  const dir = await tempDir();
  const tracker = testTracker();
  const address = { host: "127.0.0.1", port: tracker.address.port };
  const common = { tracker: address, host: "127.0.0.1", port: 0 };
  const sharer = await startPeerSession({ ...common, note: () => {} });
  const getter = await startPeerSession({
    ...common,
    outDir: join(dir.path, "out"),
    note: () => {},
  });
  return {
    dir: dir.path,
    tracker,
    sharer: sharer.session,
    getter: getter.session,
    async [Symbol.asyncDispose]() {
      await getter[Symbol.asyncDispose]();
      await sharer[Symbol.asyncDispose]();
      await tracker.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

Deno.test("Session.get() of an ID nobody shares yet waits for a sharer, shown as waiting with no size, and saves the file once one shares it", async () => {
  await using peers = await twoPeers();
  const file = await randomFile(peers.dir, "late.bin", 300_000);
  const id = await sha256File(file);
  assertEquals(DEFAULT_WAIT_MS, CLI_WAIT_MS);

  const getting = peers.getter.get(id);
  await pollUntil(
    5_000,
    () => Promise.resolve(peers.getter.transfers()[0]?.waiting === true),
  );
  const [waiting] = peers.getter.transfers();
  assertEquals(waiting.started, false);
  assertEquals([waiting.done, waiting.total], [0, 0]);
  assertEquals(waiting.name, id.slice(0, 16));
  const left = waiting.waitLeftMs!;
  assert(
    left > DEFAULT_WAIT_MS - 5_000 && left <= DEFAULT_WAIT_MS,
    `${left} ms left`,
  );

  await new Promise((resolve) => setTimeout(resolve, SHARER_LATE_MS));
  await peers.sharer.share(file);
  const saved = await within(getting, 20_000, "the waiting get");
  assert(saved, "the get saved the file");
  assertEquals(await sha256File(saved.path), id);
  assertEquals(peers.getter.transfers(), []);
});

Deno.test("Session.get() waiting for a sharer ends at once when cancelled, and fails in the download's words when its wait runs out", async () => {
  await using peers = await twoPeers();
  const unknown = "d4".repeat(32);
  const getting = peers.getter.get(unknown);
  await pollUntil(
    5_000,
    () => Promise.resolve(peers.getter.transfers()[0]?.waiting === true),
  );
  const cancelled = performance.now();
  peers.getter.cancel("#1");
  assertEquals(await getting, undefined);
  const took = performance.now() - cancelled;
  assert(took < CANCEL_MS, `the wait ended ${took} ms after cancel`);
  assertEquals(peers.getter.transfers(), []);

  const started = performance.now();
  const error = await assertRejects(
    () => peers.getter.get(unknown, { waitMs: 1_000 }),
    DownloadError,
  );
  assert(performance.now() - started >= 900, "it waited");
  assertEquals(
    error.message,
    `No file with ID ${unknown} is known to the tracker at 127.0.0.1:${peers.tracker.address.port}. If it was shared privately, only its link (p2p://…/priv/…) can fetch it.`,
  );
});

Deno.test("a transfer records a download's wait: no size or name before the file is found, and its progress kept when every peer left", () => {
  let now = 0;
  const transfers = new Transfers(() => now);
  const id = "e5".repeat(32);
  const get = transfers.start({
    kind: "get",
    name: "film.mkv",
    id,
    waitMs: 60_000,
  });
  assertEquals(get.waitLeftMs, undefined);
  now = 1_000;
  const nobody = {
    name: `ID ${id.slice(0, 16)}`,
    size: 0,
    received: 0,
    bytesPerSecond: 0,
    peers: 0,
    waiting: true,
  };
  get.updateFromDownload(nobody);
  assert(get.waiting && !get.started);
  assertEquals(get.name, "film.mkv");
  // It has waited since it started.
  assertEquals(get.waitLeftMs, 59_000);
  now = 2_000;
  get.updateFromDownload(nobody);
  assertEquals(get.waitLeftMs, 58_000);

  // Found, with a resumed .part: 100 bytes saved by an earlier run.
  const found = {
    ...nobody,
    name: "film.mkv",
    size: 1_000,
    waiting: false,
    resumed: true,
  };
  get.updateFromDownload({ ...found, received: 100 });
  get.updateFromDownload({ ...found, received: 400, peers: 1 });
  assert(get.started && !get.waiting);
  assertEquals([get.done, get.total, get.resumed], [400, 1_000, 100]);
  assertEquals(get.waitLeftMs, undefined);

  // Every peer left: it waits again, from now, keeping what it has.
  now = 10_000;
  get.updateFromDownload({ ...found, received: 400, waiting: true });
  assert(get.started && get.waiting);
  assertEquals([get.done, get.total], [400, 1_000]);
  assertEquals(get.waitLeftMs, 60_000);
  now = 100_000;
  assertEquals(get.waitLeftMs, 0);
});
