/**
 * The prompt's get waits for a sharer as `peer get` does: a get of an ID
 * nobody shares yet says it waits (never 100% of 0 B), in status and in the
 * progress lines, completes once a sharer comes, ends at once on cancel,
 * and with `--wait` gives up in the download's words.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals, assertThrows } from "../../assert.ts";
import { randomFile, sha256File, tempDir } from "../../fixtures.ts";
import { spawnSharer } from "../../../scripts/_child.ts";
import {
  isolatedEnv,
  PromptProcess,
  sleep,
  startTracker,
} from "../../_prompt_process.ts";
import { parseGetArgs } from "../../../lib/cli/prompt/commands.ts";
import { UsageError } from "../../../lib/app/usage_error.ts";
import { Transfers } from "../../../lib/app/transfers.ts";
import {
  describeTransfer,
  transferBar,
} from "../../../lib/cli/prompt/transfer_lines.ts";
import { HAS_SCRIPT, statusOnScreen } from "./_screen.ts";

/** Fails unless `text` matches `pattern`, showing `text`. */
function assertMatch(text: string, pattern: RegExp): void {
  assert(pattern.test(text), `"${text}" does not match ${pattern}`);
}

/** Flags of every prompt here: its own port, on loopback only. */
const LOOPBACK = ["--host", "127.0.0.1", "--port", "0"];
/** When the sharer comes, after the get started waiting. */
const SHARER_LATE_MS = 2_000;
/** What status (and a progress line) says of a get waiting for `id`. */
const waitingLine = (id: string) =>
  new RegExp(
    `#1 getting ${
      id.slice(0, 16)
    } {2}waiting for a sharer \\((4m \\d\\d|5m 00)s left\\)$`,
  );

Deno.test("describeTransfer() says a get waits for a sharer and how long is left, with no percent while its size is unknown", () => {
  let now = 0;
  const transfers = new Transfers(() => now);
  const id = "f6".repeat(32);
  const get = transfers.start({
    kind: "get",
    name: id.slice(0, 16),
    id,
    waitMs: 300_000,
  });
  const nobody = {
    name: `ID ${id.slice(0, 16)}`,
    size: 0,
    received: 0,
    bytesPerSecond: 0,
    peers: 0,
    waiting: true,
  };
  now = 2_000;
  get.updateFromDownload(nobody);
  assertEquals(
    describeTransfer(get),
    `#1 getting ${id.slice(0, 16)}  waiting for a sharer (4m 58s left)`,
  );
  const bar = transferBar(get, 100, false);
  assertEquals(
    bar,
    `[------------] #1 getting ${
      id.slice(0, 16)
    }  waiting for a sharer (4m 58s left)`,
  );
  // Every peer left mid-way: the percent stays, the wait is said.
  get.updateFromDownload({ ...nobody, name: "a.bin", size: 1024 });
  get.updateFromDownload({
    ...nobody,
    name: "a.bin",
    size: 1024,
    received: 512,
    waiting: false,
    peers: 1,
  });
  now = 5_000;
  get.updateFromDownload({
    ...nobody,
    name: "a.bin",
    size: 1024,
    received: 512,
  });
  assertMatch(
    describeTransfer(get),
    /^#1 getting a\.bin: waiting for a sharer \(5m 00s left\) {2}50\.0% {2}512 B \/ 1\.0 KiB/,
  );
});

Deno.test("parseGetArgs() reads --wait as peer get does and refuses a duration it cannot read", () => {
  assertEquals(parseGetArgs(["abc", "--wait", "30s"], "x").waitMs, 30_000);
  assertEquals(parseGetArgs(["--wait=0", "abc"], "x").waitMs, 0);
  assertEquals(parseGetArgs(["abc"], "x").waitMs, undefined);
  for (const args of [["a", "--wait"], ["a", "--wait", "soon"]]) {
    const error = assertThrows(() => parseGetArgs(args, "x"), UsageError);
    assert(/^--wait .*\.$/.test(error.message), error.message);
  }
});

