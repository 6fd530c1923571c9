/**
 * The NAT lab (scripts/natlab.ts) behaves like home routers: what a LAN
 * host sends out leaves from its router's public address (from the same
 * port, or a random one), and nothing from outside gets in unasked, not
 * even from another NAT. Probes run in the lab's namespaces with
 * `_probe.ts`. Skipped, with the reason, where labs cannot be made (not
 * root, tools missing).
 *
 * @module
 */

import { requiring } from "../fixtures.ts";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../assert.ts";
import { type Child, completion } from "../../scripts/_child.ts";
import { NatLab, natlabAvailable } from "../../scripts/natlab.ts";

const PROBE = fileURLToPath(new URL("./_probe.ts", import.meta.url));
/** Ms a probe's connection that must work may take (all local veths). */
const CONNECT_MS = 5_000;
/**
 * Ms a probe waits before it calls a connection timed out. Anything that
 * answers in this lab (a refusal, an unreachable) does so in well under
 * 10 ms, so silence for this long means dropped.
 */
const SILENCE_MS = 1_000;
/** Ms a probe process may take to start and print, on top of its waits. */
const STARTUP_MS = 20_000;
/** Local ports the LAN hosts bind (below the ephemeral range). */
const LOCAL_PORTS = [20001, 20002];

const unavailable = await natlabAvailable();

/** A test that needs a NAT lab; ignored, saying why, where there is none. */
const natTest = requiring(unavailable);

/** One public host "pub", NAT "a" keeping ports, NAT "b" picking random ones. */
function createLab(): Promise<NatLab> {
  return NatLab.create({
    publicHosts: ["pub"],
    nats: [{ name: "a" }, { name: "b", randomPorts: true }],
  });
}

/** A probe server on host `name`, once it listens; its child and port. */
async function serve(
  lab: NatLab,
  name: string,
): Promise<{ child: Child; port: number }> {
  const child = lab.spawn(name, probeArgv(["serve", lab.host(name)]));
  const line = await child.waitForLine(/^listening on /, STARTUP_MS);
  return { child, port: Number(line.slice(line.lastIndexOf(":") + 1)) };
}

interface Outcome {
  /** The address and port the server saw the connection come from. */
  seen?: string;
  /** "timeout", or the error code (ECONNREFUSED, ENETUNREACH…). */
  error?: string;
}

/** Connects from `child` (a probe started by `probeFrom`) and reads its outcomes. */
async function outcomes(child: Child, timeoutMs: number): Promise<Outcome[]> {
  const result = await completion(child, timeoutMs + STARTUP_MS);
  assertEquals(result.code, 0, result.stderr);
  return result.stdout.trim().split("\n").map((line) => JSON.parse(line));
}

/** Connects from host `name` to each of `targets` (`ip:port[@localPort]`) at once. */
function probeFrom(
  lab: NatLab,
  name: string,
  timeoutMs: number,
  targets: string[],
): Promise<Outcome[]> {
  const argv = probeArgv(["connect", String(timeoutMs), ...targets]);
  return outcomes(lab.spawn(name, argv), timeoutMs);
}

function probeArgv(args: string[]): string[] {
  return [Deno.execPath(), "run", "--allow-net", PROBE, ...args];
}

natTest(
  "a LAN host reaches a public host from its NAT's public address, keeping its port behind a port-preserving NAT and not behind a random-port one",
  async () => {
    await using lab = await createLab();
    const server = await serve(lab, "pub");
    const target = `${lab.host("pub")}:${server.port}`;
    const [a, b] = await Promise.all([
      probeFrom(lab, "a", CONNECT_MS, [`${target}@${LOCAL_PORTS[0]}`]),
      probeFrom(lab, "b", CONNECT_MS, LOCAL_PORTS.map((p) => `${target}@${p}`)),
    ]);
    assertEquals(a, [{ seen: `${lab.wan("a")}:${LOCAL_PORTS[0]}` }]);
    assert(server.child.stdout.includes(`from ${a[0].seen}`));
    assertEquals(b.length, 2, JSON.stringify(b));
    const ports = b.map(({ seen }) => {
      const [address, port] = (seen ?? "").split(":");
      assertEquals(address, lab.wan("b"), JSON.stringify(b));
      return Number(port);
    });
    // A random port equals the local one once in ~64k; both doing so, never.
    assert(
      ports.some((port, i) => port !== LOCAL_PORTS[i]),
      `NAT b kept the ports: ${JSON.stringify(b)}`,
    );
  },
);

natTest(
  "a connect from the internet to a port the LAN host listens on times out at its NAT, unanswered",
  async () => {
    await using lab = await createLab();
    const server = await serve(lab, "a");
    // The router itself reaches the listener: the port is open on the LAN.
    const inside = lab.spawnOnRouter(
      "a",
      probeArgv([
        "connect",
        String(CONNECT_MS),
        `${lab.host("a")}:${server.port}`,
      ]),
    );
    const [fromRouter] = await outcomes(inside, CONNECT_MS);
    assert(
      fromRouter.seen?.startsWith("10.78.1.1:"),
      JSON.stringify(fromRouter),
    );
    const started = performance.now();
    const [toWan, toLan] = await probeFrom(lab, "pub", SILENCE_MS, [
      `${lab.wan("a")}:${server.port}`,
      `${lab.host("a")}:${server.port}`,
    ]);
    assertEquals(toWan, { error: "timeout" });
    // The public host has no route to a LAN: it fails at once, locally.
    assertEquals(toLan, { error: "ENETUNREACH" });
    assert(performance.now() - started < STARTUP_MS + SILENCE_MS);
    assertEquals(
      server.child.stdout.filter((line) => line.startsWith("from ")),
      [`from ${fromRouter.seen}`],
    );
  },
);

natTest(
  "a LAN host cannot reach the LAN host of another NAT, by its LAN or its public address",
  async () => {
    await using lab = await createLab();
    const server = await serve(lab, "b");
    const outcome = await probeFrom(lab, "a", SILENCE_MS, [
      `${lab.host("b")}:${server.port}`,
      `${lab.wan("b")}:${server.port}`,
    ]);
    assertEquals(outcome, [{ error: "timeout" }, { error: "timeout" }]);
    assertEquals(
      server.child.stdout.filter((line) => line.startsWith("from ")),
      [],
    );
  },
);

natTest("a NAT lab removes all its namespaces when it closes", async () => {
  await using lab = await createLab();
  const names = [
    ...["pub", "a", "b"].map((name) => lab.namespace(name)),
    ...["a", "b"].map((nat) => lab.routerNamespace(nat)),
  ];
  for (const name of names) await Deno.stat(`/run/netns/${name}`);
  await lab.close();
  const left: string[] = [];
  for (const name of names) {
    await Deno.stat(`/run/netns/${name}`).then(() => left.push(name), () => {});
  }
  assertEquals(left, []);
});

Deno.test("a NAT lab refuses a host name given twice, before making anything", async () => {
  let error: unknown;
  await NatLab.create({ publicHosts: ["x"], nats: [{ name: "x" }] })
    .catch((e) => error = e);
  assert(error instanceof RangeError, String(error));
  assert(/"x" is given twice/.test(error.message), error.message);
});
