import { join } from "node:path";
import { assert, assertEquals } from "../../assert.ts";
import { randomFile, tempDir } from "../../fixtures.ts";
import { isolatedEnv, PromptProcess } from "../../_prompt_process.ts";
import { startSwarm, walk } from "../_folders.ts";

/** Flags of every prompt here: its own port, on loopback only. */
const LOOPBACK = ["--host", "127.0.0.1", "--port", "0"];

Deno.test("the prompt's get of a folder already saved as NAME (1) (NAME holds something else) finds it and shares it, where it said 'NAME changed after it was saved'", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "nc photos");
  await Deno.mkdir(join(root, "sub"), { recursive: true });
  await randomFile(root, "one.jpg", 300_000);
  await randomFile(join(root, "sub"), "two.jpg", 20_000);
  await using swarm = await startSwarm();
  const shared = await swarm.share(root);
  // An earlier get saved it as "nc photos (1)": "nc photos" is the user's.
  const out = join(dir.path, "out");
  const copy = join(out, "nc photos (1)");
  await Deno.mkdir(join(copy, "sub"), { recursive: true });
  await Deno.mkdir(join(out, "nc photos"));
  await Deno.writeTextFile(join(out, "nc photos", "mine.txt"), "mine");
  for (const file of ["one.jpg", "sub/two.jpg"]) {
    await Deno.copyFile(join(root, file), join(copy, file));
  }
  const before = await walk(out);
  const home = join(dir.path, "home");
  await Deno.mkdir(home);

  await using prompt = new PromptProcess(
    LOOPBACK,
    await isolatedEnv(home, swarm.tracker),
  );
  await prompt.type(`get ${shared.id} --out "${out}"\nstatus\nquit\n`);
  assertEquals((await prompt.end()).code, 0, prompt.output);
  assert(!prompt.output.includes("changed after it was saved"), prompt.output);
  assert(prompt.output.includes(copy), prompt.output);
  assert(
    prompt.lines.some((line) =>
      /^\s+[0-9a-f]{16}\s.*\snc photos\/$/.test(line)
    ),
    prompt.output,
  );
  assertEquals(await walk(out), before);
});
