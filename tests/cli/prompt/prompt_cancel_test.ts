/**
 * A get cancelled at the prompt, or stopped by quitting, says where its
 * partial download is kept only when a `.part` really is kept, naming it as
 * `peer get` stopped by Ctrl-C does, else that nothing had arrived; and a
 * folder the get made and saved nothing in goes again.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../../assert.ts";
import { otherFilesPart, randomFile, tempDir } from "../../fixtures.ts";
import { spawnSharer } from "../../../scripts/_child.ts";
import {
  isolatedEnv,
  PromptProcess,
  sleep,
  startTracker,
} from "../../_prompt_process.ts";
import { HAS_SCRIPT, screenOf } from "./_screen.ts";

/** Flags of every prompt here: its own port, on loopback only. */
const LOOPBACK = ["--host", "127.0.0.1", "--port", "0"];
/** Columns of the prompts' pseudo-terminal (see PromptProcess). */
const COLUMNS = 100;

/**
 * Waits for a line on the prompt's screen starting with `start` and
 * resolves to it whole: rows it wrapped onto are joined again.
 */
async function saidOnScreen(
  prompt: PromptProcess,
  start: string,
  timeoutMs = 10_000,
): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const rows = screenOf(prompt.output, COLUMNS);
    const at = rows.findIndex((row) => row.startsWith(start));
    if (at >= 0) {
      let line = rows[at];
      for (let i = at + 1; rows[i - 1].length === COLUMNS; i++) {
        line += rows[i] ?? "";
      }
      // The whole sentence is there once it ends.
      if (line.endsWith(".")) return line;
    }
    if (performance.now() > deadline) {
      throw new Error(`No "${start}" on screen:\n${rows.join("\n")}`);
    }
    await sleep(20);
  }
}

/** Whether anything is at `path`. */
async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test({
  name:
    "on a terminal, a cancelled get says the partial download is kept only when its .part is, naming it, and otherwise that nothing arrived; so does quit, and the empty folder the get made goes",
  ignore: !HAS_SCRIPT,
  fn: async () => {
    await using dir = await tempDir();
    const file = await randomFile(dir.path, "slow.bin", 2 * 1024 * 1024);
    await using tracker = await startTracker();
    const sharer = await spawnSharer(file, tracker.address);
    await using _sharer = sharer.child;
    const home = join(dir.path, "home");
    await Deno.mkdir(home);
    // The limit keeps the second get running for seconds.
    await using prompt = new PromptProcess(
      [...LOOPBACK, "--download-limit", "128K"],
      await isolatedEnv(home, tracker.address),
      true,
    );
    await prompt.waitFor(/Serving on/);

    // Nobody shares it: the get waits, and nothing arrives.
    const nothing = join(dir.path, "w30");
    await prompt.type(`get ${"f".repeat(64)} --out ${nothing}\r`);
    await prompt.waitForOutput(/#1 getting/);
    await prompt.type("cancel #1\r");
    assertEquals(
      await saidOnScreen(prompt, "Cancelled #1"),
      "Cancelled #1 ffffffffffffffff before anything arrived.",
    );
    assert(!await exists(nothing), `${nothing} is left`);

    // Part of it arrived: its .part is kept, and named.
    const some = join(dir.path, "w31");
    const part = join(some, "slow.bin.part");
    await prompt.type(`get ${sharer.id} --out ${some}\r`);
    // Its bar names the file once found.
    await prompt.waitForOutput(/#2 getting slow\.bin\s+\d/, 15_000);
    const deadline = performance.now() + 15_000;
    while (((await Deno.stat(part).catch(() => undefined))?.size ?? 0) === 0) {
      assert(performance.now() < deadline, prompt.output);
      await sleep(50);
    }
    await prompt.type("cancel #2\r");
    assertEquals(
      await saidOnScreen(prompt, "Cancelled #2"),
      `Cancelled #2 slow.bin; the partial file is kept in ${part}: run the same get again to resume.`,
    );
    assert(await exists(part), `${part} is gone`);

    // Quitting stops a waiting get, which says so as cancel does.
    const quitting = join(dir.path, "w32");
    await prompt.type(`get ${"e".repeat(64)} --out ${quitting}\r`);
    await prompt.waitForOutput(/#3 getting/);
    await prompt.type("quit\r");
    await prompt.waitForOutput(/quit and stop it\? \[y\/N\] /);
    await prompt.type("y\r");
    assertEquals((await prompt.end()).code, 0, prompt.output);
    assertEquals(
      await saidOnScreen(prompt, "Cancelled #3"),
      "Cancelled #3 eeeeeeeeeeeeeeee before anything arrived.",
    );
    assert(!await exists(quitting), `${quitting} is left`);
  },
});

Deno.test({
  name:
    "on a terminal, a get cancelled beside another file's .part of its name names its own .part as kept",
  ignore: !HAS_SCRIPT,
  fn: async () => {
    await using dir = await tempDir();
    const file = await randomFile(dir.path, "slow.bin", 2 * 1024 * 1024);
    const out = join(dir.path, "out");
    // Another file's, with its record: the get saves into another .part.
    const others = await otherFilesPart(out, "slow.bin");
    await using tracker = await startTracker();
    const sharer = await spawnSharer(file, tracker.address);
    await using _sharer = sharer.child;
    const home = join(dir.path, "home");
    await Deno.mkdir(home);
    // The limit keeps the get running for seconds.
    await using prompt = new PromptProcess(
      [...LOOPBACK, "--download-limit", "128K", "--out", out],
      await isolatedEnv(home, tracker.address),
      true,
    );
    await prompt.type(`get ${sharer.id}\r`);
    const own = join(out, "slow (1).bin.part");
    // A progress line with bytes in: a piece is in its .part.
    await prompt.waitForOutput(/#1 getting slow\.bin\s+[1-9]/, 20_000);
    await prompt.type("cancel #1\r");
    assertEquals(
      await saidOnScreen(prompt, "Cancelled #1"),
      `Cancelled #1 slow.bin; the partial file is kept in ${own}: run the same get again to resume.`,
    );
    assert(await exists(own), `${own} is gone`);
    assertEquals(
      (await Deno.stat(others)).size,
      1000,
      "the other .part is left",
    );
  },
});
