import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../assert.ts";
import { randomFile, sha256File, tempDir, testTracker } from "../fixtures.ts";
import { PromptProcess } from "../_prompt_process.ts";
import {
  type Child,
  runEntry,
  spawnEntry,
  spawnSharer,
  spawnTracker,
} from "../../scripts/_child.ts";
import { BandwidthLimiter, BURST_SECONDS } from "../../lib/util/bandwidth.ts";
import type { Address } from "../../lib/net/connection.ts";
import { download } from "../../lib/download/download.ts";
import { PeerNode } from "../../lib/app/peer_node.ts";

const KIB = 1024;
const MIB = 1024 * 1024;
/** Measured rates may not exceed the limit by more than this. */
const OVER = 1.1;
/** Measured rates must reach this share of the limit (a loaded machine is slower). */
const UNDER = 0.5;

/** The rate and burst of a limiter of `rate` bytes a second. */
function limitOf(rate: number): { rate: number; burst: number } {
  return { rate, burst: Math.ceil(rate * BURST_SECONDS) };
}

/**
 * Asserts that `bytes` moved in `ms` at no more than the limit (allowing the
 * burst a full bucket lets through at once) and at no less than half of it.
 */
function assertRate(
  bytes: number,
  ms: number,
  limiter: { rate: number; burst: number },
): number {
  const rate = (bytes - limiter.burst) / (ms / 1000);
  const shown = `${(rate / MIB).toFixed(2)} MiB/s against a limit of ${
    (limiter.rate / MIB).toFixed(2)
  } MiB/s (${bytes} bytes in ${ms.toFixed(0)} ms)`;
  assert(rate <= limiter.rate * OVER, `too fast: ${shown}`);
  assert(rate >= limiter.rate * UNDER, `too slow: ${shown}`);
  return rate;
}

Deno.test("BandwidthLimiter refuses a rate below its minimum", () => {
  for (const rate of [0, -1, 1023, NaN, Infinity]) {
    assertThrows(() => new BandwidthLimiter(rate), RangeError);
  }
});

Deno.test("take() lets a full bucket through at once, then paces to the rate", async () => {
  const limiter = new BandwidthLimiter(100 * KIB);
  assertEquals(limiter.burst, 10 * KIB);
  const start = performance.now();
  await limiter.take(10 * KIB);
  assert(performance.now() - start < 50, "the first bucketful waited");
  for (let i = 0; i < 4; i++) await limiter.take(10 * KIB);
  const ms = performance.now() - start;
  // 40 KiB beyond the burst at 100 KiB/s: 400 ms.
  assert(ms >= 390, `four more bucketfuls took only ${ms} ms`);
  assert(ms < 2_000, `four more bucketfuls took ${ms} ms`);
});

Deno.test("take() of more than the burst waits until the bucket has paid for all of it", async () => {
  const limiter = new BandwidthLimiter(100 * KIB);
  const start = performance.now();
  await limiter.take(50 * KIB);
  const ms = performance.now() - start;
  // 40 KiB beyond the full bucket at 100 KiB/s: 400 ms.
  assert(ms >= 390, `a 50 KiB take passed after only ${ms} ms`);
  assert(ms < 2_000, `a 50 KiB take waited ${ms} ms`);
});

Deno.test("takes of whole pieces move no more than the rate plus one burst", async () => {
  const limiter = new BandwidthLimiter(100 * KIB);
  const start = performance.now();
  for (let i = 0; i < 8; i++) await limiter.take(25 * KIB);
  const ms = performance.now() - start;
  // 200 KiB less the 10 KiB burst at 100 KiB/s: 1.9 s. (Letting a piece
  // through on a full bucket and paying after took 1.75 s: 14% over.)
  assert(ms >= 1_890, `200 KiB passed in ${ms} ms`);
});

Deno.test("take() serves waiters first come first served", async () => {
  const limiter = new BandwidthLimiter(100 * KIB);
  await limiter.take(10 * KIB);
  const order: number[] = [];
  await Promise.all(
    [1, 2, 3].map((n) => limiter.take(2 * KIB).then(() => order.push(n))),
  );
  assertEquals(order, [1, 2, 3]);
  // Even a small take waits behind a large one that came first.
  const late: string[] = [];
  await Promise.all([
    limiter.take(8 * KIB).then(() => late.push("large")),
    limiter.take(1).then(() => late.push("small")),
  ]);
  assertEquals(late, ["large", "small"]);
});

