/**
 * LAN discovery between two machines: two network namespaces on one switch
 * (a NAT lab's public hosts, scripts/natlab.ts), each with a route for
 * multicast, each running a small Deno script on lib/discovery/lan.ts with
 * the default group and port. One offers a key, the other finds it and
 * must print the first one's address and TCP port. Skipped, with the
 * reason, where labs cannot be made (not root, `ip` missing).
 *
 * @module
 */

import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import { requiring, tempDir } from "../fixtures.ts";
import { NatLab, natlabAvailable } from "../../scripts/natlab.ts";

/** Ms a child may take to start and join the group. */
const CHILD_READY_MS = 10_000;
/** Ms the finder may take to print what it found. */
const FIND_MS = 5_000;
/** Seconds a child lives at most, should the lab fail to stop it. */
const CHILD_LIFETIME_S = 30;

const labTest = requiring(await natlabAvailable());

/** The child: `offer KEY PORT` or `find KEY PORT`; prints what happens. */
const CHILD_SCRIPT = `
import { LanDiscovery } from ${
  JSON.stringify(new URL("../../lib/discovery/lan.ts", import.meta.url).href)
};
const [role, key, port] = Deno.args;
const lan = await LanDiscovery.start({ port: Number(port), log: (l) => console.log("log", l) });
if (!lan) Deno.exit(2);
// The socket and timers of LanDiscovery do not hold the process open.
setTimeout(() => lan.close(), ${CHILD_LIFETIME_S * 1_000});
if (role === "offer") lan.offer(key);
else lan.find(key, (peer) => console.log("found " + peer.host + ":" + peer.port));
console.log("ready " + role);
`;

/** The interface that holds `address` on host `name` of `lab`. */
async function interfaceOf(
  lab: NatLab,
  name: string,
  address: string,
): Promise<string> {
  const lines = await lab.exec(name, ["ip", "-o", "-4", "addr", "show"]);
  const line = lines.split("\n").find((l) => l.includes(` ${address}/`));
  if (!line) throw new Error(`No interface with ${address} on ${name}.`);
  return line.split(/\s+/)[1];
}

labTest(
  "a peer in one namespace finds, by LAN multicast, the address and port of a peer in another on the same switch",
  async () => {
    await using dir = await tempDir();
    const script = join(dir.path, "lan_child.ts");
    await Deno.writeTextFile(script, CHILD_SCRIPT);
    await using lab = await NatLab.create({
      prefix: "p2plsd",
      publicHosts: ["sharer", "getter"],
    });
    for (const name of ["sharer", "getter"]) {
      const dev = await interfaceOf(lab, name, lab.host(name));
      await lab.exec(name, ["ip", "route", "add", "224.0.0.0/4", "dev", dev]);
    }
    const key = "5a".repeat(20);
    const run = (name: string, role: string, port: number) =>
      lab.spawn(name, [
        Deno.execPath(),
        "run",
        "--allow-net",
        script,
        role,
        key,
        String(port),
      ]);
    const sharer = run("sharer", "offer", 7001);
    await sharer.waitForLine(/^ready offer$/, CHILD_READY_MS);
    const getter = run("getter", "find", 7002);
    await getter.waitForLine(/^ready find$/, CHILD_READY_MS);
    const found = await getter.waitForLine(/^found /, FIND_MS);
    assertEquals(found, `found ${lab.host("sharer")}:7001`);
    // Nothing else found: not itself, not twice.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    assertEquals(getter.stdout.filter((l) => l.startsWith("found ")), [found]);
    assertEquals(
      [...sharer.stdout, ...getter.stdout].filter((l) => l.startsWith("log")),
      [],
    );
  },
);
