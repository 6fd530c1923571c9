/**
 * One real swarm mixing every way peers reach each other (scripts/natlab.ts):
 * a tracker and a sharer on public hosts, sharers behind a router that keeps
 * ports, one that maps ports on request (UPnP, NAT-PMP, PCP; where
 * miniupnpd is installed) and one that changes ports, and three getters at
 * once: public, behind a port-keeping router and behind a port-changing
 * one. Every get must save the file, and every link it reports must have
 * taken the route its pair allows. Skipped, with the reason, where labs
 * cannot be made.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, sha256File, tempDir } from "../fixtures.ts";
import {
  LAB_SHARER_PORT,
  labGet,
  type LabGetReport,
  startLabSharer,
  startLabTracker,
} from "../../scripts/_nat_peers.ts";
import {
  miniupnpdAvailable,
  NatLab,
  natlabAvailable,
} from "../../scripts/natlab.ts";

const unavailable = await natlabAvailable();
const noUpnp = unavailable ? undefined : await miniupnpdAvailable();
const MiB = 1024 * 1024;
/** A getter's port in its namespace: fixed, so other getters' reports name it. */
const GETTER_PORT = 7000;
/** Longest any one get may take, the three running at once. */
const GET_TIMEOUT_MS = 120_000;

/** Where a host is: public, or behind a router that keeps, maps or changes ports. */
type Place = "public" | "keeps" | "maps" | "changes";
/** The route a link reports (`via` in `peer get --json`). */
type Route = "direct" | "mapped" | "punched" | "relayed";

/**
 * The route a getter at `getter` must take to a peer at `peer`: straight
 * to a public peer or through a mapped port; a hole punch to a peer whose
 * router keeps ports, unless the getter's own router changes them (its
 * punch port would not be the one it said); the relay to a peer whose
 * router changes ports.
 */
function expectedRoute(getter: Place, peer: Place): Route {
  if (peer === "public") return "direct";
  if (peer === "maps") return "mapped";
  if (peer === "keeps" && getter !== "changes") return "punched";
  return "relayed";
}

interface Host {
  name: string;
  place: Place;
}

const SHARERS: Host[] = [
  { name: "s_public", place: "public" },
  { name: "s_keeps", place: "keeps" },
  ...(noUpnp ? [] : [{ name: "s_maps", place: "maps" as const }]),
  { name: "s_changes", place: "changes" },
];
const GETTERS: Host[] = [
  { name: "g_public", place: "public" },
  { name: "g_keeps", place: "keeps" },
  { name: "g_changes", place: "changes" },
];

/** The lab: public hosts for the tracker and public peers, a NAT for each other. */
function createLab(): Promise<NatLab> {
  const hosts = [...SHARERS, ...GETTERS];
  return NatLab.create({
    publicHosts: [
      "tracker",
      ...hosts.filter((host) => host.place === "public").map((h) => h.name),
    ],
    nats: hosts.filter((host) => host.place !== "public").map((host) => ({
      name: host.name,
      randomPorts: host.place === "changes",
      upnp: host.place === "maps",
    })),
  });
}

/**
 * `peer share --json --verbose` of `file` on `sharer`, once the tracker
 * has said whether it is reachable; the file ID and the address other
 * peers have it under (checked against what its place should give).
 */
async function startSharer(
  lab: NatLab,
  sharer: Host,
  file: string,
  tracker: string,
): Promise<{ id: string; address: string }> {
  const { id, child: _, ...reach } = await startLabSharer(
    lab,
    sharer.name,
    file,
    tracker,
    ["--piece-size", "64K"],
  );
  const what = `${sharer.name}: ${JSON.stringify(reach)}`;
  assertEquals(
    reach.reachable,
    sharer.place !== "keeps" && sharer.place !== "changes",
    what,
  );
  if (sharer.place === "maps") {
    assert(reach.mapped?.startsWith(`${lab.wan(sharer.name)}:`), what);
    return { id, address: reach.mapped! };
  }
  assertEquals(reach.mapped, undefined, what);
  return { id, address: addressOf(lab, sharer, LAB_SHARER_PORT) };
}

/** Where other peers find `host` listening on `port` (its router's, behind a NAT). */
function addressOf(lab: NatLab, host: Host, port: number): string {
  const ip = host.place === "public" ? lab.host(host.name) : lab.wan(host.name);
  return `${ip}:${port}`;
}

/** `peer get --json` of `id` on `getter` into `out`; its final report. */
async function get(
  lab: NatLab,
  getter: Host,
  id: string,
  tracker: string,
  out: string,
): Promise<LabGetReport> {
  const { report } = await labGet(lab, getter.name, id, tracker, out, {
    args: ["--port", String(GETTER_PORT)],
    timeoutMs: GET_TIMEOUT_MS,
  });
  return report;
}

Deno.test({
  name: `a swarm mixing public peers and peers behind port-keeping, ${
    noUpnp ? "" : "port-mapping "
  }and port-changing NATs: every get saves the file, each link by the route its pair allows${
    unavailable
      ? ` (skipped: ${unavailable})`
      : noUpnp
      ? ` (no port-mapping sharer: ${noUpnp})`
      : ""
  }`,
  ignore: unavailable !== undefined,
  async fn() {
    await using dir = await tempDir();
    const file = await randomFile(dir.path, "mixed.bin", 4 * MiB);
    await using lab = await createLab();
    const tracker = await startLabTracker(lab, "tracker");
    // Who is at each address another peer may report: sharers and getters.
    const places = new Map<string, Host>();
    let id = "";
    for (const sharer of SHARERS) {
      const started = await startSharer(lab, sharer, file, tracker);
      id = started.id;
      places.set(started.address, sharer);
    }
    for (const getter of GETTERS) {
      places.set(addressOf(lab, getter, GETTER_PORT), getter);
    }
    const reports = await Promise.all(
      GETTERS.map((getter) =>
        get(lab, getter, id, tracker, join(dir.path, getter.name))
      ),
    );
    const linked = new Set<string>();
    const problems: string[] = [];
    for (const [i, report] of reports.entries()) {
      const getter = GETTERS[i];
      assertEquals(await sha256File(report.path), id, getter.name);
      for (const peer of report.peers) {
        if (peer.via === undefined) continue;
        const at = places.get(peer.address);
        if (!at) {
          problems.push(`${getter.name} linked unknown ${peer.address}`);
          continue;
        }
        linked.add(peer.address);
        const want = expectedRoute(getter.place, at.place);
        if (peer.via !== want) {
          problems.push(
            `${getter.name} → ${at.name} (${peer.address}) ${peer.via}, not ${want}`,
          );
        }
      }
    }
    const all = JSON.stringify(
      reports.map((report, i) => ({
        getter: GETTERS[i].name,
        peers: report.peers,
      })),
    );
    assertEquals(problems, [], all);
    for (const [address, host] of places) {
      if (SHARERS.includes(host)) {
        assert(linked.has(address), `No getter linked ${host.name}: ${all}`);
      }
    }
  },
});
