/**
 * mapPort() (lib/nat/port_mapping.ts) against a real router: miniupnpd on a
 * NAT lab router (scripts/natlab.ts, `upnp: true`), speaking UPnP IGD,
 * NAT-PMP and PCP. A LAN host maps the port of a server it runs
 * (`_map_port.ts`), a public host connects to the router's public address
 * and that port (`_probe.ts`), and after close() the same connect goes
 * unanswered. Skipped, with the reason, where labs cannot be made or
 * miniupnpd is missing.
 *
 * @module
 */

import { requiring } from "../fixtures.ts";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { type Child, completion } from "../../scripts/_child.ts";
import { sleep } from "../../lib/util/sleep.ts";
import {
  miniupnpdAvailable,
  NatLab,
  natlabAvailable,
} from "../../scripts/natlab.ts";
import {
  GATEWAY_ANSWER_MS,
  mapPort,
  type PortMappingMethod,
} from "../../lib/nat/port_mapping.ts";

const MAPPER = fileURLToPath(new URL("./_map_port.ts", import.meta.url));
const PROBE = fileURLToPath(new URL("./_probe.ts", import.meta.url));
/** Ms a connect that must work may take (all local veths). */
const CONNECT_MS = 5_000;
/** Ms of silence after which a connect counts as dropped (see natlab_test.ts). */
const SILENCE_MS = 1_000;
/** Ms a Deno process may take to start and print, on top of its own waits. */
const STARTUP_MS = 20_000;
/** Ms mapPort() may take in the mapper. */
const MAP_TIMEOUT_MS = 5_000;
/** Seconds of lease the mapper asks for, unless a test says otherwise. */
const LIFETIME_S = 600;
/** Ms the mapper may take to delete its mapping after SIGUSR1. */
const CLOSE_MS = 10_000;

const unavailable = await natlabAvailable() ?? await miniupnpdAvailable();

/** A test that needs a lab with miniupnpd; ignored, saying why, where there is none. */
const upnpTest = requiring(unavailable);

/** Public host "pub"; NAT "home" whose router maps ports, NAT "bare" whose router does not. */
function createLab(): Promise<NatLab> {
  return NatLab.create({
    publicHosts: ["pub"],
    nats: [{ name: "home", upnp: true }, { name: "bare" }],
  });
}

interface Mapped {
  child: Child;
  /** The port the LAN host's server listens on. */
  port: number;
  /** What mapPort() resolved to, and how long it took. */
  mapped: { host: string; port: number; method: string } | null;
  ms: number;
}

