/**
 * An empty path given to share (`peer share ""`, or `share ""` at the
 * prompt) is refused in one sentence, as a mistake in what was typed: it
 * is not an "Unexpected error", and the prompt does not take it for the
 * current folder and share all of it.
 *
 * @module
 */

import { assertEquals, assertThrows } from "../assert.ts";
import { assertOneLine, runPeerIn } from "./_cli.ts";
import { tempDir } from "../fixtures.ts";
import { parseShareArgs } from "../../lib/cli/prompt/commands.ts";
import { UsageError } from "../../lib/app/usage_error.ts";

const REFUSED = "Cannot share an empty path: give a file or folder.";

Deno.test('peer share "" exits 2 with one sentence, not an unexpected error', async () => {
  await using dir = await tempDir();
  const result = await runPeerIn(dir.path, ["share", ""]);
  assertEquals(result.code, 2, result.stderr);
  assertEquals(assertOneLine(result.stderr), REFUSED);
  assertEquals(result.stdout, "");
});

Deno.test('the prompt\'s share "" is refused, not read as the current folder', () => {
  for (const args of [[""], ["a", ""], ["--private", ""]]) {
    const error = assertThrows(() => parseShareArgs(args), UsageError);
    assertEquals(error.message, REFUSED);
  }
});
