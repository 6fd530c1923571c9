/**
 * Several trackers with real processes: a sharer registers with all it is
 * given, a link names them all, and gets, lists and searches ask them all at
 * once, so a tracker that is down or never answers costs nothing.
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, sha256File, tempDir } from "../fixtures.ts";
import {
  getArgs,
  runEntry,
  shareArgs,
  spawnEntry,
  spawnSharer,
  spawnTracker,
} from "../../scripts/_child.ts";
import { PromptProcess } from "../_prompt_process.ts";
import {
  formatShareLink,
  generateShareSecret,
  parseShareLink,
} from "../../lib/protocol/share_link.ts";
import { CONNECT_TIMEOUT_MS } from "../../lib/protocol/limits.ts";

/** A TCP port that accepts connections and never says a word: a tracker that hangs. */
function silentTracker(): Deno.TcpListener & { address: string } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) held.push(conn);
  })().catch(() => {});
  return Object.assign(listener, {
    address: `127.0.0.1:${listener.addr.port}`,
    [Symbol.dispose]() {
      for (const conn of held) conn.close();
      listener.close();
    },
  });
}

Deno.test("several trackers: a share registers with each, its link names them all, and with one killed the get completes and list shows every file once", async () => {
  await using dir = await tempDir();
  const trackers = [
    await spawnTracker(),
    await spawnTracker(),
    await spawnTracker(),
  ];
  const all = trackers.map((t) => t.address).join(",");
  const a = await randomFile(dir.path, "alpha.bin", 3 * 1024 * 1024);
  const b = await randomFile(dir.path, "beta.bin", 200_000);
  const alpha = await spawnSharer(a, all);
  // Another sharer knows only the third tracker.
  const beta = await spawnSharer(b, trackers[2].address);
  try {
    const link = parseShareLink(alpha.link);
    assertEquals(
      link.trackers.map((t) => `${t.host}:${t.port}`),
      trackers.map((t) => t.address),
    );
    // Each tracker lists alpha on its own.
    for (const tracker of trackers) {
      const { code, stdout } = await runEntry("peer.ts", [
        "list",
        "--json",
        "--tracker",
        tracker.address,
      ]);
      assertEquals(code, 0);
      assert(
        JSON.parse(stdout).files.some((f: { id: string }) => f.id === alpha.id),
        tracker.address,
      );
    }
    await trackers[0].child.stop();
    const out = join(dir.path, "out");
    const got = await runEntry(
      "peer.ts",
      getArgs(alpha.link, all, out, ["--quiet"]),
    );
    assertEquals(got.code, 0, got.stderr);
    assertEquals(await sha256File(join(out, "alpha.bin")), alpha.id);
    // list and search ask every tracker and merge: each file once.
    const listed = await runEntry("peer.ts", [
      "list",
      "--json",
      "--tracker",
      all,
    ]);
    assertEquals(listed.code, 0, listed.stderr);
    const ids = JSON.parse(listed.stdout).files.map((f: { id: string }) => f.id)
      .sort();
    assertEquals(ids, [alpha.id, beta.id].sort());
    const searched = await runEntry("peer.ts", [
      "search",
      "beta",
      "--json",
      "--tracker",
      all,
    ]);
    assertEquals(
      JSON.parse(searched.stdout).files.map((f: { id: string }) => f.id),
      [beta.id],
    );
    // With no tracker up at all, one sentence and exit 1.
    await trackers[1].child.stop();
    await trackers[2].child.stop();
    const none = await runEntry("peer.ts", ["list", "--tracker", all]);
    assertEquals(none.code, 1);
    assertEquals(none.stderr.trim().split("\n").length, 1, none.stderr);
  } finally {
    await alpha.child.stop();
    await beta.child.stop();
    for (const tracker of trackers) await tracker.child.stop();
  }
});

