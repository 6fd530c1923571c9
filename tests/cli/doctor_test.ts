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

/** The reachability line of a check with --port 0, reachable. */
const PICKED_AND_REACHABLE =
  /^Reachable from outside on port \d+ \(a free port picked for this check, as --port 0 does; a share picks another\): yes, peers can connect to you\.$/;

/**
 * What doctor says last under the test runner, which turns LAN discovery
 * and the DHT off.
 */
const OFF_LINES = [
  "LAN discovery: off (P2P_NO_LAN is set), not checked.",
  "DHT: off (P2P_NO_DHT is set), not checked.",
];

/** doctor's lines on stdout before {@linkcode OFF_LINES}, which end them. */
function checkLines(stdout: string): string[] {
  const lines = stdout.trim().split("\n");
  assertEquals(lines.slice(-2), OFF_LINES, stdout);
  return lines.slice(0, -2);
}

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
  const lines = checkLines(result.stdout);
  assertEquals(lines.length, 4, result.stdout);
  assert(
    lines[0].startsWith(`Tracker ${tracker.address}: reachable, encrypted`),
    lines[0],
  );
  assert(lines[1].includes("no NAT router"), lines[1]);
  assert(PICKED_AND_REACHABLE.test(lines[2]), lines[2]);
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
  assertEquals(result.stdout.trim().split("\n"), OFF_LINES);
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
  const lines = checkLines(result.stdout);
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
  assert(PICKED_AND_REACHABLE.test(lines[4]), lines[4]);
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
  assertEquals(result.stdout.trim().split("\n"), OFF_LINES);
  assertEquals(result.stderr.trim().split("\n"), [
    `Tracker ${a}: could not be reached: connection refused.`,
    `Tracker ${b}: could not be reached: connection refused.`,
    "No tracker could be used: is one of them running? Set --tracker or P2P_TRACKER.",
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
  const lines = checkLines(result.stdout);
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

/** A sharer of a small file on this machine, and its port: a peer, not a tracker. */
async function sharerOnly(dir: string, tracker: string) {
  const file = `${dir}/a.txt`;
  await Deno.writeTextFile(file, "shared");
  return await spawnSharer(file, tracker);
}

function notATracker(address: string): string {
  return `${address} is a peer, not a tracker: point --tracker (or P2P_TRACKER) at the tracker's address.`;
}

Deno.test("peer doctor pointed at a sharer's port, not a tracker: the tracker check fails with one sentence, exit 1, not 'reachable'", async () => {
  await using dir = await tempDir();
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const sharer = await sharerOnly(dir.path, tracker.address);
  await using _sharer = sharer.child;
  const result = await runEntry("peer.ts", [
    "doctor",
    "--tracker",
    sharer.address,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ]);
  assertEquals(result.code, 1, result.stdout);
  assertEquals(assertOneLine(result.stderr), notATracker(sharer.address));
  assertEquals(result.stdout.trim().split("\n"), OFF_LINES);
});

Deno.test("peer doctor --json pointed at a sharer's port ends stdout with {error, exitCode, version}, its check fields kept", async () => {
  await using dir = await tempDir();
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const sharer = await sharerOnly(dir.path, tracker.address);
  await using _sharer = sharer.child;
  const result = await runEntry("peer.ts", [
    "doctor",
    "--json",
    "--tracker",
    sharer.address,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ]);
  assertEquals(result.code, 1);
  assertEquals(assertOneLine(result.stderr), notATracker(sharer.address));
  const lines = result.stdout.trim().split("\n");
  assertEquals(lines.length, 1, result.stdout);
  const report = JSON.parse(lines[0]);
  assertEquals(report.trackers, [{
    tracker: sharer.address,
    error: "it is a p2p peer, not a tracker",
    reached: true,
  }]);
  assertEquals(report.trackerMs, undefined);
  assertEquals(report.trackerError, notATracker(sharer.address));
  assertEquals(Object.keys(report).slice(-3), ["error", "exitCode", "version"]);
  assertEquals(report.error, notATracker(sharer.address));
  assertEquals(report.exitCode, 1);
});

Deno.test("peer doctor --json with no tracker there ends stdout with {error, exitCode, version}", async () => {
  const down = `127.0.0.1:${freePort()}`;
  const result = await runEntry("peer.ts", [
    "doctor",
    "--json",
    "--tracker",
    down,
  ]);
  assertEquals(result.code, 1);
  const sentence = assertOneLine(result.stderr);
  assert(sentence.startsWith(`Cannot reach tracker at ${down}`), sentence);
  const report = JSON.parse(result.stdout);
  assertEquals(report.trackers, [{
    tracker: down,
    error: "connection refused",
  }]);
  assertEquals(report.trackerError, sentence);
  assertEquals(Object.keys(report).slice(-3), ["error", "exitCode", "version"]);
  assertEquals([report.error, report.exitCode], [sentence, 1]);
});

Deno.test("peer doctor with a sharer's port first and a tracker second: the first could not be used, the checks ask the second", async () => {
  await using dir = await tempDir();
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const sharer = await sharerOnly(dir.path, tracker.address);
  await using _sharer = sharer.child;
  const result = await runEntry("peer.ts", [
    "doctor",
    "--tracker",
    `${sharer.address},${tracker.address}`,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ]);
  assertEquals(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split("\n");
  assertEquals(
    lines[0],
    `Tracker ${sharer.address}: could not be used: it is a p2p peer, not a tracker.`,
  );
  assert(
    lines[1].startsWith(`Tracker ${tracker.address}: reachable, encrypted`),
    lines[1],
  );
  assert(!result.stdout.includes(`${sharer.address}: reachable`));
});

Deno.test("peer doctor --host with an address not of this machine says so as share does, before asking the tracker", async () => {
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  for (const json of [[], ["--json"]]) {
    const result = await runEntry("peer.ts", [
      "doctor",
      ...json,
      "--tracker",
      tracker.address,
      "--host",
      "192.0.2.1", // TEST-NET-1 (RFC 5737): never this machine's
    ]);
    assertEquals(result.code, 1, result.stdout);
    assertEquals(
      assertOneLine(result.stderr),
      "Cannot listen on 192.0.2.1: it is not an address of this machine; use --host 0.0.0.0 (all addresses) or one of this machine's addresses.",
    );
    assert(!result.stdout.includes("Reachable"), result.stdout);
  }
});

Deno.test("peer doctor --port 0 --json says the port was picked; a given port is not", async () => {
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const args = ["doctor", "--json", "--tracker", tracker.address, "--host"];
  const picked = JSON.parse(
    (await runEntry("peer.ts", [...args, "127.0.0.1", "--port", "0"])).stdout,
  );
  assert(picked.port > 0, String(picked.port));
  assertEquals(picked.portPicked, true);
  const port = freePort();
  const given = JSON.parse(
    (await runEntry("peer.ts", [...args, "127.0.0.1", "--port", `${port}`]))
      .stdout,
  );
  assertEquals([given.port, given.portPicked], [port, undefined]);
});

Deno.test("doctor's line for a picked port not reachable says to share on a fixed port and forward that one", () => {
  const lines = doctorLines({
    tracker: "203.0.113.1:5000",
    trackers: [{ tracker: "203.0.113.1:5000", ms: 40 }],
    trackerMs: 40,
    local: "192.168.1.20",
    observed: "198.51.100.7",
    nat: "port-preserving",
    port: 41234,
    portPicked: true,
    reachable: false,
    relay: "203.0.113.1:5001",
    relayOk: true,
  });
  assertEquals(
    lines[2],
    "Reachable from outside on port 41234 (a free port picked for this check, as --port 0 does; a share picks another): no. Peers will reach you by hole punching or through the tracker's relay; to let them connect directly, share on a fixed port (--port 6000) and forward that TCP port on your router to this machine.",
  );
});
