/**
 * The DHT end to end, with no tracker: a local DHT of 20 node processes on
 * 127.0.0.1 (18 plain nodes, the sharer's and the getter's), one of them
 * the bootstrap node; `peer share` announces the file's discovery key,
 * `peer get` looks it up, takes the metadata from the sharer
 * (`meta-request`) and fetches the file.
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, sha256File, tempDir } from "../fixtures.ts";
import {
  Child,
  completion,
  READY_TIMEOUT_MS,
  ROOT,
  spawnEntry,
} from "../../scripts/_child.ts";

/** Plain DHT nodes besides the sharer's and the getter's. */
const PLAIN_NODES = 18;
/** Where no tracker runs: nothing listens on port 1. */
const NO_TRACKER = "127.0.0.1:1";
const DHT_ON = { P2P_NO_DHT: "" };

/** A plain DHT node child joining through `bootstrap`; resolves once bound, with its address. */
async function dhtNode(
  bootstrap?: string,
): Promise<{ child: Child; address: string }> {
  const child = new Child(
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-env",
        `${ROOT}scripts/dht_node.ts`,
        ...(bootstrap ? ["--bootstrap", bootstrap] : []),
      ],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
  const line = await child.waitForLine(/^node /, READY_TIMEOUT_MS);
  return { child, address: line.slice("node ".length) };
}

Deno.test("DHT: with no tracker, peer get finds the sharer in a local DHT of 20 nodes and fetches the file within 10 s", async () => {
  await using dir = await tempDir();
  const nodes: Child[] = [];
  try {
    const first = await dhtNode();
    nodes.push(first.child);
    const rest = await Promise.all(
      Array.from({ length: PLAIN_NODES - 1 }, () => dhtNode(first.address)),
    );
    nodes.push(...rest.map((node) => node.child));
    const file = await randomFile(dir.path, "lecture.mkv", 2 * 1024 * 1024);
    const dhtArgs = ["--tracker", NO_TRACKER, "--host", "127.0.0.1"];
    const started = performance.now();
    const sharer = spawnEntry("peer.ts", [
      "share",
      file,
      "--json",
      "--port",
      "0",
      "--dht-bootstrap",
      first.address,
      ...dhtArgs,
    ], { env: { ...DHT_ON, P2P_HOME: join(dir.path, "sharer-home") } });
    nodes.push(sharer);
    const shared = JSON.parse(
      await sharer.waitForLine(/^\{/, READY_TIMEOUT_MS),
    );
    const out = join(dir.path, "out");
    const got = await completion(
      spawnEntry("peer.ts", [
        "get",
        shared.id,
        "--json",
        "--out",
        out,
        "--dht-bootstrap",
        rest[5].address,
        ...dhtArgs,
      ], { env: { ...DHT_ON, P2P_HOME: join(dir.path, "getter-home") } }),
      30_000,
    );
    const elapsedMs = performance.now() - started;
    assertEquals(got.code, 0, got.stderr);
    assertEquals(await sha256File(join(out, "lecture.mkv")), shared.id);
    const result = JSON.parse(got.stdout.trim().split("\n").at(-1)!);
    assertEquals(
      result.peers.map((p: { found: string }) => p.found),
      ["dht"],
    );
    assert(
      elapsedMs < 10_000,
      `share and get took ${Math.round(elapsedMs)} ms`,
    );
    // The getter kept its routing table in its data folder for next time.
    const saved = JSON.parse(
      await Deno.readTextFile(join(dir.path, "getter-home", "dht-nodes.json")),
    );
    assert(JSON.stringify(saved).includes("127.0.0.1"), JSON.stringify(saved));
  } finally {
    await Promise.all(nodes.map((child) => child.stop()));
  }
});
