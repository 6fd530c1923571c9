import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { randomFile, sha256File, tempDir, testTracker } from "../fixtures.ts";
import {
  download,
  DownloadError,
  type DownloadProgress,
} from "../../lib/download/download.ts";
import { PeerNode } from "../../lib/app/peer_node.ts";
import { hashFile } from "../../lib/storage/file_hash.ts";
import type { Address } from "../../lib/net/connection.ts";
import { runEntry } from "../../scripts/_child.ts";
import { TrackerClient } from "../../lib/discovery/tracker_client.ts";
import type { FileSummary } from "../../lib/protocol/messages.ts";

/** Resolves once `check` holds, polling every 20 ms for at most `ms`. */
async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error("Timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function startSharer(tracker: Address, uploadLimit?: number) {
  return PeerNode.start({ tracker, host: "127.0.0.1", port: 0, uploadLimit });
}

Deno.test("download() with waitMs waits for a file nobody shares yet and gets it once somebody does", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "later.bin", 300_000);
  const { id } = await hashFile(source);
  const seen: DownloadProgress[] = [];
  const getting = download(id, {
    tracker: tracker.address,
    outDir: join(dir.path, "out"),
    waitMs: 20_000,
    onProgress: (p) => seen.push(p),
  });
  await until(() => seen.some((p) => p.waiting));
  const node = await startSharer(tracker.address);
  try {
    await node.share(source);
    const result = await getting;
    assertEquals(await sha256File(result.path), id);
    assert(!seen.at(-1)!.waiting, "still waiting at the end");
  } finally {
    await node.close();
  }
});

Deno.test("download() with waitMs outlives a sharer that leaves mid-download and comes back", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "restart.bin", 3 * 1024 * 1024);
  const first = await startSharer(tracker.address, 1024 * 1024);
  const meta = await first.share(source);
  const seen: DownloadProgress[] = [];
  const getting = download(meta.id, {
    tracker: tracker.address,
    outDir: join(dir.path, "out"),
    waitMs: 30_000,
    onProgress: (p) => seen.push(p),
  });
  let second: PeerNode | undefined;
  try {
    await until(() => seen.some((p) => p.received > 0));
    await first.close();
    await until(() => seen.some((p) => p.waiting));
    const partial = seen.at(-1)!.received;
    assert(partial < meta.size, `all ${partial} bytes came before the stop`);
    second = await startSharer(tracker.address);
    await second.share(source);
    const result = await getting;
    assertEquals(await sha256File(result.path), meta.id);
  } finally {
    await first.close();
    await second?.close();
  }
});

Deno.test("download() gives up after waitMs when nobody shares the file", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const started = performance.now();
  const error = await assertRejects(
    () =>
      download("cd".repeat(32), {
        tracker: tracker.address,
        outDir: join(dir.path, "out"),
        waitMs: 1_500,
      }),
    DownloadError,
  );
  const took = performance.now() - started;
  assert(took >= 1_400, `gave up after ${took} ms`);
  assert(error.message.includes("cd".repeat(32)), error.message);
});

Deno.test("peer get --wait refuses a duration it cannot read, with exit 2", async () => {
  const result = await runEntry("peer.ts", [
    "get",
    "ab".repeat(32),
    "--wait",
    "soon",
  ]);
  assertEquals(result.code, 2);
  assert(result.stderr.includes("--wait"), result.stderr);
  assertEquals(result.stderr.trim().split("\n").length, 1, result.stderr);
});

