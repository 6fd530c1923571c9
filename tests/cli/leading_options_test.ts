/**
 * Options typed before the command (`peer --tracker H:P share F`) do what
 * they do after it (`peer share --tracker H:P F`), with the same checks and
 * the command's own value winning; one the command does not take is refused
 * in one sentence, exit 2.
 */

import { assert, assertEquals } from "../assert.ts";
import { assertOneLine, freePort } from "./_cli.ts";
import { randomFile, sha256File, tempDir } from "../fixtures.ts";
import {
  readyLine,
  runEntry,
  spawnEntry,
  spawnTracker,
} from "../../scripts/_child.ts";
import { VERSION } from "../../lib/protocol/version.ts";

/** A tracker nothing listens on, as P2P_TRACKER: the wrong one to use. */
function deadTrackerEnv(): Record<string, string> {
  return { P2P_TRACKER: `127.0.0.1:${freePort()}` };
}

Deno.test("--tracker, --port, --host and --json before share and get are used, and --out before get saves there", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "early.bin", 90_000);
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const env = deadTrackerEnv();
  await using sharer = spawnEntry("peer.ts", [
    "--tracker",
    tracker.address,
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--json",
    "share",
    file,
  ], { env });
  const shared = JSON.parse(await readyLine(sharer, /^\{/));
  assert(shared.link.includes(tracker.address), shared.link);
  assertEquals(shared.registeredWith, [tracker.address]);
  assert(!shared.address.endsWith(":6000"), shared.address);
  const got = await runEntry("peer.ts", [
    "--out",
    `${dir.path}/early`,
    "--tracker",
    tracker.address,
    "--json",
    "get",
    shared.id,
    "--wait",
    "0",
  ], { env });
  assertEquals(got.code, 0, got.stderr);
  const result = JSON.parse(got.stdout);
  assertEquals(result.path, `${dir.path}/early/early.bin`);
  assertEquals(await sha256File(result.path), await sha256File(file));
});

Deno.test("a value before the command is checked as after it, and the command's own value wins", async () => {
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const env = deadTrackerEnv();
  const bad = await runEntry(
    "peer.ts",
    ["--tracker", "bad:host:port", "list"],
    { env },
  );
  const badAfter = await runEntry(
    "peer.ts",
    ["list", "--tracker", "bad:host:port"],
    { env },
  );
  assertEquals(bad.code, 2, bad.stderr);
  assertEquals(assertOneLine(bad.stderr), assertOneLine(badAfter.stderr));
  const limit = await runEntry(
    "peer.ts",
    ["--download-limit", "1", "get", "ab".repeat(32)],
    { env },
  );
  assertEquals(limit.code, 2, limit.stderr);
  assert(assertOneLine(limit.stderr).includes("--download-limit"));
  // Both given: the command's own --tracker is the one asked.
  const listed = await runEntry("peer.ts", [
    "--tracker",
    "bad:host:port",
    "--json",
    "list",
    "--tracker",
    tracker.address,
  ], { env });
  assertEquals(listed.code, 0, listed.stderr);
  assertEquals(JSON.parse(listed.stdout), { files: [], version: VERSION });
});

Deno.test("a slow --download-limit before get is warned of as after it", async () => {
  await using dir = await tempDir();
  const result = await runEntry("peer.ts", [
    "--download-limit",
    "10K",
    "get",
    "ab".repeat(32),
    "--tracker",
    `127.0.0.1:${freePort()}`,
    "--out",
    dir.path,
    "--wait",
    "0",
  ]);
  assert(
    result.stderr.includes("Warning: --download-limit 10.0 KiB/s is very low"),
    result.stderr,
  );
});

Deno.test("an option before a command that does not take it is refused in one sentence naming those that do", async () => {
  const cases: [string[], string][] = [
    [
      ["--out", "x", "share", "missing.bin"],
      'peer share does not take --out: it is for ui, get and the prompt ("peer" with no command).',
    ],
    [
      ["--port", "0", "list"],
      'peer list does not take --port: it is for ui, share, get, doctor and the prompt ("peer" with no command).',
    ],
    [
      ["--json", "ui"],
      "peer ui does not take --json: it is for share, get, list, search and doctor.",
    ],
    [
      ["--json"],
      'The prompt ("peer" with no command) does not take --json: it is for share, get, list, search and doctor.',
    ],
    [
      ["-q", "list", "-v"],
      "--quiet and --verbose do not go together: leave out one of them.",
    ],
  ];
  for (const [args, sentence] of cases) {
    const result = await runEntry("peer.ts", args, { env: deadTrackerEnv() });
    assertEquals(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assertEquals(assertOneLine(result.stderr), sentence);
  }
});
