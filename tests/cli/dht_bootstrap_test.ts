/**
 * `--dht-bootstrap` is checked as the command line is read: a value that
 * is not DHT nodes is one sentence and exit 2 for every command that takes
 * it, before a file is hashed or anything is sent.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "../assert.ts";
import { assertOneLine, freePort } from "./_cli.ts";
import { tempDir } from "../fixtures.ts";
import { runEntry } from "../../scripts/_child.ts";
import { parseDhtBootstrap, USAGE_EXIT_CODE } from "../../lib/cli/args.ts";
import { UsageError } from "../../lib/app/usage_error.ts";

const BAD = ["nonsense", "[::1]:6881", "127.0.0.1:99999", "127.0.0.1:0"];

function sentence(node: string): string {
  return `Cannot use "${node}" for --dht-bootstrap: give each node as HOST:PORT, HOST an IPv4 address or a name (the DHT has no IPv6) and PORT from 1 to 65535, separated by commas.`;
}

Deno.test("parseDhtBootstrap takes IPv4 addresses and names with a port, skips empty entries, and refuses the rest naming it", () => {
  assertEquals(
    parseDhtBootstrap(" 10.0.0.5:6881, dht.example.org:6881 ,"),
    ["10.0.0.5:6881", "dht.example.org:6881"],
  );
  assertEquals(parseDhtBootstrap(""), []);
  for (const bad of [...BAD, "a b:6881", "10.0.0.5:6881,:6881", "x/y:1"]) {
    const error = assertThrows(() => parseDhtBootstrap(bad), UsageError);
    assert(error.message.includes("for --dht-bootstrap:"), error.message);
  }
  assertEquals(
    assertThrows(() => parseDhtBootstrap("10.0.0.5:6881,nonsense"), UsageError)
      .message,
    sentence("nonsense"),
  );
});

Deno.test("every command that takes --dht-bootstrap refuses a bad value with one sentence and exit 2, before hashing or the network, even with --verbose", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/a.txt`;
  await Deno.writeTextFile(file, "shared");
  // No tracker there: had anything been sent, the sentence would be another.
  const tracker = ["--tracker", `127.0.0.1:${freePort()}`];
  const id = "ab".repeat(32);
  const commands: string[][] = [
    ["share", file, ...tracker],
    ["get", id, "--out", dir.path, ...tracker],
    ["doctor", ...tracker],
    [...tracker],
    ["ui", "--no-open", ...tracker],
  ];
  for (const command of commands) {
    for (const bad of BAD) {
      for (const verbose of [[], ["-v"]]) {
        const args = [...command, "--dht-bootstrap", bad, ...verbose];
        const result = await runEntry("peer.ts", args, {
          env: { P2P_NO_DHT: "" },
        });
        const what = `peer ${args.join(" ")}`;
        assertEquals(result.code, USAGE_EXIT_CODE, `${what}: ${result.stderr}`);
        assertEquals(assertOneLine(result.stderr), sentence(bad), what);
        assertEquals(result.stdout, "", what);
      }
    }
  }
  // Nothing was hashed or saved.
  assertEquals([...Deno.readDirSync(dir.path)].map((e) => e.name), ["a.txt"]);
});

Deno.test("peer get --json with a bad --dht-bootstrap ends stdout with {error, exitCode, version}", async () => {
  const result = await runEntry("peer.ts", [
    "get",
    "ab".repeat(32),
    "--json",
    "--dht-bootstrap",
    "nonsense",
  ]);
  assertEquals(result.code, USAGE_EXIT_CODE);
  const last = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
  assertEquals(last.error, sentence("nonsense"));
  assertEquals(last.exitCode, USAGE_EXIT_CODE);
  assertEquals(typeof last.version, "string");
});
