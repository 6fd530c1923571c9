import { assert, assertEquals } from "../assert.ts";
import { cpuSecondsSince, pidsCpuSeconds } from "../../bench/_crowd_probe.ts";

Deno.test("the flooders' CPU counts one that exited since as using nothing more, never less than nothing", async () => {
  // A shell that spins for a while, then exits.
  const child = new Deno.Command("sh", {
    args: ["-c", "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done"],
  }).spawn();
  const deadline = performance.now() + 10_000;
  let before = pidsCpuSeconds([child.pid]);
  while ((before.get(child.pid) ?? 0) === 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    before = pidsCpuSeconds([child.pid]);
  }
  assert((before.get(child.pid) ?? 0) > 0, "the shell used no CPU");
  await child.status;
  assertEquals(pidsCpuSeconds([child.pid]).size, 0);
  assertEquals(cpuSecondsSince(before), 0);
});
