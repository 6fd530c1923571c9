/**
 * A prompt line with a quote it never closes (`share it's.txt`) is refused
 * in one sentence, as a shell refuses it: not read with the quote dropped,
 * which looked for `its.txt` and said there is no such file.
 *
 * @module
 */

import { assertEquals, assertThrows } from "../../assert.ts";
import { splitWords } from "../../../lib/cli/prompt/completion.ts";
import { UsageError } from "../../../lib/app/usage_error.ts";

Deno.test("splitWords() refuses a quote left open, naming it and how to keep it", () => {
  for (
    const [line, quote] of [["share it's.txt", "'"], ['share "my file', '"']]
  ) {
    const error = assertThrows(() => splitWords(line), UsageError);
    assertEquals(
      error.message,
      `This line opens a ${quote} it never closes: close it, or put \\ before it (it\\'s.txt).`,
    );
  }
});

Deno.test("splitWords() still reads closed and escaped quotes", () => {
  assertEquals(splitWords("share it\\'s.txt"), ["share", "it's.txt"]);
  assertEquals(splitWords(`share "it's.txt"`), ["share", "it's.txt"]);
  assertEquals(splitWords(`share 'a b' "c"`), ["share", "a b", "c"]);
});
