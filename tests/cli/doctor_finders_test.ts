/**
 * `peer doctor`'s LAN and DHT checks as a process: --no-lan, --no-dht and
 * --dht-bootstrap are honoured (the DHT asked only of nodes on 127.0.0.1,
 * the LAN never on a real network), the DHT is checked with no tracker
 * too, and each finding is one line.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import { assertOneLine, freePort } from "./_cli.ts";
import { runEntry, spawnTracker } from "../../scripts/_child.ts";
import { doctorLines } from "../../lib/cli/doctor.ts";
import type { DoctorReport } from "../../lib/app/doctor.ts";
import { DhtDiscovery } from "../../lib/discovery/dht.ts";

const LOCAL = "127.0.0.1";
/** Turns the DHT on for a child (the test runner turns it off). */
const DHT_ON = { env: { P2P_NO_DHT: "" } };

async function localNode(): Promise<DhtDiscovery> {
  const node = await DhtDiscovery.start({
    port: 1,
    udpPort: 0,
    host: LOCAL,
    bootstrap: [],
  });
  assert(node, "no DHT node on 127.0.0.1");
  return node;
}

Deno.test("peer doctor --dht-bootstrap asks those nodes and says how many answered", async () => {
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  await using node = await localNode();
  const gone = `${LOCAL}:${freePort()}`;
  const result = await runEntry("peer.ts", [
    "doctor",
    "--tracker",
    tracker.address,
    "--host",
    LOCAL,
    "--port",
    "0",
    "--dht-bootstrap",
    `${LOCAL}:${node.udpPort},${gone}`,
  ], DHT_ON);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(
    result.stdout.trim().split("\n").at(-1),
    `DHT: 1 of 2 bootstrap nodes answered within 3 s (not ${gone}): this peer can join the DHT and find peers without a tracker.`,
  );
});

Deno.test("peer doctor with no tracker still checks the DHT: the tracker's sentence on stderr, the DHT's line on stdout, exit 1", async () => {
  await using node = await localNode();
  const down = `${LOCAL}:${freePort()}`;
  const result = await runEntry("peer.ts", [
    "doctor",
    "--tracker",
    down,
    "--dht-bootstrap",
    `${LOCAL}:${node.udpPort}`,
    "--host",
    LOCAL,
  ], DHT_ON);
  assertEquals(result.code, 1);
  const line = assertOneLine(result.stderr);
  assert(line.startsWith(`Cannot reach tracker at ${down}`), line);
  assertEquals(result.stdout.trim().split("\n"), [
    "LAN discovery: off (P2P_NO_LAN is set), not checked.",
    "DHT: 1 of 1 bootstrap node answered within 3 s: this peer can join the DHT and find peers without a tracker.",
  ]);
});

Deno.test("peer doctor --json carries the DHT check; --no-dht and --no-lan leave their checks out", async () => {
  await using node = await localNode();
  const base = [
    "doctor",
    "--json",
    "--tracker",
    `${LOCAL}:${freePort()}`,
    "--host",
    LOCAL,
    "--dht-bootstrap",
    `${LOCAL}:${node.udpPort}`,
  ];
  const on = JSON.parse((await runEntry("peer.ts", base, DHT_ON)).stdout);
  assertEquals(on.dht.answered, 1);
  assertEquals(on.dht.nodes[0].node, `${LOCAL}:${node.udpPort}`);
  assertEquals(typeof on.dht.nodes[0].ms, "number");
  assertEquals(on.lan, undefined); // P2P_NO_LAN, as the test runner sets it
  const off = await runEntry("peer.ts", [...base, "--no-dht", "--no-lan"], {
    env: { P2P_NO_DHT: "", P2P_NO_LAN: "" },
  });
  const report = JSON.parse(off.stdout);
  assertEquals([report.dht, report.lan], [undefined, undefined]);
  assertEquals(report.exitCode, 1);
});

