/**
 * `peer doctor` as a process against a real tracker on 127.0.0.1 (through
 * NAT routers: tests/nat/nat_traversal_test.ts), and its lines.
 */

import { assert, assertEquals } from "../assert.ts";
import { assertOneLine, freePort } from "./_cli.ts";
import { runEntry, spawnTracker } from "../../scripts/_child.ts";
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