Deno.test("several trackers: one that accepts but never answers slows neither a share, a get nor a list", async () => {
  await using dir = await tempDir();
  using silent = silentTracker();
  const tracker = await spawnTracker();
  const both = `${silent.address},${tracker.address}`;
  const file = await randomFile(dir.path, "gamma.bin", 1024 * 1024);
  const started = performance.now();
  const sharer = await spawnSharer(file, both);
  try {
    const shareMs = performance.now() - started;
    const out = join(dir.path, "out");
    const got = await runEntry("peer.ts", getArgs(sharer.id, both, out));
    assertEquals(got.code, 0, got.stderr);
    const result = JSON.parse(got.stdout.trim().split("\n").at(-1)!);
    assertEquals(await sha256File(join(out, "gamma.bin")), sharer.id);
    assertEquals(
      result.peers.map((p: { found: string }) => p.found),
      ["tracker"],
    );
    const listStarted = performance.now();
    const listed = await runEntry("peer.ts", [
      "list",
      "--json",
      "--tracker",
      both,
    ]);
    const listMs = performance.now() - listStarted;
    assertEquals(
      JSON.parse(listed.stdout).files.map((f: { id: string }) => f.id),
      [sharer.id],
    );
    // The silent tracker's handshake would take CONNECT_TIMEOUT_MS to fail;
    // nothing waited for it.
    assert(
      result.elapsedMs < CONNECT_TIMEOUT_MS,
      `get took ${result.elapsedMs} ms`,
    );
    assert(shareMs < CONNECT_TIMEOUT_MS, `share took ${shareMs} ms`);
    assert(listMs < CONNECT_TIMEOUT_MS, `list took ${listMs} ms`);
  } finally {
    await sharer.child.stop();
    await tracker.child.stop();
  }
});

/** A port nothing listens on (taken and given back). */
function deadAddress(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return `127.0.0.1:${port}`;
}

Deno.test("several trackers: one that is down is named: a get and a list say so and go on, an unknown ID names each tracker, and none up names each", async () => {
  await using dir = await tempDir();
  const tracker = await spawnTracker();
  const dead = deadAddress();
  const deadFirst = `${dead},${tracker.address}`;
  const file = await randomFile(dir.path, "delta.bin", 300_000);
  const sharer = await spawnSharer(file, tracker.address);
  try {
    const out = join(dir.path, "out");
    const got = await runEntry("peer.ts", [
      "get",
      sharer.id,
      "--tracker",
      deadFirst,
      "--out",
      out,
    ]);
    assertEquals(got.code, 0, got.stderr);
    assertEquals(await sha256File(join(out, "delta.bin")), sharer.id);
    assert(
      got.stderr.includes(
        `The tracker at ${dead} could not be used (connection refused): the others were asked, but sharers behind a NAT are met only through it.`,
      ),
      got.stderr,
    );
    const listed = await runEntry("peer.ts", ["list", "--tracker", deadFirst]);
    assertEquals(listed.code, 0, listed.stderr);
    assert(listed.stdout.includes("delta.bin"), listed.stdout);
    assertEquals(
      listed.stderr.trim(),
      `The tracker at ${dead} could not be used (connection refused): files only it knows are not listed.`,
    );
    const json = await runEntry("peer.ts", [
      "search",
      "delta",
      "--json",
      "--tracker",
      deadFirst,
    ]);
    assertEquals(JSON.parse(json.stdout).unanswered, [
      { tracker: dead, reason: "connection refused" },
    ]);
    const unknown = "0123456789abcdef".repeat(4);
    const missing = await runEntry("peer.ts", [
      "get",
      unknown,
      "--wait",
      "0",
      "--tracker",
      `${tracker.address},${dead}`,
      "--out",
      out,
    ]);
    assertEquals(missing.code, 1);
    assertEquals(
      missing.stderr.trim(),
      `No file with ID ${unknown} is known to the tracker at ${tracker.address}, and the tracker at ${dead} could not be used (connection refused). If it was shared privately, only its link (p2p://…/priv/…) can fetch it.`,
    );
    // A private link: what the tracker that answered does not know, and
    // the one that could not be asked.
    const [host, port] = tracker.address.split(":");
    const [deadHost, deadPort] = dead.split(":");
    const link = formatShareLink({
      version: 1,
      trackers: [
        { host, port: Number(port) },
        { host: deadHost, port: Number(deadPort) },
      ],
      kind: "private",
      secret: generateShareSecret(),
      shortId: unknown.slice(0, 16),
    });
    const secretMissing = await runEntry("peer.ts", [
      "get",
      link,
      "--wait",
      "0",
      "--out",
      out,
    ]);
    assertEquals(secretMissing.code, 1);
    assertEquals(
      secretMissing.stderr.trim(),
      `This link's secret does not match any sharer the tracker at ${tracker.address} knows, and the tracker at ${dead} could not be used (connection refused).`,
    );
    const dead2 = deadAddress();
    // With no wait: the default one would ask them again meanwhile.
    const none = await runEntry("peer.ts", [
      "get",
      unknown,
      "--tracker",
      `${dead},${dead2}`,
      "--wait",
      "0",
      "--out",
      out,
    ]);
    assertEquals(none.code, 1);
    assertEquals(
      none.stderr.trim(),
      `Cannot reach any of the 2 trackers: ${dead} (connection refused), ${dead2} (connection refused). Are they running? Set --tracker or P2P_TRACKER.`,
    );
  } finally {
    await sharer.child.stop();
    await tracker.child.stop();
  }
});

