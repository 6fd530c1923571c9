/**
 * `peer doctor` as a process against a real tracker on 127.0.0.1 (through
 * NAT routers: tests/nat/nat_traversal_test.ts), and its lines; with
 * several trackers, and on a port another program holds.
 */

import { assert, assertEquals } from "../assert.ts";
import { assertOneLine, freePort } from "./_cli.ts";
import { tempDir } from "../fixtures.ts";
import { runEntry, spawnSharer, spawnTracker } from "../../scripts/_child.ts";
import { doctorLines } from "../../lib/cli/doctor.ts";

Deno.test("peer doctor against a tracker on this machine: reachable, no NAT, reachable from outside, relay available", async () => {
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const result = await runEntry("peer.ts", [
    "doctor",
    "--tracker",
    tracker.address,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ]);
  assertEquals(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split("\n");
  assertEquals(lines.length, 4, result.stdout);
  assert(
    lines[0].startsWith(`Tracker ${tracker.address}: reachable, encrypted`),
    lines[0],
  );
  assert(lines[1].includes("no NAT router"), lines[1]);
  assert(/^Reachable from outside on port \d+: yes/.test(lines[2]), lines[2]);
  assert(/^Relay: 127\.0\.0\.1:\d+ is available\.$/.test(lines[3]), lines[3]);
});

Deno.test("peer doctor --json reports each finding as a field", async () => {
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const result = await runEntry("peer.ts", [
    "doctor",
    "--json",
    "--tracker",
    tracker.address,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ]);
  assertEquals(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assertEquals(report.tracker, tracker.address);
  assertEquals(report.observed, "127.0.0.1");
  assertEquals(report.nat, "none");
  assertEquals(report.reachable, true);
  assertEquals(report.relayOk, true);
});

Deno.test("peer doctor with no tracker there: one sentence, exit 1", async () => {
  const result = await runEntry("peer.ts", [
    "doctor",
    "--tracker",
    `127.0.0.1:${freePort()}`,
  ]);
  assertEquals(result.code, 1);
  const line = assertOneLine(result.stderr);
  assert(/Cannot reach tracker at .*connection refused/.test(line), line);
  assertEquals(result.stdout, "");
});

Deno.test("doctor's lines say what to do behind a router that changes ports and with no relay", () => {
  const lines = doctorLines({
    tracker: "203.0.113.1:5000",
    trackers: [{ tracker: "203.0.113.1:5000", ms: 40 }],
    trackerMs: 40,
    local: "192.168.1.20",
    observed: "198.51.100.7",
    nat: "port-changing",
    port: 6000,
    reachable: false,
  });
  assertEquals(lines.length, 4);
  assert(lines[1].includes("changes ports"), lines[1]);
  assert(lines[2].includes("forward TCP port 6000"), lines[2]);
  assert(lines[3].includes("offers none"), lines[3]);
});

Deno.test("peer doctor with the first of two trackers down: a line for each, says hole punching and the relay are out, checks with the second, exit 0", async () => {
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const down = `127.0.0.1:${freePort()}`;
  const result = await runEntry("peer.ts", [
    "doctor",
    "--tracker",
    `${down},${tracker.address}`,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ]);
  assertEquals(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split("\n");
  assertEquals(lines.length, 5, result.stdout);
  assertEquals(
    lines[0],
    `Tracker ${down}: could not be reached: connection refused.`,
  );
  assert(
    lines[1].startsWith(`Tracker ${tracker.address}: reachable, encrypted`),
    lines[1],
  );
  assert(
    lines[2].startsWith(
      `Hole punching and the relay will not work while the first tracker, ${down}, is down`,
    ),
    lines[2],
  );
  assert(lines[2].endsWith(`ask ${tracker.address} instead.`), lines[2]);
  assert(lines[3].includes("no NAT router"), lines[3]);
  assert(/^Reachable from outside on port \d+: yes/.test(lines[4]), lines[4]);
});

Deno.test("peer doctor --json with two trackers in P2P_TRACKER carries each one's result, the checks made with the first", async () => {
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const down = `127.0.0.1:${freePort()}`;
  const result = await runEntry("peer.ts", [
    "doctor",
    "--json",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ], { env: { P2P_TRACKER: `${tracker.address},${down}` } });
  assertEquals(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assertEquals(report.trackers.length, 2);
  assertEquals(report.trackers[0].tracker, tracker.address);
  assertEquals(typeof report.trackers[0].ms, "number");
  assertEquals(report.trackers[1], {
    tracker: down,
    error: "connection refused",
  });
  assertEquals(report.tracker, tracker.address);
  assertEquals(report.reachable, true);
  assertEquals(report.relayOk, true);
});

Deno.test("peer doctor with neither of two trackers there: a line for each and one to sum up, on stderr, exit 1", async () => {
  const [a, b] = [`127.0.0.1:${freePort()}`, `127.0.0.1:${freePort()}`];
  const result = await runEntry("peer.ts", [
    "doctor",
    "--tracker",
    `${a},${b}`,
  ]);
  assertEquals(result.code, 1);
  assertEquals(result.stdout, "");
  assertEquals(result.stderr.trim().split("\n"), [
    `Tracker ${a}: could not be reached: connection refused.`,
    `Tracker ${b}: could not be reached: connection refused.`,
    "No tracker could be reached: is one of them running? Set --tracker or P2P_TRACKER.",
  ]);
});

Deno.test("peer doctor on a port another program holds says so, and neither blames the router nor asks it to forward the port", async () => {
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  // Another program: it takes connections and never speaks p2p.
  using other = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = other.addr;
  const result = await runEntry("peer.ts", [
    "doctor",
    "--tracker",
    tracker.address,
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
  ]);
  assertEquals(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split("\n");
  assertEquals(lines.length, 4, result.stdout);
  assert(lines[1].includes("no NAT router"), lines[1]);
  assertEquals(
    lines[2],
    `Port ${port} is in use by another program on this machine: choose another with --port, or stop that program.`,
  );
  assert(/^Relay: 127\.0\.0\.1:\d+ is available\.$/.test(lines[3]), lines[3]);
  assert(!/forward|Port mapping/.test(result.stdout), result.stdout);
});

Deno.test("peer doctor on the port a sharer on this machine serves checks it as before: the sharer answers, reachable", async () => {
  await using dir = await tempDir();
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const file = `${dir.path}/a.txt`;
  await Deno.writeTextFile(file, "shared");
  const sharer = await spawnSharer(file, tracker.address);
  await using _sharer = sharer.child;
  const port = sharer.address.slice(sharer.address.lastIndexOf(":") + 1);
  const result = await runEntry("peer.ts", [
    "doctor",
    "--json",
    "--tracker",
    tracker.address,
    "--host",
    "127.0.0.1",
    "--port",
    port,
  ]);
  assertEquals(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assertEquals(report.port, Number(port));
  assertEquals(report.portInUse, undefined);
  assertEquals(report.reachable, true);
});
