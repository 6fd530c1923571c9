/**
 * `peer help [COMMAND]` and `peer -h COMMAND` print that command's help (the
 * top-level help without one), and unknown options and extra words get the
 * project's own sentence, in `peer` and `tracker` alike.
 */

import { assert, assertEquals } from "../assert.ts";
import { assertOneLine } from "./_cli.ts";
import { runEntry } from "../../scripts/_child.ts";

Deno.test("peer help COMMAND and peer -h COMMAND print that command's help, as peer COMMAND --help does", async () => {
  for (const command of ["share", "get", "list"]) {
    const own = await runEntry("peer.ts", [command, "--help"]);
    assertEquals(own.code, 0, own.stderr);
    assert(own.stdout.startsWith(`Usage: peer ${command} `), own.stdout);
    for (
      const args of [
        ["help", command],
        ["-h", command],
        ["--help", command],
        ["--tracker", "127.0.0.1:1", "-h", command],
      ]
    ) {
      const result = await runEntry("peer.ts", args);
      assertEquals(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
      assertEquals(result.stdout, own.stdout, args.join(" "));
      assertEquals(result.stderr, "");
    }
  }
});

Deno.test("peer help and peer -h alone print the top-level help, which lists help", async () => {
  const top = await runEntry("peer.ts", ["--help"]);
  assertEquals(top.code, 0, top.stderr);
  assert(top.stdout.startsWith("Usage: peer [options] [command]"), top.stdout);
  assert(/^ {2}help \[command\] /m.test(top.stdout), top.stdout);
  for (const args of [["help"], ["-h"]]) {
    const result = await runEntry("peer.ts", args);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout, top.stdout);
  }
});

Deno.test("peer help of a word that is no command says so in one sentence, exit 2", async () => {
  const result = await runEntry("peer.ts", ["help", "shaer"]);
  assertEquals(result.code, 2);
  assertEquals(
    assertOneLine(result.stderr),
    'Unknown command "shaer": Did you mean "peer share"? Use share, get, list, search, doctor or ui (see "peer --help").',
  );
});

Deno.test("an unknown option or a missing argument is one sentence, quoting a suggestion and ending in a full stop, in peer and tracker", async () => {
  const cases: [string, string[], string][] = [
    [
      "peer.ts",
      ["list", "--trackr", "x"],
      'Unknown option "--trackr": Did you mean "--tracker"? Run "peer list --help" for usage.',
    ],
    [
      "peer.ts",
      ["list", "--frobnicate"],
      'Unknown option "--frobnicate". Run "peer list --help" for usage.',
    ],
    [
      "tracker.ts",
      ["--prot", "5"],
      'Unknown option "--prot": Did you mean "--port"? Run "tracker --help" for usage.',
    ],
    [
      "peer.ts",
      ["share"],
      'peer share needs FILES. Run "peer share --help" for usage.',
    ],
    [
      "peer.ts",
      ["list", "-q", "-v"],
      "--quiet and --verbose do not go together: leave out one of them.",
    ],
  ];
  for (const [entry, args, sentence] of cases) {
    const result = await runEntry(entry, args);
    assertEquals(result.code, 2, `${entry} ${args.join(" ")}`);
    assertEquals(assertOneLine(result.stderr), sentence);
  }
});

Deno.test("tracker with a word it does not take says so as peer does", async () => {
  const result = await runEntry("tracker.ts", ["extra"]);
  assertEquals(result.code, 2);
  assertEquals(
    assertOneLine(result.stderr),
    'tracker takes no arguments; remove "extra".',
  );
});
