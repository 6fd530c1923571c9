import { join } from "node:path";
import { VERSION } from "../../lib/protocol/version.ts";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, tempDir } from "../fixtures.ts";
import {
  type Child,
  READY_TIMEOUT_MS,
  runEntry,
  shareArgs,
  spawnEntry,
  spawnSharer,
  spawnTracker,
} from "../../scripts/_child.ts";
import { loopbackGetArgs } from "./_cli.ts";
import { logTime } from "../../lib/cli/flags.ts";
import { ANNOUNCE_INTERVAL_MS } from "../../lib/protocol/limits.ts";

/** `12:34:56.789 ` at the start of every `--verbose` line. */
const STAMP = /^\d\d:\d\d:\d\d\.\d{3} /;
/** Words of the events `--verbose` logs, timestamp or not. */
const EVENTS =
  /Connection from|Connected to|Serving \S+ to|Finished serving|Choked|Unchoked|lists \d+ peers? for|Renewed/;
/** A 3 MB file at 512 KiB/s through one upload slot: about 6 s for one getter. */
const SIZE = 3_000_000;
const THROTTLE = ["--upload-limit", "512K", "--upload-slots", "1"];

/** Waits up to `timeoutMs` for a stderr line of `child` matching `pattern`. */
async function waitForStderr(
  child: Child,
  pattern: RegExp,
  timeoutMs: number,
): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const line = child.stderr.find((text) => pattern.test(text));
    if (line !== undefined) return line;
    if (performance.now() > deadline) {
      throw new Error(
        `No stderr line matching ${pattern} within ${timeoutMs} ms: ${
          child.stderr.join(" | ")
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Asserts `lines` holds a timestamped line matching `pattern`. */
function assertLogged(lines: readonly string[], pattern: RegExp): void {
  const line = lines.find((text) => pattern.test(text));
  assert(
    line !== undefined,
    `no line matching ${pattern}:\n${lines.join("\n")}`,
  );
  assert(STAMP.test(line!), `no timestamp: ${line}`);
}

/** Two getters of `id` at once, with `extra` flags, into `dir`. */
function getTwice(id: string, tracker: string, dir: string, extra: string[]) {
  return Promise.all([1, 2].map((n) =>
    runEntry("peer.ts", [
      "get",
      id,
      "--out",
      join(dir, `out${n}`),
      "--tracker",
      tracker,
      "--host",
      "127.0.0.1",
      ...extra,
    ], { timeoutMs: 60_000 })
  ));
}

Deno.test("logTime() is the local time to the millisecond", () => {
  assertEquals(logTime(new Date(2025, 0, 1, 9, 5, 7, 42)), "09:05:07.042");
  assertEquals(logTime(new Date(2025, 0, 1, 23, 59, 59, 999)), "23:59:59.999");
});

Deno.test("peer share --verbose and peer get --verbose log timestamped connections, peers found, choke and unchoke, serving and re-announces on stderr", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "verbose.bin", SIZE);
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const started = performance.now();
  const sharer = await spawnSharer(file, tracker.address, [
    "--verbose",
    ...THROTTLE,
  ]);
  await using _sharer = sharer.child;
  const gets = await getTwice(sharer.id, tracker.address, dir.path, [
    "--verbose",
  ]);
  for (const get of gets) assertEquals(get.code, 0, get.stderr);

  const at = sharer.address.replaceAll(".", "\\.");
  const getLines = gets.flatMap((get) => get.stderr.split("\n"));
  for (const get of gets) {
    const lines = get.stderr.split("\n");
    assertLogged(
      lines,
      new RegExp(`Tracker \\S+ lists \\d+ peers? for verbose\\.bin: .*${at}`),
    );
    assertLogged(lines, new RegExp(`Connected to ${at}: it has all 12 pieces`));
  }
  // One upload slot for two getters: each waits its turn at least once.
  assertLogged(getLines, new RegExp(`Choked by ${at}: it serves others`));
  assertLogged(getLines, new RegExp(`Unchoked by ${at}\\.`));

  const lines = sharer.child.stderr;
  assertLogged(lines, /Connection from 127\.0\.0\.1:\d+ accepted \(\d+ open\)/);
  assertLogged(
    lines,
    new RegExp(
      `Serving verbose\\.bin to 127\\.0\\.0\\.1:\\d+ \\(p2p/${
        VERSION.replaceAll(".", "\\.")
      }\\)\\.`,
    ),
  );
  assertLogged(lines, /Choked 127\.0\.0\.1:\d+: /);
  assertLogged(lines, /Unchoked 127\.0\.0\.1:\d+: its turn/);
  assertLogged(
    lines,
    /Finished serving verbose\.bin to 127\.0\.0\.1:\d+: sent \d+ bytes/,
  );

  // The first renewal is due ANNOUNCE_INTERVAL_MS after the share.
  const left = ANNOUNCE_INTERVAL_MS - (performance.now() - started);
  const renewed = await waitForStderr(
    sharer.child,
    /Renewed 1 registration with tracker /,
    Math.max(0, left) + 15_000,
  );
  assert(STAMP.test(renewed), renewed);
  assert(renewed.includes(tracker.address), renewed);
  // Every line of a --verbose share is a log line with its time (the
  // serving line goes to stdout as JSON events with --json).
  for (const line of sharer.child.stderr) assert(STAMP.test(line), line);
});

Deno.test("peer share and peer get without --verbose log none of those events", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "quiet.bin", SIZE);
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  await using sharer = spawnEntry(
    "peer.ts",
    shareArgs(file, tracker.address, THROTTLE, { json: false }),
  );
  const idLine = await sharer.waitForLine(/full ID:/, READY_TIMEOUT_MS);
  const id = idLine.trim().split(/\s+/).pop()!;
  await sharer.waitForLine(/^Serving on/, READY_TIMEOUT_MS);
  const gets = await getTwice(id, tracker.address, dir.path, []);
  for (const get of gets) assertEquals(get.code, 0, get.stderr);
  await sharer.stop();
  const lines = [
    ...sharer.stderr,
    ...gets.flatMap((get) => get.stderr.split("\n")),
  ];
  for (const line of lines) {
    assert(!STAMP.test(line) && !EVENTS.test(line), `logged: ${line}`);
  }
});

Deno.test("peer get --json --verbose prints its result line first and the reachability event after it, as share prints its events after its results", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "ordered.bin", 1_500_000);
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  // About 3 s to download: the tracker answers on reachability meanwhile.
  const sharer = await spawnSharer(file, tracker.address, [
    ...THROTTLE,
    "--verbose",
  ]);
  await using _sharer = sharer.child;
  const get = await runEntry(
    "peer.ts",
    loopbackGetArgs(
      sharer.id,
      tracker.address,
      join(dir.path, "out"),
      "--json",
      "--verbose",
    ),
    { timeoutMs: 60_000 },
  );
  assertEquals(get.code, 0, get.stderr);
  const [result, ...events] = get.stdout.trim().split("\n").map((line) =>
    JSON.parse(line)
  );
  assertEquals(result.event, undefined, get.stdout);
  assertEquals(result.id, sharer.id, get.stdout);
  assertEquals(events.map((event) => event.event), ["reachability"]);
  assertEquals(events[0].observed, "127.0.0.1");
  // The sharer's own: its result line, then its events.
  await sharer.child.waitForLine(/"event":"reachability"/, READY_TIMEOUT_MS);
  assertEquals(JSON.parse(sharer.child.stdout[0]).id, sharer.id);
});

Deno.test("peer get --seed --json --verbose prints its result line, then its seeding line, then the events", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "seeded.bin", 1_500_000);
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  // About 3 s to download: the tracker answers on reachability meanwhile.
  const sharer = await spawnSharer(file, tracker.address, THROTTLE);
  await using _sharer = sharer.child;
  await using seeder = spawnEntry(
    "peer.ts",
    loopbackGetArgs(
      sharer.id,
      tracker.address,
      join(dir.path, "out"),
      "--seed",
      "--json",
      "--verbose",
    ),
  );
  await seeder.waitForLine(/"event":"reachability"/, 30_000);
  assertEquals((await seeder.stop("SIGINT")).code, 0, seeder.stderr.join("\n"));
  const lines = seeder.stdout.map((line) => JSON.parse(line));
  assertEquals(lines[0].id, sharer.id, seeder.stdout.join("\n"));
  assertEquals(
    lines.slice(1).map((line) => line.event),
    ["seeding", "reachability", "stopped"],
    seeder.stdout.join("\n"),
  );
});
