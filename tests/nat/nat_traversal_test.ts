/**
 * Real `tracker`, `peer share` and `peer get` processes in network
 * namespaces joined through Linux NAT routers (scripts/natlab.ts: a public
 * bridge, routers that masquerade and drop unsolicited inbound packets, as
 * home routers do). Each case checks the bytes that arrive and the route
 * the get reports. Skipped, with the reason, where labs cannot be made.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, sha256File, tempDir } from "../fixtures.ts";
import { READY_TIMEOUT_MS, type RunResult } from "../../scripts/_child.ts";
import {
  miniupnpdAvailable,
  NatLab,
  natlabAvailable,
} from "../../scripts/natlab.ts";

const unavailable = await natlabAvailable();
const noUpnp = unavailable ?? await miniupnpdAvailable();
const MiB = 1024 * 1024;
/** The tracker's port in its namespace (the lab's own, so fixed is safe). */
const TRACKER_PORT = 5000;
/** A sharer's port in its namespace. */
const PEER_PORT = 6000;

/** A test that needs a NAT lab; ignored, saying why, where there is none. */
function natTest(
  name: string,
  fn: () => Promise<void>,
  skip = unavailable,
): void {
  Deno.test({
    name: skip ? `${name} (skipped: ${skip})` : name,
    ignore: skip !== undefined,
    fn,
  });
}

/** Starts the tracker (and its relay) on the public host "tracker". */
async function startTracker(
  lab: NatLab,
  extra: string[] = [],
): Promise<string> {
  const child = lab.spawnEntry("tracker", "tracker.ts", [
    "--port",
    String(TRACKER_PORT),
    ...extra,
  ]);
  await child.waitForLine(
    /^Relay listening on|^Tracker listening on/,
    READY_TIMEOUT_MS,
  );
  return `${lab.host("tracker")}:${TRACKER_PORT}`;
}

/** `peer share --json --verbose` on `host`; resolves to the file ID and the reachability event. */
async function startSharer(
  lab: NatLab,
  host: string,
  file: string,
  tracker: string,
  extra: string[] = [],
): Promise<
  {
    id: string;
    reachable: boolean;
    observed: string;
    mapped?: string;
    method?: string;
  }