Deno.test("a prompt on piped stdin waits for a sharer of an ID nobody shares yet, its progress line says so (not 100% of 0 B), and the get completes once a sharer comes", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "late one.bin", 300_000);
  const id = await sha256File(file);
  await using tracker = await startTracker();
  const home = join(dir.path, "getter");
  await Deno.mkdir(home);
  const out = join(dir.path, "out");
  await using getter = new PromptProcess(
    LOOPBACK,
    await isolatedEnv(home, tracker.address),
  );
  // A script runs status once the get ended: it shows nothing running.
  await getter.type(`get ${id} --out ${out}\nstatus\n`);
  // The plain progress line, every few seconds, is status's line.
  const line = await getter.waitFor(/^progress: /, 10_000);
  assertMatch(line, waitingLine(id));
  assert(!/100\.0%|0 B \/ 0 B/.test(getter.output), getter.output);

  const sharer = await spawnSharer(file, tracker.address);
  await using _sharer = sharer.child;
  await getter.waitFor(/^Saved .*late one\.bin .*SHA-256 verified/, 20_000);
  await getter.waitFor(/^Transfers: none\.$/);
  assertEquals((await getter.end()).code, 0, getter.output);
  assertEquals(await sha256File(join(out, "late one.bin")), id);
});

Deno.test("a prompt on piped stdin gives up after get --wait in the download's words, and exits 1", async () => {
  await using dir = await tempDir();
  await using tracker = await startTracker();
  const unknown = "a7".repeat(32);
  await using getter = new PromptProcess(
    LOOPBACK,
    await isolatedEnv(dir.path, tracker.address),
  );
  const started = performance.now();
  await getter.type(`get ${unknown} --wait 1s\nquit\n`);
  assertEquals((await getter.end()).code, 1, getter.output);
  const took = performance.now() - started;
  const said =
    `No file with ID ${unknown} is known to the tracker at ${tracker.address}. If it was shared privately, only its link (p2p://…/priv/…) can fetch it.`;
  assert(
    `${getter.output}${getter.stderr}`.includes(said),
    `${getter.output}${getter.stderr}`,
  );
  assert(took >= 1_000, `gave up after ${took} ms`);
});

Deno.test({
  name:
    "on a terminal, status shows a get of an ID nobody shares yet waiting for a sharer; it completes once one shares it, and cancel ends such a wait at once",
  ignore: !HAS_SCRIPT,
  fn: async () => {
    await using dir = await tempDir();
    const file = await randomFile(dir.path, "later.bin", 300_000);
    const id = await sha256File(file);
    await using tracker = await startTracker();
    const home = join(dir.path, "getter");
    await Deno.mkdir(home);
    const out = join(dir.path, "out");
    await using prompt = new PromptProcess(
      [...LOOPBACK, "--out", out],
      await isolatedEnv(home, tracker.address),
      true,
    );
    await prompt.waitFor(/Serving on/);
    await prompt.type(`get ${id}\r`);
    await prompt.waitForOutput(/#1 getting/);
    // "starting…" until the tracker said it knows no such file.
    const rows = await statusUntil(prompt, (row) => waitingLine(id).test(row));
    assert(!rows.some((row) => /100\.0%/.test(row)), rows.join("\n"));

    await sleep(SHARER_LATE_MS);
    const sharer = await spawnSharer(file, tracker.address);
    await using _sharer = sharer.child;
    await prompt.waitForOutput(/Saved [^\n]*later\.bin[^\n]*verified/, 20_000);
    assertEquals(await sha256File(join(out, "later.bin")), id);

    await prompt.type(`get ${"b8".repeat(32)}\r`);
    await prompt.waitForOutput(/#2 getting/);
    await statusUntil(prompt, (row) => /#2 getting .*waiting for a/.test(row));
    const cancelled = performance.now();
    await prompt.type("cancel #2\r");
    await prompt.waitForOutput(/Cancelled #2/, 2_000);
    assert(performance.now() - cancelled < 2_000);
    const after = await statusOnScreen(prompt);
    assert(after.includes("Transfers: none."), after.join("\n"));
    await prompt.type("quit\r");
    assertEquals((await prompt.end()).code, 0, prompt.output);
  },
});

/**
 * Types `status` until a row of its answer (a transfer's, indented)
 * passes `test`; resolves to that answer's rows.
 */
async function statusUntil(
  prompt: PromptProcess,
  test: (row: string) => boolean,
  timeoutMs = 5_000,
): Promise<string[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const rows = await statusOnScreen(prompt);
    if (rows.some((row) => /^ {2}#/.test(row) && test(row))) return rows;
    if (performance.now() > deadline) {
      throw new Error(`No such status row: ${rows.join("\n")}`);
    }
    await sleep(200);
  }
}
