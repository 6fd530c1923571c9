import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, sha256File, sharer, tempDir } from "../fixtures.ts";
import { download } from "../../lib/download/download.ts";
import { PeerNode } from "../../lib/app/peer_node.ts";
import { startTracker as startTrackerServer } from "../../lib/tracker/server.ts";
import {
  type Child,
  READY_TIMEOUT_MS,
  runEntry,
  spawnEntry,
  spawnSharer,
  spawnTracker,
} from "../../scripts/_child.ts";

const MIB = 1024 * 1024;
/** Time the capped sharer alone needs for six copies of the file. */
const SHARER_ALONE_MS = (6 * 64 * MIB) / (16 * MIB) * 1000;

interface GetAnswer {
  path: string;
  elapsedMs: number;
  peers: { address: string; bytes: number }[];
}

/** `peer get --json` arguments that serve on a free loopback port. */
function getArgs(id: string, tracker: string, out: string): string[] {
  return [
    "get",
    id,
    "--json",
    "--tracker",
    tracker,
    "--out",
    out,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ];
}

async function startTracker(): Promise<Child & { address: string }> {
  const { child, address } = await spawnTracker();
  return Object.assign(child, { address });
}

Deno.test("six getters of a 64 MiB file from one sharer capped at 16M swarm: right bytes, sharer uploads under 2.5 copies, every getter uses two or more peers", async () => {
  await using dir = await tempDir();
  const size = 64 * MIB;
  const source = await randomFile(dir.path, "swarm.bin", size);
  await using tracker = await startTracker();
  const sharer = await spawnSharer(source, tracker.address, [
    "--upload-limit",
    "16M",
  ]);
  await using _sharer = sharer.child;
  const runs = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      runEntry(
        "peer.ts",
        getArgs(sharer.id, tracker.address, join(dir.path, `out${i}`)),
        { timeoutMs: 60_000 },
      )),
  );
  let fromSharer = 0;
  const report: string[] = [];
  for (const [i, run] of runs.entries()) {
    assertEquals(run.code, 0, `getter ${i}: ${run.stderr}`);
    const answer: GetAnswer = JSON.parse(run.stdout);
    assertEquals(await sha256File(answer.path), sharer.id);
    const sources = answer.peers.filter((peer) => peer.bytes > 0);
    assert(sources.length >= 2, `getter ${i}: ${JSON.stringify(answer.peers)}`);
    const own = answer.peers.find((peer) => peer.address === sharer.address);
    fromSharer += own?.bytes ?? 0;
    // Swarming, not patience: well before the sharer alone could do it.
    assert(
      answer.elapsedMs < SHARER_ALONE_MS * 0.75,
      `getter ${i} took ${answer.elapsedMs} ms`,
    );
    report.push(
      `${(answer.elapsedMs / 1000).toFixed(1)} s from ${sources.length}`,
    );
  }
  assert(fromSharer < 2.5 * size, `sharer uploaded ${fromSharer} bytes`);
  console.log(
    `six getters: ${report.join(", ")} peers; sharer uploaded ${
      (fromSharer / size).toFixed(2)
    }× the file`,
  );
});

Deno.test("peer get --seed keeps sharing the saved file: another get succeeds after the first sharer left; without --seed the getter unregisters", async () => {
  await using dir = await tempDir();
  const source = await randomFile(dir.path, "seeded.bin", 3 * MIB + 5);
  await using tracker = await startTracker();
  const sharer = await spawnSharer(source, tracker.address);
  await using _sharer = sharer.child;
  const id = sharer.id;

  // Without --seed: saved, then gone from the tracker.
  const plain = await runEntry(
    "peer.ts",
    getArgs(id, tracker.address, join(dir.path, "plain")),
  );
  assertEquals(plain.code, 0, plain.stderr);
  assertEquals(await peersListed(tracker.address, id), 1);

  await using seeder = spawnEntry(
    "peer.ts",
    [...getArgs(id, tracker.address, join(dir.path, "seed")), "--seed"],
  );
  const saved: GetAnswer = JSON.parse(
    await seeder.waitForLine(/^\{/, READY_TIMEOUT_MS),
  );
  assertEquals(await sha256File(saved.path), id);
  assertEquals(await peersListed(tracker.address, id), 2);
  // The original sharer leaves; the seeder alone serves the next get.
  await sharer.child.stop();
  const late = await runEntry(
    "peer.ts",
    getArgs(id, tracker.address, join(dir.path, "late")),
  );
  assertEquals(late.code, 0, late.stderr);
  const answer: GetAnswer = JSON.parse(late.stdout);
  assertEquals(await sha256File(answer.path), id);
  const used = answer.peers.filter((peer) => peer.bytes > 0);
  assertEquals(used.length, 1, JSON.stringify(answer.peers));
  assert(used[0].address !== sharer.address);
  // Ctrl-C ends seeding cleanly and unregisters.
  const status = await seeder.stop("SIGINT");
  assertEquals(status.code, 0, seeder.stderr.join("\n"));
  assertEquals(await peersListed(tracker.address, id), 0);
});

Deno.test("peer get --seed says where it seeds and the link to pass on", async () => {
  await using dir = await tempDir();
  const source = await randomFile(dir.path, "linked.bin", 100_000);
  await using tracker = await startTracker();
  const sharer = await spawnSharer(source, tracker.address);
  await using _sharer = sharer.child;
  await using seeder = spawnEntry("peer.ts", [
    "get",
    sharer.id,
    "--tracker",
    tracker.address,
    "--out",
    join(dir.path, "seed"),
    "--seed",
  ]);
  const line = await seeder.waitForLine(
    /^Seeding on /,
    READY_TIMEOUT_MS,
    "stderr",
  );
  assert(
    line.includes(
      `(share this link: p2p://${tracker.address}/v1/pub/${sharer.id})`,
    ),
    line,
  );
});

Deno.test("a download finds a sharer that registered with a restarted tracker (it reconnects to ask again)", async () => {
  await using dir = await tempDir();
  const source = await randomFile(dir.path, "restart.bin", 8 * MIB);
  const first = startTrackerServer({ host: "127.0.0.1", port: 0 });
  const address = first.address;
  // A slow sharer keeps the download going while the tracker restarts.
  await using slow = await PeerNode.start({
    tracker: address,
    host: "127.0.0.1",
    port: 0,
    uploadLimit: 1024 * 1024,
  });
  const meta = await slow.share(source);
  const started = Promise.withResolvers<void>();
  const downloading = download(meta.id, {
    tracker: address,
    outDir: join(dir.path, "out"),
    onProgress: () => started.resolve(),
  });
  await started.promise;
  await first.close();
  await using second = Object.assign(startTrackerServer(address), {
    [Symbol.asyncDispose]: () => second.close(),
  });
  await using fast = await sharer(address, [source]);
  const result = await downloading;
  assertEquals(await sha256File(result.path), meta.id);
  const fromFast = result.peers.find((peer) =>
    peer.address === `127.0.0.1:${fast.address.port}`
  );
  assert(fromFast && fromFast.bytes > 0, JSON.stringify(result.peers));
});

/** How many peers the tracker lists for `id`. */
async function peersListed(tracker: string, id: string): Promise<number> {
  const list = await runEntry("peer.ts", [
    "list",
    "--json",
    "--tracker",
    tracker,
  ]);
  assertEquals(list.code, 0, list.stderr);
  const { files } = JSON.parse(list.stdout) as {
    files: { id: string; peers: number }[];
  };
  return files.find((file) => file.id === id)?.peers ?? 0;
}