Deno.test("several trackers: a share and a prompt say once which tracker could not be used, and a prompt with none names each", async () => {
  await using dir = await tempDir();
  const tracker = await spawnTracker();
  const dead = deadAddress();
  const file = await randomFile(dir.path, "epsilon.bin", 100_000);
  const sharer = spawnEntry(
    "peer.ts",
    shareArgs(file, `${dead},${tracker.address}`, [], { json: false }),
  );
  try {
    await sharer.waitForLine(/^Serving on /, 15_000);
    assertEquals(
      await sharer.waitForLine(/could not be used/, 15_000, "stderr"),
      `The tracker at ${dead} could not be used (connection refused): the others have this peer's files, and it gets them once it is back. Until then, peers behind a NAT are not met through it.`,
    );
  } finally {
    await sharer.stop();
    await tracker.child.stop();
  }
  const env = { P2P_HOME: join(dir.path, "home") };
  const common = ["--host", "127.0.0.1", "--port", "0"];
  const up = await spawnTracker();
  try {
    await using prompt = new PromptProcess([
      ...common,
      "--tracker",
      `${up.address},${dead}`,
    ], env);
    await prompt.waitFor(/could not be used/);
    await prompt.type("list\n");
    await prompt.waitFor(/^No files\./);
    await prompt.type("quit\n");
    assertEquals((await prompt.end()).code, 0, prompt.output);
    const notes = prompt.lines.filter((line) => line.startsWith("The tracker"));
    assertEquals(notes, [
      `The tracker at ${dead} could not be used (connection refused): what only it knows is missing until it is back.`,
    ]);
    assert(
      prompt.lines[0].includes(`with trackers ${up.address}, ${dead}.`),
      prompt.lines[0],
    );
  } finally {
    await up.child.stop();
  }
  const dead2 = deadAddress();
  await using alone = new PromptProcess([
    ...common,
    "--tracker",
    `${dead},${dead2}`,
  ], env);
  assertEquals(
    await alone.waitFor(/^Cannot reach any/),
    `Cannot reach any of the 2 trackers: ${dead} (connection refused), ${dead2} (connection refused). Are they running? Set --tracker or P2P_TRACKER. Sharing and lookups fail until one can be used.`,
  );
  await alone.type("quit\n");
  assertEquals((await alone.end()).code, 0, alone.output);
});

Deno.test("get of an ID nobody shares yet says so while it waits, without a size or percent, once in a log", async () => {
  await using dir = await tempDir();
  const tracker = await spawnTracker();
  try {
    const unknown = "fedcba9876543210".repeat(4);
    const waited = await runEntry("peer.ts", [
      "get",
      unknown,
      "--wait",
      "3s",
      "--tracker",
      tracker.address,
      "--out",
      join(dir.path, "out"),
    ]);
    assertEquals(waited.code, 1);
    const lines = waited.stderr.trim().split("\n");
    assertEquals(lines, [
      "ID fedcba9876543210 is not shared yet: waiting for a sharer (3s left, --wait to change).",
      `No file with ID ${unknown} is known to the tracker at ${tracker.address}. If it was shared privately, only its link (p2p://…/priv/…) can fetch it.`,
    ]);
  } finally {
    await tracker.child.stop();
  }
});

Deno.test("several trackers: --tracker refuses more than a link can name, and a bad one, in one sentence with exit 2", async () => {
  const nine = Array.from({ length: 9 }, (_, i) => `127.0.0.1:${5000 + i}`)
    .join(",");
  for (
    const tracker of [nine, "127.0.0.1:5000,not a host!", "127.0.0.1:5000,"]
  ) {
    const { code, stderr } = await runEntry("peer.ts", [
      "list",
      "--tracker",
      tracker,
    ]);
    assertEquals(code, 2, `${tracker}: ${stderr}`);
    assertEquals(stderr.trim().split("\n").length, 1, stderr);
  }
});
