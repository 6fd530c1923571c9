/**
 * A long fuzz run of the frame and message decoders:
 * `deno task fuzz [--seeds N] [--inputs N] [--first-seed N]`. Prints one
 * line per seed and every finding (with its seed and input number, so it
 * can be replayed with `fuzzInput(seed, i)`); exits 1 if there were any.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fuzz } from "../tests/_fuzz.ts";

const USAGE = "Usage: deno task fuzz [--seeds N] [--inputs N] [--first-seed N]";

let values: Record<string, string | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      seeds: { type: "string", default: "20" },
      inputs: { type: "string", default: "50000" },
      "first-seed": { type: "string", default: "1" },
    },
  }));
} catch (error) {
  // An unknown option or a stray argument: one line, not a stack trace.
  console.error(`${(error as Error).message.split("\n")[0]}. ${USAGE}`);
  Deno.exit(2);
}
const seeds = Number(values.seeds);
const inputs = Number(values.inputs);
const first = Number(values["first-seed"]);
if (![seeds, inputs, first].every(Number.isSafeInteger)) {
  console.error(USAGE);
  Deno.exit(2);
}

let findings = 0;
for (let seed = first; seed < first + seeds; seed++) {
  const started = performance.now();
  const report = await fuzz(seed, inputs);
  findings += report.findings.length;
  console.log(
    `seed ${seed}: ${report.inputs} inputs, ${report.decoded} decoded, refused ${
      JSON.stringify(report.refused)
    }, ${report.findings.length} findings, ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s`,
  );
  for (const finding of report.findings) console.log(`  ${finding}`);
}
console.log(findings === 0 ? "No findings." : `${findings} findings.`);
Deno.exit(findings === 0 ? 0 : 1);
