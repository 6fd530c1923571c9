/**
 * The prompt says what the command line says: of a FIFO to share, of a
 * `--out` that is a file, of a mistyped command, of a file already saved.
 * Real processes: a tracker, prompts on piped stdin, `peer` commands.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../../assert.ts";
import { randomFile, tempDir } from "../../fixtures.ts";
import {
  isolatedEnv,
  PromptProcess,
  startTracker,
} from "../../_prompt_process.ts";
import { runEntry, spawnSharer } from "../../../scripts/_child.ts";
import { refusalOf } from "./_commands.ts";
import { USAGE_EXIT_CODE } from "../../../lib/cli/args.ts";

/** Flags of every prompt here: its own port, on loopback only. */
const LOOPBACK = ["--host", "127.0.0.1", "--port", "0"];

const HAS_MKFIFO = (() => {
  try {
    return new Deno.Command("mkfifo", { args: ["--version"] }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

Deno.test({
  name:
    "share of a FIFO at the prompt is refused at once in the words of peer share, and no transfer is left running",
  ignore: !HAS_MKFIFO,
  fn: async () => {
    await using dir = await tempDir();
    const fifo = join(dir.path, "fifo1");
    assert(
      (await new Deno.Command("mkfifo", { args: [fifo] }).output())
        .success,
    );
    await using tracker = await startTracker();
    const env = await isolatedEnv(dir.path, tracker.address);
    const cli = await runEntry("peer.ts", ["share", fifo], { env });
    assertEquals(cli.code, USAGE_EXIT_CODE, cli.stderr);
    const refusal =
      `Cannot share "${fifo}": it is not a regular file or a folder.`;
    assertEquals(cli.stderr, refusal);

    await using prompt = new PromptProcess(LOOPBACK, env);
    // A script's share ends before its next line: it had hung here.
    await prompt.type(`share ${fifo}\nstatus\nquit\n`);
    assertEquals((await prompt.end()).code, 1, prompt.output);
    assert(prompt.lines.includes(refusal), prompt.output);
    assert(prompt.lines.includes("Transfers: none."), prompt.output);
    assert(!prompt.output.includes("hashing"), prompt.output);
    assert(!/\[y\/N\]/.test(prompt.output), prompt.output);
  },
});

Deno.test("peer --out FILE and peer ui --out FILE are refused at start in the words of peer get --out FILE, exit 2, and so is get --out FILE at the prompt", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "not-a-folder", 10);
  await using tracker = await startTracker();
  const env = await isolatedEnv(dir.path, tracker.address);
  const id = "e5".repeat(32);
  const refusal =
    `Cannot save into "${file}": it is a file, not a folder; give --out a folder (a missing one is created).`;
  for (
    const args of [
      ["get", id, "--out", file],
      [...LOOPBACK, "--out", file],
      ["ui", ...LOOPBACK, "--no-open", "--out", file],
    ]
  ) {
    const run = await runEntry("peer.ts", args, { env });
    assertEquals(run.code, USAGE_EXIT_CODE, `${args}: ${run.stderr}`);
    assertEquals(run.stderr, refusal, args.join(" "));
    assertEquals(run.stdout, "", args.join(" "));
  }

  // Started with a folder, a get at the prompt may still name a file.
  await using prompt = new PromptProcess(
    [...LOOPBACK, "--out", join(dir.path, "downloads")],
    env,
  );
  await prompt.type(`get ${id} --out ${file}\nstatus\n`);
  assertEquals((await prompt.end()).code, 1, prompt.output);
  assert(prompt.lines.includes(refusal), prompt.output);
  assert(prompt.lines.includes("Transfers: none."), prompt.output);
});

Deno.test("a mistyped command at the prompt gets the command line's guess of what was meant", async () => {
  const said = (line: string) => refusalOf(line);
  assertEquals(
    await said("shaer x"),
    'Unknown command "shaer": Did you mean "share"? Type "help" for the list.',
  );
  assertEquals(
    await said("stats"),
    'Unknown command "stats": Did you mean "status"? Type "help" for the list.',
  );
  assertEquals(
    await said("LSIT"),
    'Unknown command "LSIT": Did you mean "list"? Type "help" for the list.',
  );
  assertEquals(
    await said("bogus"),
    'Unknown command "bogus": type "help" for the list.',
  );
});

Deno.test("getting a file already in the download folder says Already have at the prompt, as peer get does, not Saved from 0 peers", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "again.bin", 100_000);
  await using tracker = await startTracker();
  const env = await isolatedEnv(dir.path, tracker.address);
  const sharer = await spawnSharer(file, tracker.address);
  await using _sharer = sharer.child;
  const out = join(dir.path, "out");
  const saved = join(out, "again.bin");
  const already =
    `Already have ${saved} (97.7 KiB, SHA-256 verified); nothing to download.`;

  await using prompt = new PromptProcess([...LOOPBACK, "--out", out], env);
  // Unshared after the first get: the second finds it in the folder.
  const short = sharer.id.slice(0, 16);
  await prompt.type(`get ${short}\nunshare ${short}\nget ${short}\n`);
  assertEquals((await prompt.end(30_000)).code, 0, prompt.output);
  assert(
    /^Saved .*again\.bin .* from 1 peer\.$/m.test(prompt.output),
    prompt.output,
  );
  assert(prompt.lines.includes(already), prompt.output);
  assert(!prompt.output.includes("from 0 peers"), prompt.output);

  // And so does a prompt started afresh.
  await using again = new PromptProcess([...LOOPBACK, "--out", out], env);
  await again.type(`get ${sharer.id}\n`);
  assertEquals((await again.end(30_000)).code, 0, again.output);
  assert(again.lines.includes(already), again.output);

  const cli = await runEntry("peer.ts", ["get", sharer.id, "--out", out], {
    env,
  });
  assertEquals(cli.code, 0, cli.stderr);
  assertEquals(cli.stdout, already);
});
