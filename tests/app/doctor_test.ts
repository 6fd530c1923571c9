/**
 * The checks of `peer doctor` that need no tracker, in process: LAN
 * discovery on a test-only multicast group on 127.0.0.1 (where multicast
 * works there), and the DHT against a node on 127.0.0.1; both made even
 * when no tracker answers, and neither when not asked.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import { requiring } from "../fixtures.ts";
import { freePort } from "../cli/_cli.ts";
import { runDoctor } from "../../lib/app/doctor.ts";
import { DhtDiscovery } from "../../lib/discovery/dht.ts";
import { LanDiscovery } from "../../lib/discovery/lan.ts";

const LOCAL = "127.0.0.1";

/** A test-only group and UDP port, so tests neither meet each other nor real LSD. */
function testGroup(): { group: string; udpPort: number } {
  return {
    group: `239.255.78.${1 + Math.floor(Math.random() * 250)}`,
    udpPort: 20_000 + Math.floor(Math.random() * 40_000),
  };
}

/** Why multicast on 127.0.0.1 cannot be tested here, or undefined if it can. */
async function loopbackProblem(): Promise<string | undefined> {
  const lines: string[] = [];
  const lan = await LanDiscovery.start({
    port: 1,
    interface: LOCAL,
    ...testGroup(),
    log: (line) => lines.push(line),
  });
  if (!lan) return `no multicast on ${LOCAL}: ${lines.join(" ")}`;
  await lan.close();
  return undefined;
}

/** What every check here starts from: no tracker there, a port picked. */
function noTracker() {
  return {
    tracker: { host: LOCAL, port: freePort() },
    port: 0,
    host: LOCAL,
  };
}

requiring(await loopbackProblem())(
  "with no tracker, doctor still checks LAN discovery: its announcement to the group comes back",
  async () => {
    const where = testGroup();
    const report = await runDoctor({
      ...noTracker(),
      lan: { ...where, interface: LOCAL },
    });
    assertEquals(report.trackerMs, undefined);
    assertEquals(report.lan, {
      group: `${where.group}:${where.udpPort}`,
      joined: true,
      heard: true,
    });
  },
);

Deno.test("doctor's LAN check on an interface that is not this machine's says it cannot join the group, and why", async () => {
  const where = testGroup();
  const report = await runDoctor({
    ...noTracker(),
    lan: { ...where, interface: "192.0.2.123" }, // TEST-NET-1: not ours
  });
  assertEquals(report.lan?.joined, false);
  assertEquals(report.lan?.heard, false);
  assert(report.lan?.error, JSON.stringify(report.lan));
});

Deno.test("with no tracker, doctor still checks the DHT: how many bootstrap nodes answered", async () => {
  await using node = await DhtDiscovery.start({
    port: 1,
    udpPort: 0,
    host: LOCAL,
    bootstrap: [],
  });
  assert(node);
  const gone = `${LOCAL}:${freePort()}`;
  const report = await runDoctor({
    ...noTracker(),
    dht: { bootstrap: [`${LOCAL}:${node.udpPort}`, gone], host: LOCAL },
  });
  assertEquals(report.trackerMs, undefined);
  assertEquals(report.dht?.answered, 1);
  assertEquals(report.dht?.nodes.map((n) => [n.node, n.ms !== undefined]), [
    [`${LOCAL}:${node.udpPort}`, true],
    [gone, false],
  ]);
});

Deno.test("doctor checks neither LAN discovery nor the DHT unless asked", async () => {
  const report = await runDoctor(noTracker());
  assertEquals([report.lan, report.dht], [undefined, undefined]);
});
