/**
 * The crowd rows of the bench report (bench/crowd_report.ts): the flood's
 * figures beside what the machine gave an idle tracker meanwhile, so a
 * reader can tell the tracker's share of the probe's p99 from the cores'.
 *
 * @module
 */

import type { CrowdRow } from "../../bench/crowd.ts";
import { crowdTargets, formatCrowd } from "../../bench/crowd_report.ts";
import { assert, assertEquals } from "../assert.ts";

function latency(p50: number, p99: number) {
  return { count: 800, p50, p99, max: p99 * 2 };
}

/** A 1,000-peer row whose flood took the probe's p99 from 2 to 7 ms. */
function floodedRow(): CrowdRow {
  return {
    peers: 1_000,
    processes: 1,
    opened: 1_000,
    failed: 0,
    files: 5_500,
    registrations: 5_500,
    openMs: 4_000,
    windowMs: 60_000,
    trackerRssBytes: 93 * 1024 ** 2,
    trackerPeakRssBytes: 100 * 1024 ** 2,
    trackerCpu: 0.05,
    announcesPerSecond: 17,
    announceMs: latency(0.8, 2),
    queryMs: latency(0.8, 2),
    probeMs: latency(0.8, 2),
    get: { ok: true, ms: 1_500 },
    flood: {
      idle: 2_048,
      halfOpen: 512,
      connectionsProbeMs: latency(0.8, 2.5),
      probeMs: latency(1, 7),
      idleTrackerProbeMs: latency(0.9, 3),
      floodQueriesPerSecond: 2_177,
      trackerCpu: 0.4,
      flooderCpu: 0.9,
      machineCpu: 1.8,
      flooderErrors: {},
    },
    errors: {},
  };
}

Deno.test("the crowd table shows an idle tracker's probe under the flood, the flooders' and the machine's CPU", () => {
  const lines = formatCrowd({ rows: [floodedRow()] });
  const row = lines.find((line) => line.startsWith("| 1,000 peers"));
  assert(row, lines.join("\n"));
  assert(row.includes("0.9 / 3.0 ms"), row);
  assert(row.includes("flooders 90%"), row);
  assert(row.includes("machine 180%"), row);
  // The header has a column for each cell of the row.
  const header = lines.find((line) => line.startsWith("| Crowd"))!;
  assertEquals(header.split(" | ").length, row.split(" | ").length);
});

Deno.test("the flood target says what an idle tracker's probe was meanwhile, against the same quiet figure", () => {
  const check = crowdTargets({ rows: [floodedRow()] }).find((c) =>
    c.name.includes("query flood")
  );
  assert(check, "no flood check");
  assertEquals(check.met, false);
  assert(check.measured.startsWith("3.50× (7.0 ms vs 2.0 ms)"), check.measured);
  assert(
    check.measured.includes("idle tracker meanwhile 1.50×"),
    check.measured,
  );
});
