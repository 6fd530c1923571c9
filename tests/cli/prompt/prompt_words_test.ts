/**
 * The prompt refuses words a command does not take, as the command line
 * does (`peer list extra`), where it ran the command and dropped them; a
 * name typed with its spaces unquoted is shown quoted.
 *
 * @module
 */

import { assertEquals } from "../../assert.ts";
import { tempDir } from "../../fixtures.ts";
import {
  isolatedEnv,
  PromptProcess,
  startTracker,
} from "../../_prompt_process.ts";
import type { FileMeta } from "../../../lib/protocol/messages.ts";
import { runCommand } from "../../../lib/cli/prompt/commands.ts";
import { commandContext, refusalOf } from "./_commands.ts";
import {
  formatShareLink,
  generateShareSecret,
} from "../../../lib/protocol/share_link.ts";

/** A context whose session unshares anything by name; what it printed. */
function contextOf(printed: string[]) {
  return commandContext({
    unshare: (ref: string) =>
      Promise.resolve({ name: ref, id: "ab".repeat(32) } as FileMeta),
  }, printed);
}

/** The message `line` is refused with (a UsageError). */
function refusal(line: string): Promise<string> {
  return refusalOf(line, contextOf([]));
}

Deno.test("commands that take no arguments refuse extra words in the command line's words, and list points to search", async () => {
  assertEquals(
    await refusal("list foo"),
    'list takes no arguments: type "list" alone, or "search TEXT" to find files by name.',
  );
  for (const command of ["status", "doctor", "ui", "help"]) {
    assertEquals(
      await refusal(`${command} extra`),
      `${command} takes no arguments: type "${command}" alone.`,
    );
  }
  assertEquals(
    await refusal("STATUS extra"),
    'status takes no arguments: type "status" alone.',
  );
});

Deno.test("commands that take one ID or name refuse several, suggesting quotes for a name with spaces, never echoing a link", async () => {
  assertEquals(
    await refusal("unshare small ü file.dat"),
    'unshare takes one ID or name: quote a name with spaces, as in unshare "small ü file.dat".',
  );
  assertEquals(
    await refusal('peers my \\"quoted\\" name'),
    'peers takes one ID or name: quote a name with spaces, as in peers "my \\"quoted\\" name".',
  );
  assertEquals(
    await refusal("cancel #1 #2"),
    'cancel takes one ID or name at a time: use "cancel ID".',
  );
  const secret = generateShareSecret();
  const link = formatShareLink({
    version: 1,
    trackers: [{ host: "127.0.0.1", port: 1 }],
    kind: "private",
    secret,
    shortId: "cd".repeat(8),
  });
  const said = await refusal(`link notes ${link}`);
  assertEquals(said, 'link takes one ID or name at a time: use "link ID".');
  assertEquals(await refusal("link"), 'Missing argument: use "link ID".');
  // Quoted, the name is one word and the command runs.
  const printed: string[] = [];
  await runCommand('unshare "small ü file.dat"', contextOf(printed));
  assertEquals(printed, [
    "Stopped sharing small ü file.dat (abababababababab).",
  ]);
});

Deno.test("a prompt on piped stdin refuses list with a word and runs nothing for it, then goes on", async () => {
  await using dir = await tempDir();
  await using tracker = await startTracker();
  await using prompt = new PromptProcess(
    ["--host", "127.0.0.1", "--port", "0"],
    await isolatedEnv(dir.path, tracker.address),
  );
  await prompt.type("list foo\nstatus extra\nlist\n");
  await prompt.waitFor(/^No files\.$/);
  // A script with a failed command exits 1.
  assertEquals((await prompt.end()).code, 1, prompt.output);
  const lines = prompt.lines.filter((line) => line !== "");
  assertEquals(lines.slice(1, 4), [
    'list takes no arguments: type "list" alone, or "search TEXT" to find files by name.',
    'status takes no arguments: type "status" alone.',
    "No files.",
  ]);
});
