/**
 * A short, seeded fuzz run of the frame and message decoders in every test
 * run: random and mutated inputs may only be decoded or refused with the
 * decoders' own error classes, never crash them or hang. `deno task fuzz`
 * runs longer.
 *
 * @module
 */

import { assert, assertEquals } from "./assert.ts";
import { fuzz, fuzzInput, isExpectedError } from "./_fuzz.ts";

/** Inputs in the normal test run: a few seconds at most. */
const INPUTS = 2_000;

Deno.test("2,000 seeded random and mutated frames only decode or throw TypeError, RangeError, SyntaxError or UnexpectedEof", async () => {
  const started = performance.now();
  const report = await fuzz(1, INPUTS);
  assertEquals(report.findings, []);
  assertEquals(report.inputs, INPUTS);
  // The mix reaches both sides: some inputs decode, most are refused.
  assert(report.decoded > 50, `only ${report.decoded} decoded`);
  assert(
    Object.keys(report.refused).length >= 3,
    JSON.stringify(report.refused),
  );
  assert(performance.now() - started < 5_000, "fuzz run took over 5 s");
});

Deno.test("fuzz inputs are the same for the same seed", () => {
  assertEquals(fuzzInput(7, 42), fuzzInput(7, 42));
  assert(fuzzInput(7, 42).join() !== fuzzInput(8, 42).join());
});

Deno.test("only the decoders' error classes count as expected", () => {
  assert(isExpectedError(new TypeError("x")));
  assert(isExpectedError(new Deno.errors.UnexpectedEof("x")));
  assert(!isExpectedError(new Error("x")));
  assert(!isExpectedError(new Deno.errors.TimedOut("x")));
});