Deno.test("an aborted take() rejects with the reason and lets the next waiter go sooner", async () => {
  const limiter = new BandwidthLimiter(5 * KIB);
  await limiter.take(KIB); // the bucket and more: each further KiB takes 200 ms
  const controller = new AbortController();
  const first = limiter.take(KIB, controller.signal);
  const start = performance.now();
  const second = limiter.take(KIB);
  assertEquals(limiter.waiting, 2);
  controller.abort(new Error("gave up"));
  await assertRejects(() => first, Error, "gave up");
  await second;
  const ms = performance.now() - start;
  assert(ms < 330, `the second waited ${ms} ms, as if the first were served`);
  await assertRejects(
    () => limiter.take(1, controller.signal),
    Error,
    "gave up",
  );
  assertEquals(limiter.waiting, 0);
});

Deno.test("close() rejects every waiter and later takes, leaving no timer", async () => {
  const limiter = new BandwidthLimiter(10 * KIB);
  await limiter.take(KIB); // the whole bucket: the next takes wait
  const waiters = [limiter.take(4 * KIB), limiter.take(4 * KIB)];
  limiter.close();
  for (const waiter of waiters) await assertRejects(() => waiter, Error);
  await assertRejects(() => limiter.take(1), Error, "closed");
});

Deno.test("four takers sharing one limiter stay within 10% of the rate over a second", async () => {
  const limiter = new BandwidthLimiter(1 * MIB);
  const start = performance.now();
  let bytes = 0;
  const stopAt = start + 1_000;
  await Promise.all([0, 1, 2, 3].map(async () => {
    while (performance.now() < stopAt) {
      await limiter.take(16 * KIB);
      bytes += 16 * KIB;
    }
  }));
  assertRate(bytes, performance.now() - start, limiter);
});

Deno.test("take() sleeps on a timer rather than polling", async () => {
  const limiter = new BandwidthLimiter(10 * KIB);
  await limiter.take(KIB); // the whole bucket
  // A busy loop would starve this timer; a sleeping limiter lets it run.
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 10);
  try {
    await limiter.take(2 * KIB); // 200 ms
  } finally {
    clearInterval(ticker);
  }
  assert(ticks >= 5, `only ${ticks} ticks while waiting`);
});

/** A peer node sharing `path` on 127.0.0.1, closed on dispose. */
async function limitedSharer(
  tracker: Address,
  path: string,
  uploadLimit?: number,
): Promise<PeerNode & AsyncDisposable> {
  const node = await PeerNode.start({
    tracker,
    host: "127.0.0.1",
    port: 0,
    uploadLimit,
  });
  await node.share(path);
  return Object.assign(node, { [Symbol.asyncDispose]: () => node.close() });
}

/** Downloads `id`, returning the file's path and ms until its last piece. */
async function timedGet(
  id: string,
  tracker: Address,
  outDir: string,
  downloadLimit?: number | BandwidthLimiter,
  start = performance.now(),
): Promise<{ path: string; ms: number }> {
  let last = start;
  const result = await download(id, {
    tracker,
    outDir,
    downloadLimit,
    onProgress: () => last = performance.now(),
  });
  return { path: result.path, ms: last - start };
}

Deno.test("a sharer with --upload-limit 4M serves an 8 MiB file in about 2 s", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "capped.bin", 8 * MIB);
  await using node = await limitedSharer(tracker.address, source, 4 * MIB);
  const [meta] = node.shared();
  const got = await timedGet(meta.id, tracker.address, join(dir.path, "out"));
  assertEquals(await sha256File(got.path), meta.id);
  assertEquals(node.uploaded, 8 * MIB);
  assertRate(8 * MIB, got.ms, limitOf(4 * MIB));
});

Deno.test("two getters of one sharer with an upload limit share it between them", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "shared.bin", 4 * MIB);
  await using node = await limitedSharer(tracker.address, source, 4 * MIB);
  const [meta] = node.shared();
  const start = performance.now();
  const gets = await Promise.all([1, 2].map((n) =>
    timedGet(
      meta.id,
      tracker.address,
      join(dir.path, `out${n}`),
      undefined,
      start,
    )
  ));
  for (const got of gets) assertEquals(await sha256File(got.path), meta.id);
  const ms = Math.max(...gets.map((got) => got.ms));
  assertRate(8 * MIB, ms, limitOf(4 * MIB));
});

Deno.test("download() with a downloadLimit of 4M gets an 8 MiB file in about 2 s", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "fast.bin", 8 * MIB);
  await using node = await limitedSharer(tracker.address, source);
  const [meta] = node.shared();
  const got = await timedGet(
    meta.id,
    tracker.address,
    join(dir.path, "out"),
    4 * MIB,
  );
  assertEquals(await sha256File(got.path), meta.id);
  assertRate(8 * MIB, got.ms, limitOf(4 * MIB));
});

