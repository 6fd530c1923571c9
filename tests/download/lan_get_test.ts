/**
 * LAN discovery end to end, with no tracker at all: two network namespaces
 * on one bridge (in a namespace of its own: nothing reaches a real
 * interface), `peer share` in one and `peer get` in the other, both naming a
 * tracker address where nothing runs. The getter hears the sharer on the
 * LAN, asks it for the metadata (`meta-request`) and fetches the file. A
 * private share's multicast, captured, carries neither its ID nor its name.
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, requiring, sha256File, tempDir } from "../fixtures.ts";
import { entryArgv, spawnIn } from "../../scripts/_namespaces.ts";
import { lanLab, lanLabAvailable } from "../../scripts/lanlab.ts";
import { completion, READY_TIMEOUT_MS } from "../../scripts/_child.ts";
import { LAN_GROUP, LAN_UDP_PORT } from "../../lib/discovery/lan.ts";

const lanTest = requiring(lanLabAvailable());
/** Where no tracker runs: on the lab's net, but no host has it. */
const NO_TRACKER = "10.79.0.250:5000";
const LAN_ON = { P2P_NO_LAN: "" };

/** Every multicast datagram on the LAN group heard in namespace `ns`, until stopped. */
function captureLan(ns: string) {
  const script = `
    import dgram from "node:dgram";
    const s = dgram.createSocket({ type: "udp4", reuseAddr: true });
    s.on("message", (m) => console.log(m.toString("base64")));
    s.bind(${LAN_UDP_PORT}, () => { s.addMembership("${LAN_GROUP}"); console.log("ready"); });
  `;
  return spawnIn(ns, [Deno.execPath(), "eval", script]);
}

lanTest(
  "LAN: with no tracker running, peer get finds a sharer on the same network and fetches the file",
  async () => {
    await using dir = await tempDir();
    await using lab = await lanLab();
    const file = await randomFile(dir.path, "holiday.mp4", 3 * 1024 * 1024 + 5);
    const sharer = spawnIn(
      lab.a,
      entryArgv("peer.ts", [
        "share",
        file,
        "--json",
        "--tracker",
        NO_TRACKER,
        "--host",
        "10.79.0.1",
        "--port",
        "0",
      ]),
      { env: LAN_ON },
    );
    try {
      const shared = JSON.parse(
        await sharer.waitForLine(/^\{/, READY_TIMEOUT_MS),
      );
      const out = join(dir.path, "out");
      const got = await completion(
        spawnIn(
          lab.b,
          entryArgv("peer.ts", [
            "get",
            shared.id,
            "--json",
            "--tracker",
            NO_TRACKER,
            "--out",
            out,
            "--host",
            "10.79.0.2",
          ]),
          { env: LAN_ON },
        ),
        60_000,
      );
      assertEquals(got.code, 0, got.stderr);
      assertEquals(await sha256File(join(out, "holiday.mp4")), shared.id);
      const result = JSON.parse(got.stdout.trim().split("\n").at(-1)!);
      assertEquals(
        result.peers.map((p: { address: string }) => p.address.split(":")[0]),
        ["10.79.0.1"],
      );
      // --json says where it was found.
      assertEquals(
        result.peers.map((p: { found: string }) => p.found),
        ["lan"],
      );
      // With --no-lan the same get finds nobody: it needs the tracker.
      const off = await completion(
        spawnIn(
          lab.b,
          entryArgv("peer.ts", [
            "get",
            shared.id,
            "--tracker",
            NO_TRACKER,
            "--out",
            join(dir.path, "off"),
            "--host",
            "10.79.0.2",
            "--no-lan",
            "--wait",
            "0",
          ]),
          { env: LAN_ON },
        ),
        60_000,
      );
      assertEquals(off.code, 1, off.stdout);
    } finally {
      await sharer.stop();
    }
  },
);

lanTest(
  "LAN: a private share is found by its link with no tracker, and its multicast carries neither its ID nor its name",
  async () => {
    await using dir = await tempDir();
    await using lab = await lanLab();
    const file = await randomFile(dir.path, "salaries-2026.xlsx", 700_000);
    const capture = captureLan(lab.b);
    const sharer = spawnIn(
      lab.a,
      entryArgv("peer.ts", [
        "share",
        file,
        "--private",
        "--json",
        "--tracker",
        NO_TRACKER,
        "--host",
        "10.79.0.1",
        "--port",
        "0",
      ]),
      { env: LAN_ON },
    );
    try {
      await capture.waitForLine(/^ready$/, READY_TIMEOUT_MS);
      const shared = JSON.parse(
        await sharer.waitForLine(/^\{/, READY_TIMEOUT_MS),
      );
      assert(shared.private && shared.link.includes("/priv/"), shared.link);
      const out = join(dir.path, "out");
      // The link comes from the environment (kept out of the process list).
      const viaEnv = await completion(
        spawnIn(
          lab.b,
          entryArgv("peer.ts", [
            "get",
            "--json",
            "--out",
            out,
            "--host",
            "10.79.0.2",
          ]),
          { env: { ...LAN_ON, P2P_LINK: shared.link } },
        ),
        60_000,
      );
      assertEquals(viaEnv.code, 0, viaEnv.stderr);
      const id = await sha256File(join(out, "salaries-2026.xlsx"));
      assertEquals(id, await sha256File(file));
      await capture.stop();
      const heard = capture.stdout.filter((l) => l !== "ready")
        .map((l) => new TextDecoder().decode(Uint8Array.fromBase64(l)));
      assert(heard.length > 0, "nothing was multicast");
      for (const datagram of heard) {
        assert(!datagram.includes(id), datagram);
        assert(!datagram.includes(id.slice(0, 16)), datagram);
        assert(!datagram.includes("salaries"), datagram);
      }
    } finally {
      await sharer.stop();
      await capture.stop();
    }
  },
);

lanTest(
  "LAN: a sharer serving on 127.0.0.1 only offers nothing on the LAN, where its neighbours could not connect",
  async () => {
    await using dir = await tempDir();
    await using lab = await lanLab();
    const file = await randomFile(dir.path, "local-only.bin", 100_000);
    const capture = captureLan(lab.b);
    const sharer = spawnIn(
      lab.a,
      entryArgv("peer.ts", [
        "share",
        file,
        "--json",
        "--tracker",
        NO_TRACKER,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
      ]),
      { env: LAN_ON },
    );
    try {
      await capture.waitForLine(/^ready$/, READY_TIMEOUT_MS);
      await sharer.waitForLine(/^\{/, READY_TIMEOUT_MS);
      // Longer than a share's first offers take to go out.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await capture.stop();
      const heard = capture.stdout.filter((l) => l !== "ready");
      assertEquals(heard, []);
    } finally {
      await sharer.stop();
      await capture.stop();
    }
  },
);
