import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, sha256File, tempDir } from "../fixtures.ts";
import { runEntry, spawnSharer, spawnTracker } from "../../scripts/_child.ts";

Deno.test("peer get completes from the third sharer when one was SIGKILLed and one SIGSTOPped", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "payload.bin", 8 * 1024 * 1024 + 77);
  const tracker = await spawnTracker();
  const sharers = [];
  try {
    for (let i = 0; i < 3; i++) {
      sharers.push(await spawnSharer(file, tracker.address));
    }
    const [killed, stopped, good] = sharers;
    await killed.child.stop("SIGKILL");
    Deno.kill(stopped.child.pid, "SIGSTOP");
    const out = join(dir.path, "out");
    const started = performance.now();
    const result = await runEntry("peer.ts", [
      "get",
      good.id.slice(0, 16),
      "--json",
      "--tracker",
      tracker.address,
      "--out",
      out,
    ], { timeoutMs: 60_000 });
    assertEquals(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout.trim().split("\n").pop()!);
    assertEquals(await sha256File(report.path), good.id);
    const bytes = new Map<string, number>(
      report.peers.map((
        p: { address: string; bytes: number },
      ) => [p.address, p.bytes]),
    );
    assertEquals(bytes.get(good.address), 8 * 1024 * 1024 + 77);
    assert(!bytes.get(killed.address), JSON.stringify(report.peers));
    assert(!bytes.get(stopped.address), JSON.stringify(report.peers));
    assert(performance.now() - started < 45_000);
  } finally {
    for (const sharer of sharers) {
      try {
        Deno.kill(sharer.child.pid, "SIGCONT");
      } catch {
        // Already gone.
      }
      await sharer.child.stop("SIGKILL");
    }
    await tracker.child.stop();
  }
});

Deno.test("peer share then peer get moves the file between processes and share exits 0 on SIGTERM", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "two words ü.bin", 300_000);
  const tracker = await spawnTracker();
  try {
    const sharer = await spawnSharer(file, tracker.address);
    const out = join(dir.path, "out");
    const result = await runEntry("peer.ts", [
      "get",
      sharer.id,
      "--tracker",
      tracker.address,
      "--out",
      out,
    ], { timeoutMs: 60_000 });
    assertEquals(result.code, 0, result.stderr);
    assertEquals(
      await Deno.readFile(join(out, "two words ü.bin")),
      await Deno.readFile(file),
    );
    assertEquals((await sharer.child.stop("SIGTERM")).code, 0);
    const list = await runEntry("peer.ts", [
      "list",
      "--json",
      "--tracker",
      tracker.address,
    ]);
    assertEquals(JSON.parse(list.stdout).files, []);
  } finally {
    await tracker.child.stop();
  }
});

Deno.test("peer share goes on sharing a file only touched (new time, same bytes), and a get of it succeeds", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "touched.bin", 1024 * 1024);
  const tracker = await spawnTracker();
  try {
    const sharer = await spawnSharer(file, tracker.address);
    const later = new Date(Date.now() + 60_000);
    await Deno.utime(file, later, later);
    const out = join(dir.path, "out");
    const get = await runEntry("peer.ts", [
      "get",
      sharer.id,
      "--tracker",
      tracker.address,
      "--out",
      out,
      "--wait",
      "20s",
    ], { timeoutMs: 60_000 });
    assertEquals(get.code, 0, get.stderr);
    assertEquals(
      await Deno.readFile(join(out, "touched.bin")),
      await Deno.readFile(file),
    );
    // Still shared: a second get is served too.
    const again = await runEntry("peer.ts", [
      "get",
      sharer.id,
      "--tracker",
      tracker.address,
      "--out",
      join(dir.path, "again"),
      "--wait",
      "0",
    ]);
    assertEquals(again.code, 0, again.stderr);
    assertEquals((await sharer.child.stop("SIGTERM")).code, 0);
    const stderr = sharer.child.stderr.join("\n");
    assert(!stderr.includes("Stopped sharing"), stderr);
  } finally {
    await tracker.child.stop();
  }
});

Deno.test("peer share says so and exits 1 when its file is changed while shared", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "changing.bin", 1024 * 1024);
  const tracker = await spawnTracker();
  try {
    const sharer = await spawnSharer(file, tracker.address);
    await Deno.writeFile(file, new Uint8Array(1024 * 1024).fill(7));
    // The next piece request finds the change (so does the periodic check).
    const get = await runEntry("peer.ts", [
      "get",
      sharer.id,
      "--tracker",
      tracker.address,
      "--out",
      join(dir.path, "out"),
      // Once the sharer has dropped the file nobody shares it: fail then.
      "--wait",
      "0",
    ], { timeoutMs: 60_000 });
    assert(get.code !== 0);
    const status = await sharer.child.stop("SIGCONT", 20_000);
    assertEquals(status.code, 1);
    const stderr = sharer.child.stderr.join("\n");
    assert(/Stopped sharing changing\.bin: .*modified/.test(stderr), stderr);
  } finally {
    await tracker.child.stop();
  }
});
