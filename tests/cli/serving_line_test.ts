import { join } from "node:path";
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
import {
  formatServingLine,
  SERVING_POLL_MS,
  servingEvent,
  ServingLine,
  type ServingSource,
} from "../../lib/cli/serving_line.ts";
import {
  PLAIN_INTERVAL_MS,
  ProgressLine,
  type ProgressWriter,
} from "../../lib/cli/progress.ts";
import type { Downloader } from "../../lib/app/peer_node.ts";

const ID = "ab".repeat(32);
const MIB = 1024 * 1024;

function downloader(port: number, sent = 0): Downloader {
  return { address: { host: "10.0.0.7", port }, id: ID, sent };
}

function recorder(terminal: boolean): ProgressWriter & { text: () => string } {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  return {
    writeSync(bytes: Uint8Array) {
      chunks.push(decoder.decode(bytes));
      return bytes.length;
    },
    isTerminal: () => terminal,
    text: () => chunks.join(""),
  };
}

/** A node stand-in whose downloaders and bytes the test sets. */
function fakeNode(): ServingSource & { who: Downloader[]; sent: number } {
  return {
    who: [],
    sent: 0,
    get uploaded() {
      return this.sent;
    },
    downloaders() {
      return this.who;
    },
  };
}

Deno.test("formatServingLine() names the downloaders, the bytes sent and the speed, or says no one downloads", () => {
  assertEquals(
    formatServingLine({
      downloaders: [downloader(53211), {
        ...downloader(40110),
        address: { host: "10.0.0.9", port: 40110 },
      }],
      sent: 1.2 * 1024 * MIB,
      bytesPerSecond: 48 * MIB,
    }),
    "Serving 2 downloaders (10.0.0.7:53211, 10.0.0.9:40110) · sent 1.2 GiB · 48.0 MiB/s",
  );
  assertEquals(
    formatServingLine({
      downloaders: [],
      sent: 1.2 * 1024 * MIB,
      bytesPerSecond: 0,
    }),
    "No one downloading · sent 1.2 GiB",
  );
  assertEquals(
    formatServingLine({
      downloaders: [1, 2, 3, 4, 5].map((port) => downloader(port)),
      sent: 512,
      bytesPerSecond: 512,
    }),
    "Serving 5 downloaders (10.0.0.7:1, 10.0.0.7:2, 10.0.0.7:3 and 2 more) · sent 512 B · 512 B/s",
  );
});

Deno.test("formatServingLine() and servingEvent() name a downloader that came through the relay by its host, not the relay's address", () => {
  const relayed: Downloader = {
    address: { host: "198.51.100.4", port: 0 },
    id: ID,
    sent: MIB,
    relay: { host: "203.0.113.1", port: 5001 },
  };
  const state = {
    downloaders: [downloader(53211), relayed],
    sent: 2 * MIB,
    bytesPerSecond: MIB,
  };
  assertEquals(
    formatServingLine(state),
    "Serving 2 downloaders (10.0.0.7:53211, 198.51.100.4 via the relay) · sent 2.0 MiB · 1.0 MiB/s",
  );
  assertEquals(JSON.parse(servingEvent(state)).downloaders, [
    { address: "10.0.0.7:53211", id: ID, sent: 0 },
    { address: "198.51.100.4", relay: "203.0.113.1:5001", id: ID, sent: MIB },
  ]);
});

Deno.test("ServingLine piped prints a plain line only when something changed, at most every PLAIN_INTERVAL_MS", () => {
  let now = 0;
  const writer = recorder(false);
  const node = fakeNode();
  const line = new ServingLine(node, {
    progress: new ProgressLine({ writer, now: () => now }),
    now: () => now,
  });
  const tick = () => {
    now += SERVING_POLL_MS;
    line.tick();
  };
  tick();
  tick();
  assertEquals(writer.text(), "", "idle and unchanged: nothing to say");
  node.who = [downloader(53211)];
  node.sent = MIB;
  tick();
  assertEquals(
    writer.text(),
    "Serving 1 downloader (10.0.0.7:53211) · sent 1.0 MiB · 341 KiB/s\n",
  );
  for (let i = 0; i < 3; i++) {
    node.sent += MIB;
    tick();
  }
  assertEquals(writer.text().split("\n").length - 1, 1, writer.text());
  for (let i = 0; i * SERVING_POLL_MS < PLAIN_INTERVAL_MS; i++) tick();
  node.who = [];
  for (let i = 0; i * SERVING_POLL_MS < 3 * PLAIN_INTERVAL_MS; i++) tick();
  const lines = writer.text().trimEnd().split("\n");
  assertEquals(lines.length, 3, writer.text());
  assert(lines[1].startsWith("Serving 1 downloader"), lines[1]);
  assertEquals(lines[2], "No one downloading · sent 4.0 MiB");
});

Deno.test("ServingLine on a terminal redraws one live line in place", () => {
  let now = 0;
  const writer = recorder(true);
  const node = fakeNode();
  const progress = new ProgressLine({
    writer,
    now: () => now,
    columns: () => 120,
  });
  const line = new ServingLine(node, { progress, now: () => now });
  line.tick();
  node.who = [downloader(53211)];
  now += SERVING_POLL_MS;
  line.tick();
  const text = writer.text();
  assert(!text.includes("\n"), "a live line never prints a newline");
  assertEquals(
    text.split("\r\x1b[2K").filter(Boolean),
    [
      "No one downloading · sent 0 B",
      "Serving 1 downloader (10.0.0.7:53211) · sent 0 B · 0 B/s",
    ],
  );
  progress.clear();
  assert(writer.text().endsWith("\r\x1b[2K"));
});

