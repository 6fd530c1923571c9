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

const KIB = 1024;

/**
 * Speeds a meter shows, looked at every 500 ms for `ms`, of a count that
 * grows by `step` bytes every `everyMs` from `firstMs` on.
 */
function stepSpeeds(
  step: number,
  everyMs: number,
  ms: number,
  firstMs = everyMs,
): { at: number; speed: number }[] {
  let now = 0;
  const meter = new SpeedMeter({ windowMs: 3_000, now: () => now });
  const speeds = [];
  for (now = 0; now <= ms; now += 500) {
    const steps = now < firstMs ? 0 : 1 + Math.floor((now - firstMs) / everyMs);
    speeds.push({ at: now, speed: meter.speed(steps * step) });
  }
  return speeds;
}

Deno.test("SpeedMeter shows a count that grows a 256 KiB piece every 25.6 s at 10 KiB/s, not a spike and then 0", () => {
  const speeds = stepSpeeds(256 * KIB, 25_600, 120_000);
  for (const { at, speed } of speeds) {
    if (at < 25_600) {
      assertNear(speed, 0, 0); // nothing yet
    } else {
      assertNear(speed / KIB, 10, 0.5);
    }
  }
});

Deno.test("SpeedMeter shows steps a little longer than its window at their rate", () => {
  // 256 KiB every 2 s (128 KiB/s): a 3 s window holds one or two of them.
  for (const { at, speed } of stepSpeeds(256 * KIB, 2_000, 30_000)) {
    if (at >= 4_000) assertNear(speed / KIB, 128, 13);
  }
});

Deno.test("SpeedMeter brings a late step's speed down, to 0 when it is twice as late as usual", () => {
  let now = 0;
  const meter = new SpeedMeter({ windowMs: 3_000, now: () => now });
  meter.speed(0);
  now = 10_000;
  meter.speed(100 * KIB);
  now = 20_000;
  assertNear(meter.speed(200 * KIB) / KIB, 10, 0.01);
  now = 25_000; // Half-way to the next step: still 10 KiB/s.
  assertNear(meter.speed(200 * KIB) / KIB, 10, 0.01);
  now = 40_000; // Twice as long as the last step since it: 5 KiB/s.
  assertNear(meter.speed(200 * KIB) / KIB, 5, 0.01);
  now = 40_001;
  assertNear(meter.speed(200 * KIB), 0, 0);
});

Deno.test("SpeedMeter leaves out a long pause once the count grows steadily again", () => {
  let now = 0;
  const meter = new SpeedMeter({ windowMs: 3_000, now: () => now });
  let bytes = 0;
  for (; now <= 5_000; now += 100) meter.speed(bytes += 100 * KIB); // 1 MiB/s
  now = 65_000; // A minute of nothing.
  assertNear(meter.speed(bytes), 0, 0);
  for (let i = 0; i < 10; i++) {
    now += 100;
    meter.speed(bytes += 50 * KIB); // 500 KiB/s
  }
  assertNear(meter.speed(bytes) / KIB, 500, 1);
});
