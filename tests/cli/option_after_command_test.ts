/**
 * An option of the program that a command does not take is refused in the
 * same sentence whichever side of the command it is typed on, naming the
 * commands that take it (as the README says): `peer list --port 0` as
 * `peer --port 0 list`, not a bare "Unknown option".
 *
 * @module
 */

import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import { assertOneLine, freePort } from "./_cli.ts";
import { tempDir } from "../fixtures.ts";
import { runEntry } from "../../scripts/_child.ts";
import { isolatedEnv } from "../_prompt_process.ts";

Deno.test("peer list --port is refused naming the commands that take --port, as before the command", async () => {
  await using dir = await tempDir();
  const home = join(dir.path, "home");
  await Deno.mkdir(home);
  const env = await isolatedEnv(home, `127.0.0.1:${freePort()}`);
  for (const [option, value] of [["--port", "0"], ["--out", "x"]]) {
    const before = await runEntry("peer.ts", [option, value, "list"], { env });
    const after = await runEntry("peer.ts", ["list", option, value], { env });
    assertEquals(before.code, 2, before.stderr);
    assertEquals(after.code, 2, after.stderr);
    const sentence = assertOneLine(before.stderr);
    assertEquals(
      sentence.startsWith(`peer list does not take ${option}:`),
      true,
      sentence,
    );
    assertEquals(assertOneLine(after.stderr), sentence);
  }
});
