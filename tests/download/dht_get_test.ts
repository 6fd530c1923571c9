/**
 * The DHT end to end, with no tracker: a local DHT of 20 node processes on
 * 127.0.0.1 (18 plain nodes, the sharer's and the getter's), one of them
 * the bootstrap node; `peer share` announces the file's discovery key,
 * `peer get` looks it up, takes the metadata from the sharer
 * (`meta-request`) and fetches the file.
 */

import { createSocket } from "node:dgram";
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, requiring, sha256File, tempDir } from "../fixtures.ts";
import { parseShareLink } from "../../lib/protocol/share_link.ts";
import { deriveShareKeys } from "../../lib/secure/share_keys.ts";
import { discoveryKey } from "../../lib/discovery/lan.ts";
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

const captureTest = requiring(
  Deno.uid() !== 0
    ? "capturing traffic needs root"
    : !exists("/usr/bin/tcpdump") && !exists("/usr/sbin/tcpdump")
    ? "no tcpdump (apt install tcpdump)"
    : undefined,
);

captureTest(
  "DHT: a private share found through the DHT: every UDP datagram, captured, holds its discovery key but never its ID, lookup key or name",
  async () => {
    await using dir = await tempDir();
    const capture = join(dir.path, "dht.pcap");
    const tcpdump = new Deno.Command("tcpdump", {
      // Immediate mode: every packet reaches the file as it is seen.
      args: [
        "--immediate-mode",
        "-i",
        "lo",
        "-U",
        "-s",
        "0",
        "-w",
        capture,
        "udp",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const children: Child[] = [];
    try {
      await captureStarted(capture);
      const nodes = spawnEntry("scripts/dht_node.ts", ["--count", "10"]);
      children.push(nodes);
      const first = (await nodes.waitForLine(/^node /, READY_TIMEOUT_MS))
        .slice("node ".length);
      const file = await randomFile(dir.path, "salaries-2026.xlsx", 300_000);
      const dhtArgs = [
        "--tracker",
        NO_TRACKER,
        "--host",
        "127.0.0.1",
        "--dht-bootstrap",
        first,
      ];
      const sharer = spawnEntry("peer.ts", [
        "share",
        file,
        "--private",
        "--json",
        "--port",
        "0",
        ...dhtArgs,
      ], { env: { ...DHT_ON, P2P_HOME: join(dir.path, "sharer-home") } });
      children.push(sharer);
      const shared = JSON.parse(
        await sharer.waitForLine(/^\{/, READY_TIMEOUT_MS),
      );
      const out = join(dir.path, "out");
      const got = await completion(
        spawnEntry("peer.ts", ["get", "--json", "--out", out, ...dhtArgs], {
          env: {
            ...DHT_ON,
            P2P_HOME: join(dir.path, "getter-home"),
            P2P_LINK: shared.link,
          },
        }),
        30_000,
      );
      assertEquals(got.code, 0, got.stderr);
      const id = await sha256File(join(out, "salaries-2026.xlsx"));
      assertEquals(id, await sha256File(file));
      await Promise.all(children.map((child) => child.stop()));
      children.length = 0;
      await new Promise((resolve) => setTimeout(resolve, 300));
      tcpdump.kill("SIGINT");
      await tcpdump.status;
      const bytes = await Deno.readFile(capture);
      const link = parseShareLink(shared.link);
      assert(link.kind === "private");
      const { lookupKey } = deriveShareKeys(link.secret);
      const key = discoveryKey(lookupKey);
      // The capture holds the DHT's traffic: the key looked up is in it.
      assert(
        includes(bytes, unhex(key)),
        `the discovery key is not in the capture (${bytes.length} bytes)`,
      );
      const forbidden: [string, Uint8Array][] = [
        ["the ID", unhex(id)],
        ["the ID in hex", text(id)],
        ["the short ID in hex", text(id.slice(0, 16))],
        ["the lookup key", unhex(lookupKey)],
        ["the lookup key in hex", text(lookupKey)],
        ["the name", text("salaries")],
      ];
      for (const [what, needle] of forbidden) {
        assert(!includes(bytes, needle), `${what} is in the DHT's traffic`);
      }
    } finally {
      await Promise.all(children.map((child) => child.stop()));
      try {
        tcpdump.kill("SIGKILL");
      } catch {
        // Exited.
      }
      await tcpdump.status;
    }
  },
);

/**
 * Resolves once tcpdump writes packets to `capture`: probe datagrams are
 * sent to a port nothing listens on until one shows in the file.
 */
async function captureStarted(capture: string): Promise<void> {
  const probe = createSocket("udp4");
  try {
    const deadline = performance.now() + 10_000;
    for (;;) {
      await new Promise((resolve) =>
        probe.send("probe", 9, "127.0.0.1", resolve)
      );
      const size = await Deno.stat(capture).then((s) => s.size, () => 0);
      if (size > PCAP_HEADER_BYTES) return;
      if (performance.now() > deadline) {
        throw new Error("tcpdump captured nothing");
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    probe.close();
  }
}

/** Bytes of a pcap file's header, before its first packet. */
const PCAP_HEADER_BYTES = 24;

function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

function unhex(value: string): Uint8Array {
  return Uint8Array.from(value.match(/../g)!, (pair) => parseInt(pair, 16));
}

function includes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