/** Starts the mapper on LAN host `name`; resolves once mapPort() has. */
async function mapFrom(
  lab: NatLab,
  name: string,
  methods: readonly PortMappingMethod[],
  lifetimeSeconds = LIFETIME_S,
): Promise<Mapped> {
  const child = lab.spawn(name, [
    Deno.execPath(),
    "run",
    "--allow-net",
    "--allow-sys=networkInterfaces",
    MAPPER,
    lab.host(name),
    methods.join(","),
    String(lifetimeSeconds),
    String(MAP_TIMEOUT_MS),
  ]);
  const listening = await child.waitForLine(/^listening on /, STARTUP_MS);
  const line = await child.waitForLine(
    /^\{"mapped"/,
    MAP_TIMEOUT_MS + STARTUP_MS,
  );
  return {
    child,
    port: Number(listening.slice(listening.lastIndexOf(":") + 1)),
    ...JSON.parse(line),
  };
}

/** What a connect from public host "pub" to `target` (`ip:port`) gets within `timeoutMs`. */
async function connectFromPub(
  lab: NatLab,
  target: string,
  timeoutMs: number,
): Promise<{ seen?: string; error?: string }> {
  const child = lab.spawn("pub", [
    Deno.execPath(),
    "run",
    "--allow-net",
    PROBE,
    "connect",
    String(timeoutMs),
    target,
  ]);
  const result = await completion(child, timeoutMs + STARTUP_MS);
  assertEquals(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.trim());
}

/** Asks the mapper to close its mapping (its server goes on), and waits until it has. */
async function closeMapping(mapper: Mapped): Promise<void> {
  Deno.kill(mapper.child.pid, "SIGUSR1");
  await mapper.child.waitForLine(/^closed$/, CLOSE_MS);
}

/** The DNAT rules miniupnpd holds on NAT `nat`'s router. */
async function forwards(lab: NatLab, nat: string): Promise<string[]> {
  const chain = await lab.execOnRouter(nat, [
    "nft",
    "list",
    "chain",
    "inet",
    "miniupnpd",
    "prerouting_miniupnpd",
  ]);
  return chain.split("\n").filter((line) => line.includes("dnat"));
}

for (const method of ["pcp", "nat-pmp", "upnp"] as const) {
  upnpTest(
    `mapPort() by ${method} lets a public host reach the LAN host's port at the router's public address, until close()`,
    async () => {
      await using lab = await createLab();
      const mapper = await mapFrom(lab, "home", [method]);
      assertEquals(mapper.mapped, {
        host: lab.wan("home"),
        port: mapper.port,
        method,
      }, mapper.child.stdout.join(" | "));
      const target = `${lab.wan("home")}:${mapper.port}`;
      const before = await connectFromPub(lab, target, CONNECT_MS);
      // Forwarded as it came: the server sees the public host itself.
      assert(
        before.seen?.startsWith(`${lab.host("pub")}:`),
        JSON.stringify(before),
      );
      await closeMapping(mapper);
      assertEquals(await forwards(lab, "home"), []);
      assertEquals(await connectFromPub(lab, target, SILENCE_MS), {
        error: "timeout",
      });
    },
  );
}

upnpTest(
  "mapPort() with every method allowed maps by PCP alone, leaving the router one forward",
  async () => {
    await using lab = await createLab();
    const mapper = await mapFrom(lab, "home", ["pcp", "nat-pmp", "upnp"]);
    assertEquals(mapper.mapped?.method, "pcp", mapper.child.stdout.join(" | "));
    const rules = await forwards(lab, "home");
    assertEquals(rules.length, 1, rules.join(" | "));
    assert(rules[0].includes(`dport ${mapper.port}`), rules[0]);
    await closeMapping(mapper);
  },
);

upnpTest(
  "a mapping on a short lease is renewed, and still forwards after the lease would have run out",
  async () => {
    await using lab = await createLab();
    // Renewed every 1.5 s, leaving 1.5 s to spare on a busy machine.
    const lifetimeSeconds = 3;
    const mapper = await mapFrom(lab, "home", ["nat-pmp"], lifetimeSeconds);
    // Granted as asked: miniupnpd drops an unrenewed one within a second
    // of its lease running out.
    assert(
      mapper.child.stdout.some((line) =>
        line.includes(`, for ${lifetimeSeconds} s.`)
      ),
      mapper.child.stdout.join(" | "),
    );
    await mapper.child.waitForLine(/^log: Renewed /, CONNECT_MS);
    await sleep(2 * lifetimeSeconds * 1000);
    const renewals = mapper.child.stdout.filter((line) =>
      line.startsWith("log: Renewed")
    );
    assert(renewals.length >= 3, mapper.child.stdout.join(" | "));
    const reached = await connectFromPub(
      lab,
      `${lab.wan("home")}:${mapper.port}`,
      CONNECT_MS,
    );
    assert(reached.seen, JSON.stringify(reached));
    await closeMapping(mapper);
  },
);

upnpTest(
  "mapPort() resolves undefined, within its wait for a gateway, behind a router that maps nothing",
  async () => {
    await using lab = await createLab();
    const mapper = await mapFrom(lab, "bare", ["pcp", "nat-pmp", "upnp"]);
    assertEquals(mapper.mapped, null);
    assert(mapper.ms < GATEWAY_ANSWER_MS + 1_000, `took ${mapper.ms} ms`);
    assert(
      mapper.child.stdout.includes(
        "log: UPnP: no gateway answered the search.",
      ),
      mapper.child.stdout.join(" | "),
    );
  },
);

Deno.test("mapPort() refuses a bad port, lease, time limit or method before asking anyone", async () => {
  for (
    const options of [
      { port: 0 },
      { port: 65_536 },
      { port: 7000, lifetimeSeconds: 1 },
      { port: 7000, lifetimeSeconds: 86_401 },
      { port: 7000, timeoutMs: 0 },
      { port: 7000, methods: [] },
      { port: 7000, methods: ["smoke-signals" as PortMappingMethod] },
    ]
  ) {
    await assertRejects(() => mapPort(options), RangeError);
  }
});

Deno.test("mapPort() rejects at once with the reason when its signal is aborted already", async () => {
  const controller = new AbortController();
  controller.abort(new Error("stopping"));
  await assertRejects(
    () => mapPort({ port: 7000, signal: controller.signal }),
    Error,
    "stopping",
  );
});
