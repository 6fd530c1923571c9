import { join } from "node:path";
import { assert, assertEquals } from "../../assert.ts";
import { tempDir } from "../../fixtures.ts";
import { isolatedEnv, PromptProcess } from "../../_prompt_process.ts";
import { freePort } from "../_cli.ts";

Deno.test("a script's doctor with its tracker down says so once and counts as a failed command (exit 1), as peer doctor exits 1", async () => {
  await using dir = await tempDir();
  const home = join(dir.path, "home");
  await Deno.mkdir(home);
  const env = await isolatedEnv(home, `127.0.0.1:${freePort()}`);

  await using prompt = new PromptProcess(
    ["--host", "127.0.0.1", "--port", "0"],
    env,
  );
  await prompt.type("doctor\nquit\n");
  assertEquals((await prompt.end()).code, 1, prompt.output);
  const said = prompt.lines.filter((line) =>
    line.startsWith("Cannot reach tracker at ")
  );
  assertEquals(said.length, 1, prompt.output);
  assert(
    prompt.lines.includes("DHT: off (P2P_NO_DHT is set), not checked."),
    prompt.output,
  );
  assert(!prompt.lines.slice(1, -1).includes(""), prompt.output);
});