Deno.test("peer get of a file already in the folder says so and saves no copy; -o names the saved file", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "have.bin", 200_000);
  const node = await startSharer(tracker.address);
  try {
    const meta = await node.share(source);
    const tracked = `127.0.0.1:${tracker.address.port}`;
    const get = (extra: string[]) =>
      runEntry("peer.ts", [
        "get",
        meta.id,
        "--tracker",
        tracked,
        "--out",
        dir.path,
        "--wait",
        "0",
        ...extra,
      ]);
    const again = await get([]);
    assertEquals(again.code, 0, again.stderr);
    assert(again.stdout.includes("Already have"), again.stdout);
    const names = [];
    for await (const entry of Deno.readDir(dir.path)) names.push(entry.name);
    assertEquals(names.sort(), ["have.bin"]);
    const json = await get(["--json"]);
    assertEquals(JSON.parse(json.stdout).alreadyHere, true);
    const named = await get(["-o", "renamed.bin", "--json"]);
    assertEquals(named.code, 0, named.stderr);
    assertEquals(JSON.parse(named.stdout).path, join(dir.path, "renamed.bin"));
    assertEquals(await sha256File(join(dir.path, "renamed.bin")), meta.id);
    const nested = await get(["--output", join(dir.path, "sub", "x.bin")]);
    assertEquals(nested.code, 0, nested.stderr);
    assertEquals(await sha256File(join(dir.path, "sub", "x.bin")), meta.id);
    const folder = await get(["-o", `${dir.path}/`]);
    assertEquals(folder.code, 2, folder.stderr);
    assert(folder.stderr.includes("--out"), folder.stderr);
  } finally {
    await node.close();
  }
});

Deno.test("peer get --force with a folder where the file would go fails before downloading anything", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "clash.bin", 600_000);
  const out = join(dir.path, "out");
  await Deno.mkdir(join(out, "clash.bin"), { recursive: true });
  const node = await startSharer(tracker.address);
  try {
    const meta = await node.share(source);
    const result = await runEntry("peer.ts", [
      "get",
      meta.id,
      "--force",
      "--tracker",
      `127.0.0.1:${tracker.address.port}`,
      "--out",
      out,
      "--wait",
      "0",
    ]);
    assertEquals(result.code, 1, result.stderr);
    assert(result.stderr.includes("it is a folder"), result.stderr);
    assertEquals(node.uploaded, 0);
    const names = [];
    for await (const entry of Deno.readDir(out)) names.push(entry.name);
    assertEquals(names, ["clash.bin"]);
  } finally {
    await node.close();
  }
});

Deno.test("a get in progress is listed as getting, and as a sharer once it seeds the saved file", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "slow.bin", 2 * 1024 * 1024);
  const node = await startSharer(tracker.address, 256 * 1024);
  const getter = await startSharer(tracker.address);
  try {
    const meta = await node.share(source);
    const seen: DownloadProgress[] = [];
    const getting = download(meta.id, {
      tracker: tracker.address,
      outDir: join(dir.path, "out"),
      swarm: getter,
      seed: true,
      onProgress: (p) => seen.push(p),
    });
    await until(() => seen.some((p) => p.received > 0));
    const client = await TrackerClient.connect(tracker.address);
    try {
      // The getter registers once its first piece verified, a moment after
      // it arrived: asked until it shows (or the get ends).
      let during: FileSummary | undefined;
      let done = false;
      getting.then(() => done = true, () => done = true);
      for (const deadline = performance.now() + 10_000;;) {
        during = (await client.list()).find((f) => f.id === meta.id);
        if (during?.partial || done || performance.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assertEquals([during?.peers, during?.partial], [2, 1]);
      await getting;
      const after = (await client.list()).find((f) => f.id === meta.id);
      assertEquals([after?.peers, after?.partial ?? 0], [2, 0]);
    } finally {
      client.close();
    }
  } finally {
    await getter.close();
    await node.close();
  }
});

Deno.test("a download reports progress while no piece arrives, so the speed shown falls", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "trickle.bin", 512 * 1024);
  // About 2.6 s a piece: several ticks fall between two pieces.
  const node = await startSharer(tracker.address, 100 * 1024);
  try {
    const meta = await node.share(source);
    const seen: DownloadProgress[] = [];
    await download(meta.id, {
      tracker: tracker.address,
      outDir: join(dir.path, "out"),
      onProgress: (p) => seen.push(p),
    });
    const between = seen.filter((p, i) =>
      i > 0 && !p.waiting && p.received > 0 && p.received < p.size &&
      p.received === seen[i - 1].received
    );
    assert(between.length > 0, JSON.stringify(seen.map((p) => p.received)));
  } finally {
    await node.close();
  }
});
