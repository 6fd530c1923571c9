/**
 * The floor rows' bound on an encrypted get (bench/floor_report.ts): the
 * encrypted floor's median plus an encrypted get's fixed cost, against
 * aria2c's time, printed beside the floors and in the #19 target.
 *
 * @module
 */

import type { Aria2Result } from "../../bench/aria2.ts";
import type { FloorResult } from "../../bench/floor.ts";
import type { FixedCostResult } from "../../bench/floor_fixed.ts";
import {
  encryptedGetBound,
  type FloorPart,
  floorTargets,
  formatFloors,
} from "../../bench/floor_report.ts";
import { assert, assertEquals } from "../assert.ts";

const GIB = 1024 ** 3;

function floor(ms: number): FloorResult {
  const mbps = GIB / 1e6 / (ms / 1000);
  return {
    bytes: GIB,
    ms,
    mbps,
    runs: [mbps],
    cpuMs: 3_000,
    busyMs: 4_000,
    senderCpuMs: 1_000,
    direct: true,
  };
}

function aria2(wallMs: number): Aria2Result {
  return {
    ran: true,
    bytes: GIB,
    wallMs,
    mbps: GIB / 1e6 / (wallMs / 1000),
    peakRssBytes: 20 * 1024 ** 2,
    mktorrentMs: 400,
    version: "aria2 version 1.36.0",
  };
}

function fixedCost(runs: number[]): FixedCostResult {
  const sorted = [...runs].sort((a, b) => a - b);
  return {
    bytes: 256 * 1024,
    ms: sorted[Math.floor(sorted.length / 2)],
    runs,
    reportedMs: 100,
    peakRssBytes: 60 * 1024 ** 2,
    busyMs: 500,
  };
}

/** aria2c 9.6 s, the encrypted floor 2.1 s, the fixed cost (median) 300 ms. */
function part(fixedRuns = [310, 280, 300, 350, 290]): FloorPart {
  return {
    cpus: 2,
    floor: floor(1_700),
    floorEncrypted: floor(2_100),
    fixedCost: fixedCost(fixedRuns),
    aria2: aria2(9_600),
  };
}

function rows(of: FloorPart): { name: string; t: number; mbps: number }[] {
  const printed: { name: string; t: number; mbps: number }[] = [];
  formatFloors(of, (name, t, mbps) => printed.push({ name, t, mbps }));
  return printed;
}

Deno.test("the bound is aria2c's time over the encrypted floor plus the fixed cost", () => {
  const bound = encryptedGetBound(part());
  assert(bound !== undefined, "no bound");
  assertEquals(bound.ms, 2_400);
  assertEquals(bound.ratio, 4);
  assertEquals(bound.met, true);
  // 10 ms more of fixed cost and 4× is out of reach.
  const slower = encryptedGetBound(part([310, 280, 310, 350, 290]));
  assertEquals(slower?.ms, 2_410);
  assertEquals(slower?.met, false);
  assert(slower!.ratio < 4, `ratio ${slower!.ratio}`);
});

Deno.test("no bound without the fixed cost, the encrypted floor or aria2c", () => {
  assertEquals(
    encryptedGetBound({ ...part(), fixedCost: undefined }),
    undefined,
  );
  assertEquals(
    encryptedGetBound({ ...part(), floorEncrypted: undefined }),
    undefined,
  );
  assertEquals(encryptedGetBound({ ...part(), aria2: undefined }), undefined);
  assertEquals(
    encryptedGetBound({
      ...part(),
      aria2: { ran: false, reason: "aria2c is not installed" },
    }),
    undefined,
  );
  assertEquals(rows({ ...part(), fixedCost: undefined }).length, 2);
});

Deno.test("the floor rows print the fixed cost and the bound after the floors", () => {
  const printed = rows(part([330, 280, 300, 350, 290]));
  assertEquals(printed.length, 4);
  const [, , fixed, bound] = printed;
  assertEquals(fixed.t, 300);
  assert(fixed.name.startsWith("Fixed cost of an encrypted get"), fixed.name);
  assert(fixed.name.includes("256 KiB file (one piece)"), fixed.name);
  assert(fixed.name.includes("330, 280, 300, 350, 290 ms"), fixed.name);
  assert(fixed.name.includes("spread 280-350 ms"), fixed.name);
  assertEquals(bound.t, 2_400);
  assert(
    bound.name.includes("(2.10 s + 300 ms), so at most 4.00× aria2c's 9.60 s"),
    bound.name,
  );
  assert(bound.name.includes("at least the 4×"), bound.name);
  const below = rows(part([400, 400, 400]))[3];
  assert(below.name.includes("at most 3.84×"), below.name);
  assert(below.name.includes("below the 4×"), below.name);
});

Deno.test("the #19 target names the bound right after the encrypted floor", () => {
  const [target] = floorTargets(part([400, 400, 400]));
  assert(
    target.measured.includes(
      "encrypted floor 4.57× (its CPU over 2 cores allows ≤ 4.80×); encrypted floor + a get's fixed cost (400 ms) allows ≤ 3.84×; plain floor",
    ),
    target.measured,
  );
});
