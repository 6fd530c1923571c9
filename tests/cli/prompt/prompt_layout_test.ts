/**
 * What the prompt lays out on the screen fits it: `help` wraps between
 * words to the terminal's width (80 columns off a terminal), and after Tab
 * lists candidates no stale copy of the progress bars stays above them.
 *
 * @module
 */

import { assert, assertEquals } from "../../assert.ts";
import { tempDir } from "../../fixtures.ts";
import {
  isolatedEnv,
  PromptProcess,
  sleep,
  startTracker,
} from "../../_prompt_process.ts";
import { HELP_COLUMNS, helpLines } from "../../../lib/cli/prompt/help.ts";
import {
  HAS_SCRIPT,
  screenOf,
  terminalPrompt,
  waitForScreen,
} from "./_screen.ts";

/** Every word of the help text, from lines wide enough to break none. */
const WORDS = new Set(helpLines(10_000).flatMap((line) => line.split(/\s+/)));

/** Fails unless every row fits `columns` and breaks no word of the text. */
function assertWrapped(rows: string[], columns: number): void {
  for (const row of rows) {
    assert([...row].length < columns, `wider than ${columns}: "${row}"`);
    for (const word of row.trim().split(/\s+/)) {
      assert(WORDS.has(word), `"${word}" is a broken word in "${row}"`);
    }
  }
}

Deno.test("help wraps between words within the width it is given, under each command when narrow", () => {
  for (const columns of [100, 80, 60, 40]) {
    const rows = helpLines(columns);
    assertWrapped(rows, columns);
    // Every word is there, in order.
    assertEquals(
      rows.join(" ").split(/\s+/).filter((word) => word !== ""),
      helpLines(10_000).join(" ").split(/\s+/).filter((word) => word !== ""),
    );
  }
  assertEquals(helpLines(), helpLines(HELP_COLUMNS));
  // Narrow: a description goes under its command.
  const narrow = helpLines(60);
  const share = narrow.findIndex((row) => row.startsWith("  share "));
  assertEquals(narrow[share], "  share [--private] PATH…");
  assert(narrow[share + 1].startsWith("      share files or folders"));
});

Deno.test("a prompt on piped stdin prints help within 80 columns, unbroken words", async () => {
  await using dir = await tempDir();
  await using tracker = await startTracker();
  await using prompt = new PromptProcess(
    ["--host", "127.0.0.1", "--port", "0"],
    await isolatedEnv(dir.path, tracker.address),
  );
  await prompt.type("help\n");
  await prompt.waitFor(/^ {2}quit \[--force\]/);
  assertEquals((await prompt.end()).code, 0, prompt.output);
  const start = prompt.lines.findIndex((row) => row.startsWith("Commands"));
  const end = prompt.lines.findIndex((row) => /^ {2}quit /.test(row));
  const rows = prompt.lines.slice(start, end + 1);
  assertEquals(rows, helpLines(80));
  assertWrapped(rows, 80);
});

Deno.test({
  name:
    "on a terminal, Tab listing candidates leaves no stale copy of the progress bars above the prompt, and help fits the terminal's width",
  ignore: !HAS_SCRIPT,
  fn: async () => {
    await using dir = await tempDir();
    await using tracker = await startTracker();
    await using prompt = await terminalPrompt(dir.path, tracker.address);
    // Nobody shares them: both wait, their bars counting down each second.
    await prompt.type(`get ${"a1".repeat(32)}\r`);
    await prompt.type(`get ${"b2".repeat(32)}\r`);
    await prompt.waitForOutput(/\] #2 getting [^\n]*left\)/);
    await waitForScreen(prompt, "p2p>");
    await prompt.type("cancel \t");
    await sleep(300);
    await prompt.type("\t");
    await prompt.waitForOutput(/\n#1 +a1a1a1a1a1a1a1a1 +#2 /);
    // Long enough for the bars to be redrawn a few times.
    await sleep(2_500);
    const screen = screenOf(prompt.output);
    const bars = (n: number) =>
      screen.filter((row) => row.includes(`] #${n} getting`)).length;
    assertEquals([bars(1), bars(2)], [1, 1], screen.join("\n"));
    // Drawn just above the prompt, below the list.
    const last = screen.findLastIndex((row) => row !== "");
    assertEquals(screen[last], "p2p> cancel", screen.join("\n"));
    assert(screen[last - 1].includes("] #2 getting"), screen.join("\n"));
    assert(screen[last - 2].includes("] #1 getting"), screen.join("\n"));
    // help fits the terminal's 100 columns.
    await prompt.type("\x15help\r");
    await prompt.waitFor(/^ {2}quit \[--force\]/);
    const after = screenOf(prompt.output);
    const start = after.findIndex((row) => row.startsWith("Commands"));
    assertEquals(
      after.slice(start, start + helpLines(100).length),
      helpLines(100),
    );
    await prompt.type("quit --force\r");
    assertEquals((await prompt.end()).code, 0, prompt.output);
  },
});