Deno.test("two downloads sharing one limiter stay within it together", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const first = await randomFile(dir.path, "one.bin", 4 * MIB);
  const second = await randomFile(dir.path, "two.bin", 4 * MIB);
  await using a = await limitedSharer(tracker.address, first);
  await using b = await limitedSharer(tracker.address, second);
  using limiter = new BandwidthLimiter(4 * MIB);
  const start = performance.now();
  const gets = await Promise.all([a, b].map((node) =>
    timedGet(
      node.shared()[0].id,
      tracker.address,
      join(dir.path, "out"),
      limiter,
      start,
    )
  ));
  assertEquals(await sha256File(gets[0].path), a.shared()[0].id);
  assertEquals(await sha256File(gets[1].path), b.shared()[0].id);
  assertRate(8 * MIB, Math.max(...gets.map((got) => got.ms)), limiter);
});

Deno.test("download() stops at once when cancelled while waiting for the limit", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "slow.bin", 2 * MIB);
  await using node = await limitedSharer(tracker.address, source);
  const controller = new AbortController();
  const getting = download(node.shared()[0].id, {
    tracker: tracker.address,
    outDir: join(dir.path, "out"),
    downloadLimit: 64 * KIB,
    signal: controller.signal,
    onProgress: () => controller.abort(new Error("stop")),
  });
  const start = performance.now();
  await assertRejects(() => getting, Error, "stop");
  assert(performance.now() - start < 2_000, "cancelling waited for the limit");
});

const BAD_RATES: [string[], string][] = [
  [["share", "README.md", "--upload-limit", "fast"], "--upload-limit"],
  [["get", "ab".repeat(32), "--download-limit", "0"], "--download-limit"],
  [["get", "ab".repeat(32), "--download-limit", "-5M"], "--download-limit"],
  [["--upload-limit", "16X"], "--upload-limit"],
  [["--download-limit", "1T"], "--download-limit"],
  [["get", "ab".repeat(32), "--upload-limit", "1"], "--upload-limit"],
  [["share", "README.md", "--download-limit", "x"], "--download-limit"],
  [["share", "README.md", "--upload-slots", "0"], "--upload-slots"],
  [["get", "ab".repeat(32), "--upload-slots", "1.5"], "--upload-slots"],
  [["--upload-slots", "257"], "--upload-slots"],
];

for (const [args, flag] of BAD_RATES) {
  Deno.test(`peer ${args.join(" ")} fails with exit 2 and one line naming ${flag}`, async () => {
    const result = await runEntry("peer.ts", [
      ...args,
      "--tracker",
      "192.0.2.1:5000",
    ], { timeoutMs: 15_000 });
    assertEquals(result.code, 2, result.stderr);
    const lines = result.stderr.trim().split("\n");
    assertEquals(lines.length, 1, result.stderr);
    assert(lines[0].includes(flag), lines[0]);
  });
}

Deno.test("peer share, get and the prompt offer the limits in --help", async () => {
  const cases: [string[], string[]][] = [
    [["share", "--help"], [
      "--upload-limit",
      "--download-limit",
      "--upload-slots",
    ]],
    [["get", "--help"], [
      "--download-limit",
      "--upload-limit",
      "--upload-slots",
      "--seed",
      "--port",
    ]],
    [["--help"], ["--upload-limit", "--download-limit", "--upload-slots"]],
  ];
  for (const [args, flags] of cases) {
    const { stdout } = await runEntry("peer.ts", args);
    for (const flag of flags) assert(stdout.includes(flag), stdout);
  }
});

// Real processes: the flags reach the limiters.

function spawnPrompt(
  args: string[],
  env: Record<string, string>,
  pty = false,
): PromptProcess {
  return new PromptProcess(
    ["--host", "127.0.0.1", "--port", "0", ...args],
    env,
    pty,
  );
}