for (
  const { flags, env, lan, dht } of [
    {
      flags: ["--no-lan"],
      env: { P2P_NO_LAN: "" },
      lan: "--no-lan",
      dht: "P2P_NO_DHT is set",
    },
    {
      flags: ["--no-dht"],
      env: { P2P_NO_DHT: "" },
      lan: "P2P_NO_LAN is set",
      dht: "--no-dht",
    },
    // Both the flag and the variable (as the test runner sets): the flag.
    {
      flags: ["--no-lan", "--no-dht"],
      env: { P2P_NO_LAN: "1", P2P_NO_DHT: "1" },
      lan: "--no-lan",
      dht: "--no-dht",
    },
  ]
) {
  Deno.test(
    `peer doctor ${
      flags.join(" ")
    } says in one line each that LAN discovery and the DHT are off, and what turned them off`,
    async () => {
      const tracker = await spawnTracker();
      await using _tracker = tracker.child;
      const args = [
        "doctor",
        "--tracker",
        tracker.address,
        "--host",
        LOCAL,
        "--port",
        "0",
        ...flags,
      ];
      const result = await runEntry("peer.ts", args, { env });
      assertEquals(result.code, 0, result.stderr);
      assertEquals(result.stdout.trim().split("\n").slice(-2), [
        `LAN discovery: off (${lan}), not checked.`,
        `DHT: off (${dht}), not checked.`,
      ]);
      const json = await runEntry("peer.ts", [...args, "--json"], { env });
      const report = JSON.parse(json.stdout);
      assertEquals(
        [report.lanOff, report.dhtOff],
        [lan.split(" ")[0], dht.split(" ")[0]],
      );
    },
  );
}

const REPORT: DoctorReport = {
  tracker: "203.0.113.1:5000",
  trackers: [{ tracker: "203.0.113.1:5000", ms: 40 }],
  trackerMs: 40,
  local: "198.51.100.7",
  observed: "198.51.100.7",
  nat: "none",
  port: 6000,
  reachable: true,
};

Deno.test("doctor's LAN lines: works, cannot join, cannot send, nothing came back", () => {
  const group = "239.192.152.143:6771";
  const line = (lan: DoctorReport["lan"]) =>
    doctorLines({ ...REPORT, lan }).at(-1);
  assertEquals(
    line({ group, joined: true, heard: true }),
    `LAN discovery: this machine sends to and hears the multicast group ${group}: peers on your network find each other even without a tracker.`,
  );
  assertEquals(
    line({ group, joined: false, heard: false, error: "No such device" }),
    `LAN discovery: cannot join the multicast group ${group} (No such device): peers on your network are found only through the tracker and the DHT.`,
  );
  assertEquals(
    line({ group, joined: true, heard: false, error: "Network unreachable" }),
    `LAN discovery: cannot send to the multicast group ${group} (Network unreachable): peers on your network are found only through the tracker and the DHT.`,
  );
  assertEquals(
    line({ group, joined: true, heard: false }),
    `LAN discovery: an announcement sent to the multicast group ${group} did not come back within 1 s: a firewall may drop multicast (UDP port 6771), and then peers on your network are found only through the tracker and the DHT.`,
  );
});

Deno.test("doctor's DHT lines: none answered, names not found, no nodes given, no socket", () => {
  const line = (dht: DoctorReport["dht"]) =>
    doctorLines({ ...REPORT, dht }).at(-1);
  assertEquals(
    line({
      nodes: [{ node: "a.example:6881" }, {
        node: "b.example:6881",
        error: "no such host",
      }],
      answered: 0,
    }),
    "DHT: none of the 2 bootstrap nodes answered within 3 s (not a.example:6881, b.example:6881: no such host): a firewall may block UDP, or give nodes that answer with --dht-bootstrap; until then peers are found through the tracker and the LAN, and the DHT only through nodes saved from an earlier run.",
  );
  assertEquals(
    line({ nodes: [{ node: "a.example:6881" }], answered: 0 }),
    "DHT: the bootstrap node did not answer within 3 s (not a.example:6881): a firewall may block UDP, or give nodes that answer with --dht-bootstrap; until then peers are found through the tracker and the LAN, and the DHT only through nodes saved from an earlier run.",
  );
  assertEquals(
    line({
      nodes: [{ node: "a.example:6881", error: "no such host" }, {
        node: "b.example:6881",
        error: "no such host",
      }],
      answered: 0,
    }),
    "DHT: none of the bootstrap nodes' names could be looked up (a.example:6881, b.example:6881): is this machine online, with a working DNS? Until then peers are found through the tracker and the LAN, and the DHT only through nodes saved from an earlier run.",
  );
  assertEquals(
    line({ nodes: [], answered: 0 }),
    'DHT: no bootstrap nodes given (--dht-bootstrap ""): this peer joins the DHT only through the nodes saved from its last run.',
  );
  assertEquals(
    line({ nodes: [{ node: "a.example:6881" }], answered: 0, error: "EACCES" }),
    "DHT: cannot open a UDP socket (EACCES), so this peer cannot join the DHT; peers are found only through the tracker and the LAN.",
  );
});