Deno.test("ServingLine with JSON emits a serving event at once when downloaders come or go, and byte counts at most every PLAIN_INTERVAL_MS", () => {
  let now = 0;
  const events: Record<string, unknown>[] = [];
  const node = fakeNode();
  const line = new ServingLine(node, {
    json: (text) => events.push(JSON.parse(text)),
    now: () => now,
  });
  const tick = () => {
    now += SERVING_POLL_MS;
    line.tick();
  };
  tick();
  assertEquals(events, []);
  node.who = [downloader(53211, 4096)];
  node.sent = 4096;
  tick();
  assertEquals(events.length, 1);
  assertEquals(events[0].event, "serving");
  assertEquals(events[0].sent, 4096);
  assertEquals(events[0].downloaders, [{
    address: "10.0.0.7:53211",
    id: ID,
    sent: 4096,
  }]);
  node.sent += 4096;
  tick();
  assertEquals(events.length, 1, "bytes alone wait for the interval");
  node.who = [];
  tick();
  assertEquals(events.length, 2, "a downloader leaving is told at once");
  assertEquals(events[1].downloaders, []);
  assertEquals(events[1].sent, 8192);
});

/** Waits up to `timeoutMs` for a line of `lines()` matching `pattern`. */
async function waitFor(
  lines: () => readonly string[],
  pattern: RegExp,
  timeoutMs: number,
): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const line = lines().find((text) => pattern.test(text));
    if (line !== undefined) return line;
    if (performance.now() > deadline) {
      throw new Error(
        `No line matching ${pattern} within ${timeoutMs} ms: ${
          lines().join(" | ")
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A 2 MB file at 512 KiB/s: a getter stays connected for seconds. */
const SIZE = 2_000_000;
const THROTTLE = ["--upload-limit", "512K"];

/** `peer get ID` into `dir` against `tracker`, run to the end. */
function getFile(id: string, tracker: string, dir: string) {
  return runEntry("peer.ts", [
    "get",
    id,
    "--out",
    join(dir, "out"),
    "--tracker",
    tracker,
    "--host",
    "127.0.0.1",
  ], { timeoutMs: 60_000 });
}

Deno.test("a piped peer share being downloaded from prints a line naming the downloader and the bytes sent, then that no one downloads", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "served.bin", SIZE);
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  await using sharer: Child = spawnEntry(
    "peer.ts",
    shareArgs(file, tracker.address, THROTTLE, { json: false }),
  );
  const id = (await sharer.waitForLine(/full ID:/, READY_TIMEOUT_MS)).trim()
    .split(/\s+/).pop()!;
  await sharer.waitForLine(/^Serving on/, READY_TIMEOUT_MS);
  const getting = getFile(id, tracker.address, dir.path);
  const serving = await waitFor(
    () => sharer.stderr,
    /^Serving 1 downloader \(127\.0\.0\.1:\d+\) · sent \d/,
    15_000,
  );
  assert(/ · \d[\d.]* (B|KiB|MiB)\/s$/.test(serving), serving);
  assertEquals((await getting).code, 0);
  await waitFor(
    () => sharer.stderr,
    /^No one downloading · sent \d[\d.]* MiB$/,
    PLAIN_INTERVAL_MS + 5_000,
  );
  // Piped: plain lines, never a live line's carriage return.
  assert(sharer.stderr.every((line) => !line.includes("\x1b")));
});

Deno.test("peer share --json --verbose prints serving events on stdout and --quiet prints no serving line", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "events.bin", SIZE);
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const json = await spawnSharer(file, tracker.address, [
    "--verbose",
    ...THROTTLE,
  ]);
  await using _json = json.child;
  await using quiet: Child = spawnEntry("peer.ts", [
    "share",
    file,
    "--tracker",
    tracker.address,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--quiet",
    ...THROTTLE,
  ]);
  await quiet.waitForLine(new RegExp(`^${json.id}$`), READY_TIMEOUT_MS);
  const get = await getFile(json.id, tracker.address, dir.path);
  assertEquals(get.code, 0, get.stderr);
  // Both sharers served it (each is held to 512 KiB/s).
  assert(get.stdout.includes("Received from 2 peers"), get.stdout);
  const event = JSON.parse(
    await waitFor(() => json.child.stdout, /"event":"serving"/, 5_000),
  );
  assertEquals(event.downloaders.length, 1, JSON.stringify(event));
  assert(/^127\.0\.0\.1:\d+$/.test(event.downloaders[0].address));
  assertEquals(event.downloaders[0].id, json.id);
  assertEquals(typeof event.sent, "number");
  await waitFor(
    () => json.child.stdout,
    /"event":"serving","downloaders":\[\],"sent":\d+/,
    5_000,
  );
  // The quiet sharer served the same getter: one more poll, then nothing.
  await new Promise((resolve) => setTimeout(resolve, 2 * SERVING_POLL_MS));
  assertEquals(quiet.stdout, [json.id]);
  assertEquals(quiet.stderr, []);
});
