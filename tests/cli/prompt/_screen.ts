/**
 * The screen of a prompt on a pseudo-terminal, as a VT100 would show it:
 * for tests that type at the prompt and read what it drew.
 *
 * @module
 */

import { isolatedEnv, PromptProcess, sleep } from "../../_prompt_process.ts";

/** A tiny terminal: enough of VT100 to replay what the prompt draws; its rows. */
export function screenOf(output: string, columns = 100): string[] {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  const line = () => rows[row] ??= [];
  for (let i = 0; i < output.length; i++) {
    const char = output[i];
    if (char === "\x1b" && output[i + 1] === "[") {
      // deno-lint-ignore no-control-regex
      const match = /^\x1b\[([?\d;]*)([A-Za-z])/.exec(output.slice(i));
      if (!match) continue;
      i += match[0].length - 1;
      const n = match[1] === "" ? 1 : Number(match[1]);
      const code = match[2];
      if (code === "A") row = Math.max(0, row - n);
      else if (code === "B") row += n;
      else if (code === "C") col += n;
      else if (code === "D") col = Math.max(0, col - n);
      else if (code === "G") col = Math.max(0, n - 1);
      else if (code === "K") line().length = match[1] === "2" ? 0 : col;
      else if (code === "J") {
        line().length = Math.min(line().length, col);
        rows.length = row + 1;
      }
    } else if (char === "\r") col = 0;
    else if (char === "\n") row++;
    else if (char >= " ") {
      if (col >= columns) {
        row++;
        col = 0;
      }
      const cells = line();
      while (cells.length < col) cells.push(" ");
      cells[col++] = char;
    }
  }
  for (let r = 0; r <= row; r++) rows[r] ??= [];
  return rows.map((cells) => cells.join("").trimEnd());
}

/** Waits until the last line on the emulated screen reads `text`. */
export async function waitForScreen(
  prompt: PromptProcess,
  text: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const screen = screenOf(prompt.output);
    const last = screen.findLast((line) => line !== "");
    if (last === text) return;
    if (performance.now() > deadline) {
      throw new Error(`Screen ends with "${last}", not "${text}"`);
    }
    await sleep(20);
  }
}

/** Whether `script` can give a prompt a pseudo-terminal here. */
export const HAS_SCRIPT = (() => {
  try {
    return new Deno.Command("script", { args: ["--version"] }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

/** Types `status` on a terminal; resolves to the screen rows of its answer. */
export async function statusOnScreen(
  prompt: PromptProcess,
  timeoutMs = 10_000,
): Promise<string[]> {
  const typed = (screen: string[]) =>
    screen.flatMap((row, i) => /^(p2p> )?status$/.test(row) ? [i] : []);
  await waitForScreen(prompt, "p2p>");
  const before = typed(screenOf(prompt.output)).length;
  await prompt.type("status\r");
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const screen = screenOf(prompt.output);
    const at = typed(screen)[before];
    const rows = at === undefined ? [] : screen.slice(at + 1);
    const end = rows.findIndex((row) => row.startsWith("Totals: "));
    if (end >= 0) return rows.slice(0, end + 1);
    if (performance.now() > deadline) {
      throw new Error(`No answer to status: ${screen.join("\n")}`);
    }
    await sleep(20);
  }
}

/**
 * A prompt on a pseudo-terminal, on loopback, with its own home in `dir`
 * and told of `tracker`; resolves once it serves.
 */
export async function terminalPrompt(
  dir: string,
  tracker: string,
): Promise<PromptProcess> {
  const prompt = new PromptProcess(
    ["--host", "127.0.0.1", "--port", "0"],
    await isolatedEnv(dir, tracker),
    true,
  );
  try {
    await prompt.waitFor(/Serving on/);
    return prompt;
  } catch (error) {
    await prompt[Symbol.asyncDispose]();
    throw error;
  }
}
