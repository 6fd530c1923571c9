/**
 * The prompt's quit question ("1 transfer is running; quit and stop it?
 * [y/N]"): Ctrl-C and Ctrl-D both answer No, as the default is, and say
 * so; the next line typed is a command again, not an answer.
 *
 * @module
 */

import { assert, assertEquals } from "../../assert.ts";
import { tempDir } from "../../fixtures.ts";
import {
  type PromptProcess,
  sleep,
  startTracker,
} from "../../_prompt_process.ts";
import {
  HAS_SCRIPT,
  screenOf,
  statusOnScreen,
  terminalPrompt,
  waitForScreen,
} from "./_screen.ts";

const QUESTION = "1 transfer is running; quit and stop it? [y/N]";

/** How many times "Not quitting." is on the prompt's screen. */
function notQuittingCount(prompt: PromptProcess): number {
  return screenOf(prompt.output).filter((row) => row === "Not quitting.")
    .length;
}

Deno.test({
  name:
    "on a terminal, Ctrl-C and Ctrl-D at the quit question answer No and say so, and the next command typed runs",
  ignore: !HAS_SCRIPT,
  fn: async () => {
    await using dir = await tempDir();
    await using tracker = await startTracker();
    await using prompt = await terminalPrompt(dir.path, tracker.address);
    // Nobody shares it: the get waits for a sharer, minutes.
    await prompt.type(`get ${"a1".repeat(32)}\r`);
    await prompt.waitForOutput(/#1 getting/);
    for (const [key, count] of [["\x03", 1], ["\x04", 2]] as const) {
      await prompt.type("quit\r");
      await waitForScreen(prompt, QUESTION);
      await prompt.type(key);
      const deadline = performance.now() + 5_000;
      while (notQuittingCount(prompt) < count) {
        assert(performance.now() < deadline, prompt.output);
        await sleep(20);
      }
      // The next line is a command: status runs and shows the get.
      const rows = await statusOnScreen(prompt);
      assert(
        rows.some((row) => /^ {2}#1 getting /.test(row)),
        rows.join("\n"),
      );
      assertEquals(notQuittingCount(prompt), count, prompt.output);
    }
    await prompt.type("quit --force\r");
    assertEquals((await prompt.end(10_000)).code, 0, prompt.output);
  },
});
