import { join } from "node:path";
import { assert, assertEquals } from "../../assert.ts";
import { randomFile, tempDir } from "../../fixtures.ts";
import {
  isolatedEnv,
  PromptProcess,
  startTracker,
} from "../../_prompt_process.ts";

/** Flags of every prompt here: its own port, on loopback only. */
const LOOPBACK = ["--host", "127.0.0.1", "--port", "0"];

Deno.test("a folder unshared right after its share leaves nothing shared: its large files, registered on their own, go with it", async () => {
  await using dir = await tempDir();
  const folder = join(dir.path, "uf folder");
  await Deno.mkdir(join(folder, "sub"), { recursive: true });
  // Large enough (several pieces) to be registered on its own as well.
  await randomFile(join(folder, "sub"), "uf big.bin", 1_500_000);
  await randomFile(folder, "uf small.txt", 100);
  await using tracker = await startTracker();
  const env = await isolatedEnv(dir.path, tracker.address);

  await using prompt = new PromptProcess(LOOPBACK, env);
  await prompt.type(`share "${folder}"\nunshare "uf folder"\nstatus\nquit\n`);
  assertEquals((await prompt.end()).code, 0, prompt.output);
  const stopped = prompt.lines.findIndex((line) =>
    line.startsWith("Stopped sharing uf folder (")
  );
  assert(
    stopped >= 0 && prompt.lines[stopped + 1] === "Shared: nothing.",
    prompt.output,
  );
  assert(!prompt.output.includes("uf big.bin"), prompt.output);
  assert(prompt.lines.includes("Bye."), prompt.output);
});
