/**
 * An option that takes a value, given none (last on the line), says so in
 * our words, one sentence naming the flag and what its value is, exit 2:
 * for every such option of every peer command and of the tracker, read
 * from their `--help`.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import { assertOneLine } from "./_cli.ts";
import { runEntry } from "../../scripts/_child.ts";

const ID = "ab".repeat(32);

/** Each command, as typed before the flag, and its entry file. */
const COMMANDS: [entry: string, words: string[]][] = [
  ["peer.ts", []],
  ["peer.ts", ["ui"]],
  ["peer.ts", ["share", "README.md"]],
  ["peer.ts", ["get", ID]],
  ["peer.ts", ["list"]],
  ["peer.ts", ["search", "holiday"]],
  ["peer.ts", ["doctor"]],
  ["tracker.ts", []],
];

/** The options of `words` that take a value, from its `--help`. */
async function valueFlags(entry: string, words: string[]): Promise<string[]> {
  const command = words.slice(0, 1);
  const help = await runEntry(entry, [...command, "--help"]);
  assertEquals(help.code, 0, help.stderr);
  return [...help.stdout.matchAll(/^ {2}(?:-\w, )?(--[a-z-]+) <[^>]+>/gm)]
    .map((match) => match[1]);
}

for (const [entry, words] of COMMANDS) {
  const name = [entry.replace(".ts", ""), ...words.slice(0, 1)].join(" ");
  Deno.test(`${name}: each option that takes a value, given none, says so in one sentence, exit 2`, async () => {
    const flags = await valueFlags(entry, words);
    assert(flags.length > 0, `no options with values in ${name} --help`);
    for (const flag of flags) {
      const result = await runEntry(entry, [...words, flag]);
      assertEquals(result.code, 2, `${flag}: ${result.stderr}`);
      const line = assertOneLine(result.stderr);
      assert(
        new RegExp(
          `^${flag}( \\(-\\w\\))? needs a value: .+\\. Run "${name} --help" for usage\\.$`,
        )
          .test(line),
        line,
      );
    }
  });
}

Deno.test("peer get --json with a flag missing its value ends stdout with the error as JSON", async () => {
  const result = await runEntry("peer.ts", [
    "get",
    ID,
    "--json",
    "--download-limit",
  ]);
  assertEquals(result.code, 2, result.stderr);
  const sentence =
    '--download-limit needs a value: bytes a second, like 300K. Run "peer get --help" for usage.';
  assertEquals(assertOneLine(result.stderr), sentence);
  const last = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
  assertEquals(last.error, sentence);
  assertEquals(last.exitCode, 2);
});
