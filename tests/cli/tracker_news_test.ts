/**
 * What `peer share` says of its tracker, with real processes: with none
 * answering it says so once and serves in the DHT without claiming a
 * tracker, and stops without "unregistering"; a tracker that dies while it
 * shares is told of once; a link naming the default tracker on this
 * machine gets a note that it works only here (`--json`: `linkWorksHereOnly`,
 * also as `localOnly`); `--json` says how others find the file (`findableOn`).
 * The prompt's session tells of a tracker lost too.
 * The DHT is on, with a bootstrap node that does not exist, so nothing
 * leaves 127.0.0.1.
 */

import { assert, assertEquals } from "../assert.ts";
import { pollUntil, randomFile, tempDir, testTracker } from "../fixtures.ts";
import { startPeerSession } from "../../lib/cli/peer_session.ts";
import {
  READY_TIMEOUT_MS,
  spawnEntry,
  spawnTracker,
} from "../../scripts/_child.ts";
import { freePort } from "./_cli.ts";

/** `peer share FILE` on 127.0.0.1 with the DHT on and going nowhere. */
function shareInDht(file: string, extra: string[]) {
  return spawnEntry("peer.ts", [
    "share",
    file,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--dht-bootstrap",
    `127.0.0.1:${freePort()}`,
    ...extra,
  ], { env: { P2P_NO_DHT: "", P2P_TRACKER: "" } });
}

Deno.test("peer share with no tracker answering says so once, serves in the DHT without claiming a tracker, and stops without unregistering", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "b.bin", 100_000);
  const tracker = `127.0.0.1:${freePort()}`;
  await using sharer = shareInDht(file, ["--tracker", tracker]);
  const serving = await sharer.waitForLine(/^Serving on /, READY_TIMEOUT_MS);
  assert(
    /^Serving on 127\.0\.0\.1:\d+ in the DHT only, until a tracker answers\. Press Ctrl-C to stop\.$/
      .test(serving),
    serving,
  );
  // stderr is another pipe: its line may come after stdout's.
  await sharer.waitForLine(/^The tracker at /, READY_TIMEOUT_MS, "stderr");
  assertEquals(sharer.stderr, [
    `The tracker at ${tracker} could not be used (connection refused): sharing in the DHT only until it is back.`,
  ]);
  assertEquals((await sharer.stop("SIGINT")).code, 0);
  assertEquals(sharer.stderr.at(-1), "Stopping.");
  assert(!sharer.stdout.some((line) => line.includes("via tracker")));
});

Deno.test("peer share --json with no tracker answering says which trackers took it: none", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "b.bin", 100_000);
  const tracker = `127.0.0.1:${freePort()}`;
  await using sharer = shareInDht(file, ["--tracker", tracker, "--json"]);
  const line = await sharer.waitForLine(/^\{/, READY_TIMEOUT_MS);
  const shared = JSON.parse(line);
  assertEquals(shared.registeredWith, []);
  assertEquals(shared.tracker, tracker);
  assertEquals(shared.localOnly, false, "--tracker was given");
  // Found in the DHT only (not on the LAN from 127.0.0.1), until a
  // tracker answers; the link names no tracker on this machine.
  assertEquals(shared.findableOn, ["dht"]);
  assertEquals(shared.linkWorksHereOnly, false);
  assertEquals((await sharer.stop("SIGINT")).code, 0);
  assertEquals(sharer.stderr, []);
});

Deno.test("peer share --json says in findableOn that a tracker has its file, and where else it is found", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "b.bin", 100_000);
  const tracker = await spawnTracker();
  try {
    await using sharer = shareInDht(file, [
      "--tracker",
      tracker.address,
      "--json",
    ]);
    const shared = JSON.parse(
      await sharer.waitForLine(/^\{/, READY_TIMEOUT_MS),
    );
    assertEquals(shared.registeredWith, [tracker.address]);
    assertEquals(shared.findableOn, ["tracker", "dht"]);
  } finally {
    await tracker.child.stop();
  }
});

Deno.test("peer share says once when its tracker stops answering", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "b.bin", 100_000);
  const tracker = await spawnTracker();
  try {
    await using sharer = shareInDht(file, ["--tracker", tracker.address]);
    const serving = await sharer.waitForLine(/^Serving on /, READY_TIMEOUT_MS);
    assert(serving.includes(` via tracker ${tracker.address}. `), serving);
    await tracker.child.stop("SIGKILL");
    // The renewal after the connection closed: within half an interval.
    await sharer.waitForLine(/stopped answering/, 35_000, "stderr");
    assertEquals(sharer.stderr, [
      `The tracker at ${tracker.address} stopped answering (connection refused): sharing in the DHT only until it is back.`,
    ]);
    assertEquals((await sharer.stop("SIGINT")).code, 0);
    assertEquals(sharer.stderr.at(-1), "Stopping.");
  } finally {
    await tracker.child.stop();
  }
});

Deno.test("peer share through the default tracker on this machine notes once that its link works only here; --json says localOnly", async () => {
  await using dir = await tempDir();
  const one = await randomFile(dir.path, "one.bin", 1000);
  const two = await randomFile(dir.path, "two.bin", 1000);
  const note =
    "This link names the tracker at 127.0.0.1:5000, on this machine, so it works only here: to share with other machines, run a tracker they can reach and give it with --tracker HOST:PORT.";
  {
    await using sharer = shareInDht(one, [two]);
    await sharer.waitForLine(/^Serving on /, READY_TIMEOUT_MS);
    // stderr is another pipe: its line may come after stdout's.
    await sharer.waitForLine(/^This link names/, READY_TIMEOUT_MS, "stderr");
    await sharer.stop("SIGINT");
    assertEquals(sharer.stderr.filter((line) => line === note).length, 1);
  }
  {
    await using sharer = shareInDht(one, ["--json"]);
    const shared = JSON.parse(
      await sharer.waitForLine(/^\{/, READY_TIMEOUT_MS),
    );
    assertEquals(shared.localOnly, true);
    assertEquals(shared.linkWorksHereOnly, true);
    await sharer.stop("SIGINT");
    assertEquals(sharer.stderr, []);
  }
  {
    await using sharer = shareInDht(one, ["--tracker", "127.0.0.1:5000"]);
    await sharer.waitForLine(/^Serving on /, READY_TIMEOUT_MS);
    await sharer.stop("SIGINT");
    assert(!sharer.stderr.includes(note), "--tracker was given");
  }
});

Deno.test("the prompt's and web page's session says once when the tracker that has its files stops answering", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "b.bin", 100_000);
  const tracker = testTracker();
  const notes: string[] = [];
  const address = { host: "127.0.0.1", port: tracker.address.port };
  try {
    await using peer = await startPeerSession({
      tracker: address,
      host: "127.0.0.1",
      port: 0,
      portMapping: false,
      note: (line) => notes.push(line),
    });
    await peer.session.share(file);
    await tracker.close();
    // The renewal after the connection closed: within half an interval.
    await pollUntil(35_000, () => Promise.resolve(notes.length > 0));
    assertEquals(notes, [
      `The tracker at 127.0.0.1:${address.port} stopped answering (connection refused): no one new can find this peer's files until it is back.`,
    ]);
  } finally {
    await tracker.close();
  }
});
