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
  spawnSharer,
  spawnTracker,
} from "../../scripts/_child.ts";
import { parseShareLink } from "../../lib/protocol/share_link.ts";
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