> {
  const child = lab.spawnEntry(host, "peer.ts", [
    "share",
    file,
    "--json",
    "--verbose",
    "--tracker",
    tracker,
    "--port",
    String(PEER_PORT),
    ...extra,
  ]);
  const shared = JSON.parse(
    await child.waitForLine(/^\{"id"/, READY_TIMEOUT_MS),
  );
  const reach = JSON.parse(
    await child.waitForLine(/"event":"reachability"/, READY_TIMEOUT_MS),
  );
  return {
    id: shared.id,
    reachable: reach.reachable,
    observed: reach.observed,
    mapped: reach.mapped,
    method: reach.method,
  };
}

interface GetReport {
  path: string;
  elapsedMs: number;
  peers: { address: string; bytes: number; via?: string; error?: string }[];
}

/**
 * `peer get --json` on `host` into `out`; its report, once the file it
 * saved is checked against the ID.
 */
async function get(
  lab: NatLab,
  host: string,
  id: string,
  tracker: string,
  out: string,
): Promise<{ result: RunResult; report: GetReport }> {
  const result = await lab.runEntry(host, "peer.ts", [
    "get",
    id,
    "--json",
    "--tracker",
    tracker,
    "--out",
    out,
    "--wait",
    "0",
  ], { timeoutMs: 60_000 });
  assertEquals(result.code, 0, result.stderr);
  const report: GetReport = JSON.parse(
    result.stdout.trim().split("\n").at(-1)!,
  );
  assertEquals(await sha256File(report.path), id);
  return { result, report };
}

natTest(
  "a public sharer and a getter behind a NAT: the get connects straight out",
  async () => {
    await using dir = await tempDir();
    const file = await randomFile(dir.path, "out.bin", 3 * MiB);
    await using lab = await NatLab.create({
      publicHosts: ["tracker", "pub"],
      nats: [{ name: "home" }],
    });
    const tracker = await startTracker(lab);
    const sharer = await startSharer(lab, "pub", file, tracker);
    assert(sharer.reachable, "a public sharer is reachable");
    const { report } = await get(
      lab,
      "home",
      sharer.id,
      tracker,
      join(dir.path, "got"),
    );
    assertEquals(report.peers.map((peer) => peer.via), ["direct"]);
  },
);

natTest(
  "a sharer behind a NAT is told it is not reachable, and a public getter gets the file by a hole punch",
  async () => {
    await using dir = await tempDir();
    const file = await randomFile(dir.path, "in.bin", 3 * MiB);
    await using lab = await NatLab.create({
      publicHosts: ["tracker", "pub"],
      nats: [{ name: "home" }],
    });
    const tracker = await startTracker(lab);
    const sharer = await startSharer(lab, "home", file, tracker);
    assertEquals(sharer.reachable, false);
    assertEquals(sharer.observed, lab.wan("home"));
    const { report } = await get(
      lab,
      "pub",
      sharer.id,
      tracker,
      join(dir.path, "got"),
    );
    assertEquals(report.peers.length, 1);
    assertEquals(report.peers[0].address, `${lab.wan("home")}:${PEER_PORT}`);
    assertEquals(report.peers[0].via, "punched");
  },
);

natTest(
  "a sharer and a getter behind two NATs that keep ports connect by a hole punch",
  async () => {
    await using dir = await tempDir();
    const file = await randomFile(dir.path, "punched.bin", 3 * MiB);
    await using lab = await NatLab.create({
      publicHosts: ["tracker"],
      nats: [{ name: "alice" }, { name: "bob" }],
    });
    const tracker = await startTracker(lab);
    const sharer = await startSharer(lab, "alice", file, tracker);
    const { report } = await get(
      lab,
      "bob",
      sharer.id,
      tracker,
      join(dir.path, "got"),
    );
    assertEquals(report.peers.map((peer) => peer.via), ["punched"]);
  },
);

natTest(
  "a sharer and a getter behind two NATs, the getter's changing ports, meet through the relay",
  async () => {
    await using dir = await tempDir();
    const file = await randomFile(dir.path, "across.bin", 3 * MiB);
    await using lab = await NatLab.create({
      publicHosts: ["tracker"],
      nats: [{ name: "alice" }, { name: "bob", randomPorts: true }],
    });
    const tracker = await startTracker(lab);
    const sharer = await startSharer(lab, "alice", file, tracker);
    assertEquals(sharer.reachable, false);
    const { report } = await get(
      lab,
      "bob",
      sharer.id,
      tracker,
      join(dir.path, "got"),
    );
    assertEquals(
      report.peers.map((peer) => peer.via),
      ["relayed"],
      JSON.stringify(report.peers),
    );
  },
);

natTest(
  "the relay holds a session to its --relay-limit, within 10%",
  async () => {
    await using dir = await tempDir();
    const limit = 2 * MiB;
    const size = 8 * MiB;
    const file = await randomFile(dir.path, "paced.bin", size);
    // A router that changes ports: no hole punch, so the relay carries it.
    await using lab = await NatLab.create({
      publicHosts: ["tracker", "pub"],
      nats: [{ name: "home", randomPorts: true }],
    });
    const tracker = await startTracker(lab, ["--relay-limit", "2M"]);
    const sharer = await startSharer(lab, "home", file, tracker);
    const { report } = await get(
      lab,
      "pub",
      sharer.id,
      tracker,
      join(dir.path, "got"),
    );
    assertEquals(report.peers[0].via, "relayed");
    // The get's own time includes its tracker lookup and the meeting, which
    // only make the rate look lower; the relay lets a 0.1 s burst through.
    const rate = size / (report.elapsedMs / 1000);
    assert(
      rate <= limit * 1.1 && rate >= limit * 0.9,
      `relayed at ${(rate / MiB).toFixed(2)} MiB/s against a limit of 2 MiB/s`,
    );
  },
);

natTest(
  "peer doctor behind NAT routers tells a port-keeping router from a port-changing one, and finds itself unreachable but the relay there",
  async () => {
    await using lab = await NatLab.create({
      publicHosts: ["tracker"],
      nats: [{ name: "keeps" }, { name: "changes", randomPorts: true }],
    });
    const tracker = await startTracker(lab);
    for (
      const [host, nat] of [["keeps", "port-preserving"], [
        "changes",
        "port-changing",
      ]]
    ) {
      const result = await lab.runEntry(host, "peer.ts", [
        "doctor",
        "--json",
        "--tracker",
        tracker,
      ], { timeoutMs: 30_000 });
      assertEquals(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout);
      assertEquals(report.observed, lab.wan(host));
      assertEquals(report.local, lab.host(host));
      assertEquals(report.nat, nat, host);
      assertEquals(report.reachable, false);
      assertEquals(report.relayOk, true);
      // No router here maps ports.
      assertEquals(report.mapping, null);
    }
  },
);

natTest(
  "a sharer behind a router that maps ports asks it to forward its port, and a public getter connects through the mapping",
  async () => {
    await using dir = await tempDir();
    const file = await randomFile(dir.path, "mapped.bin", 3 * MiB);
    await using lab = await NatLab.create({
      publicHosts: ["tracker", "pub"],
      nats: [{ name: "home", upnp: true }],
    });
    const tracker = await startTracker(lab);
    const sharer = await startSharer(lab, "home", file, tracker);
    assertEquals(sharer.reachable, true);
    assert(sharer.mapped?.startsWith(`${lab.wan("home")}:`), sharer.mapped);
    assert(sharer.method, "says how it was mapped");
    const { report } = await get(
      lab,
      "pub",
      sharer.id,
      tracker,
      join(dir.path, "got"),
    );
    assertEquals(report.peers.map((peer) => peer.via), ["mapped"]);
    assertEquals(report.peers[0].address, sharer.mapped);
    // doctor from another host behind the same router: the mapping works.
    const doctor = await lab.runEntry("home", "peer.ts", [
      "doctor",
      "--json",
      "--tracker",
      tracker,
      "--port",
      String(PEER_PORT + 1),
    ], { timeoutMs: 30_000 });
    assertEquals(doctor.code, 0, doctor.stderr);
    const found = JSON.parse(doctor.stdout);
    assertEquals(found.reachable, false);
    assertEquals(found.mapping.reachable, true, doctor.stdout);
  },
  noUpnp,
);

natTest(
  "with --no-port-mapping a sharer behind such a router is not mapped, and is reached by a hole punch instead",
  async () => {
    await using dir = await tempDir();
    const file = await randomFile(dir.path, "unmapped.bin", 1 * MiB);
    await using lab = await NatLab.create({
      publicHosts: ["tracker", "pub"],
      nats: [{ name: "home", upnp: true }],
    });
    const tracker = await startTracker(lab);
    const sharer = await startSharer(lab, "home", file, tracker, [
      "--no-port-mapping",
    ]);
    assertEquals(sharer.reachable, false);
    assertEquals(sharer.mapped, undefined);
    const { report } = await get(
      lab,
      "pub",
      sharer.id,
      tracker,
      join(dir.path, "got"),
    );
    assertEquals(report.peers.map((peer) => peer.via), ["punched"]);
  },
  noUpnp,
);
