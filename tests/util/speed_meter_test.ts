import { assert } from "../assert.ts";
import { MIN_SPAN_MS, SpeedMeter } from "../../lib/util/speed_meter.ts";

const MIB = 1024 * 1024;

/** Asserts `actual` is within `tolerance` of `expected`. */
function assertNear(actual: number, expected: number, tolerance: number) {
  assert(
    Math.abs(actual - expected) <= tolerance,
    `expected ${expected} ± ${tolerance}, got ${actual}`,
  );
}

Deno.test("SpeedMeter spreads a burst in its first moments over MIN_SPAN_MS instead of showing a huge rate", () => {
  let now = 0;
  const meter = new SpeedMeter({ windowMs: 3_000, now: () => now });
  assert(meter.speed(0) === 0);
  now = 20; // 4 MiB in 20 ms: 200 MiB/s, were it measured over 20 ms.
  const first = meter.speed(4 * MIB);
  // Over a second at the least.
  assertNear(MIN_SPAN_MS, 1_000, 0);
  assert(first <= 4 * MIB, `${first / MIB} MiB/s`);
});

Deno.test("SpeedMeter leaves out the time before the first byte moved", () => {
  let now = 0;
  const meter = new SpeedMeter({ windowMs: 3_000, now: () => now });
  meter.speed(0);
  now = 2_000; // Connecting: nothing yet.
  meter.speed(0);
  for (let i = 1; i <= 10; i++) {
    now = 2_000 + i * 100;
    meter.speed(i * 0.1 * MIB);
  }
  // 1 MiB over the last second, not over the three since the first call.
  assertNear(meter.speed(MIB) / MIB, 1, 0.01);
});

Deno.test("SpeedMeter measures a steady rate over its window", () => {
  let now = 0;
  const meter = new SpeedMeter({ windowMs: 3_000, now: () => now });
  let speed = 0;
  for (let i = 0; i <= 100; i++) {
    now = i * 100;
    speed = meter.speed(i * 0.2 * MIB);
  }
  assertNear(speed / MIB, 2, 0.01);
  now += 3_100; // Nothing more for the whole window: 0.
  assertNear(meter.speed(20 * MIB), 0, 1e-9);
});