/** True where `script` (util-linux) can give a prompt a terminal. */
const HAS_SCRIPT = (() => {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/** A tracker child on 127.0.0.1, stopped on dispose. */
async function startTracker(): Promise<Child & { address: string }> {
  const { child, address } = await spawnTracker();
  return Object.assign(child, { address });
}

/** Runs `peer get --json` of `id`; returns its JSON answer. */
async function cliGet(
  id: string,
  outDir: string,
  env: Record<string, string>,
): Promise<{ path: string; elapsedMs: number }> {
  const get = await runEntry("peer.ts", [
    "get",
    id,
    "--out",
    outDir,
    "--json",
  ], { env });
  assertEquals(get.code, 0, get.stderr);
  return JSON.parse(get.stdout);
}

Deno.test("peer share --upload-limit 4M serves an 8 MiB file to peer get in about 2 s", async () => {
  await using dir = await tempDir();
  const source = await randomFile(dir.path, "capped.bin", 8 * MIB);
  await using tracker = await startTracker();
  const env = { P2P_TRACKER: tracker.address };
  await using sharer = spawnEntry("peer.ts", [
    "share",
    source,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--upload-limit",
    "4M",
    "--json",
  ], { env });
  const { id } = JSON.parse(await sharer.waitForLine(/^\{/, 20_000));
  const got = await cliGet(id, join(dir.path, "out"), env);
  assertEquals(await sha256File(got.path), id);
  assertRate(8 * MIB, got.elapsedMs, limitOf(4 * MIB));
});

Deno.test("peer get --download-limit 300K of a 2 MiB file averages within 3% of the limit", async () => {
  await using dir = await tempDir();
  const source = await randomFile(dir.path, "slow.bin", 2 * MIB);
  await using tracker = await startTracker();
  const env = { P2P_TRACKER: tracker.address, P2P_HOME: dir.path };
  const { child, id } = await spawnSharer(source, tracker.address);
  await using _sharer = child;
  const get = await runEntry("peer.ts", [
    "get",
    id,
    "--out",
    join(dir.path, "out"),
    "--download-limit",
    "300K",
    "--json",
  ], { env });
  assertEquals(get.code, 0, get.stderr);
  const { path, elapsedMs } = JSON.parse(get.stdout);
  assertEquals(await sha256File(path), id);
  // Bytes over the whole get, burst and all: the piece a full bucket let
  // through at once made this 13% over (8 pieces of 256 KiB).
  const rate = 2 * MIB / (elapsedMs / 1000);
  assert(rate <= 300 * KIB * 1.03, `${(rate / KIB).toFixed(1)} KiB/s`);
  assert(rate >= 300 * KIB * UNDER, `${(rate / KIB).toFixed(1)} KiB/s`);
});

Deno.test("peer get --upload-limit 4M caps what the getter serves to other downloaders", async () => {
  await using dir = await tempDir();
  const source = await randomFile(dir.path, "relay.bin", 8 * MIB);
  await using tracker = await startTracker();
  const env = { P2P_TRACKER: tracker.address };
  const first = await spawnSharer(source, tracker.address);
  await using _first = first.child;
  const serve = ["--host", "127.0.0.1", "--port", "0"];
  await using seeder = spawnEntry("peer.ts", [
    "get",
    first.id,
    "--out",
    join(dir.path, "seed"),
    "--json",
    "--seed",
    "--upload-limit",
    "4M",
    ...serve,
  ], { env });
  await seeder.waitForLine(/^\{/, 20_000);
  // Only the capped getter is left to serve the next one.
  await first.child.stop();
  const got = await cliGet(first.id, join(dir.path, "out"), env);
  assertEquals(await sha256File(got.path), first.id);
  assertRate(8 * MIB, got.elapsedMs, limitOf(4 * MIB));
});

Deno.test("the prompt's --upload-limit caps what it serves", async () => {
  await using dir = await tempDir();
  const source = await randomFile(dir.path, "capped.bin", 8 * MIB);
  const id = await sha256File(source);
  await using tracker = await startTracker();
  const env = { P2P_TRACKER: tracker.address, P2P_HOME: dir.path };
  await using sharer = spawnPrompt(["--upload-limit", "4M"], env);
  await sharer.type(`share "${source}"\n`);
  await sharer.waitFor(new RegExp(`full ID ${id}`), 20_000);
  const got = await cliGet(id, join(dir.path, "out"), env);
  assertEquals(await sha256File(got.path), id);
  assertRate(8 * MIB, got.elapsedMs, limitOf(4 * MIB));
});

Deno.test({
  name: "the prompt's --download-limit is shared by all its gets",
  // Two gets side by side: on a terminal (a script runs one at a time).
  ignore: !HAS_SCRIPT,
  fn: async () => {
    await using dir = await tempDir();
    const first = await randomFile(dir.path, "one.bin", 4 * MIB);
    const second = await randomFile(dir.path, "two.bin", 4 * MIB);
    const ids = [await sha256File(first), await sha256File(second)];
    await using tracker = await startTracker();
    const env = { P2P_TRACKER: tracker.address, P2P_HOME: dir.path };
    await using sharer = spawnPrompt([], env);
    await sharer.type(`share "${first}" "${second}"\n`);
    for (const id of ids) {
      await sharer.waitFor(new RegExp(`full ID ${id}`), 20_000);
    }
    const out = join(dir.path, "out");
    await using getter = spawnPrompt(
      ["--download-limit", "4M", "--out", out],
      env,
      true,
    );
    await getter.waitFor(/Serving on/, 20_000);
    const start = performance.now();
    await getter.type(`get ${ids[0]}\rget ${ids[1]}\r`);
    await getter.waitFor(/Saved .*one\.bin/, 20_000);
    await getter.waitFor(/Saved .*two\.bin/, 20_000);
    const ms = performance.now() - start;
    assertEquals(await sha256File(join(out, "one.bin")), ids[0]);
    assertEquals(await sha256File(join(out, "two.bin")), ids[1]);
    // Each get alone at 4 MiB/s would finish both in about 1 s.
    assertRate(8 * MIB, ms, limitOf(4 * MIB));
  },
});
