/**
 * `peer share` of a path this program is not allowed to read (Deno keeps
 * `/proc` and `/sys` to programs run with every permission) is refused in
 * one sentence with exit 2, as an unreadable file is: not "Permission
 * denied: Requires all access to …, run again with the --allow-all flag".
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { assertOneLine, freePort, runPeerIn, runWithInput } from "./_cli.ts";
import { tempDir } from "../fixtures.ts";
import { isolatedEnv } from "../_prompt_process.ts";

const NOT_ALLOWED = "/proc/self/status";

Deno.test({
  name:
    "peer share of a path Deno does not let it read exits 2 in one sentence",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = await tempDir();
    const result = await runPeerIn(dir.path, ["share", NOT_ALLOWED]);
    assertEquals(result.code, 2, result.stderr);
    assertEquals(
      assertOneLine(result.stderr),
      `Cannot share "${NOT_ALLOWED}": this program is not allowed to read it.`,
    );
    assertEquals(result.stdout, "");
  },
});

Deno.test({
  name:
    "the prompt's share of a path Deno does not let it read says so in one sentence",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = await tempDir();
    const home = join(dir.path, "home");
    await Deno.mkdir(home);
    const result = await runWithInput(
      "peer.ts",
      ["--host", "127.0.0.1", "--port", "0"],
      `share ${NOT_ALLOWED}\nquit\n`,
      {
        env: await isolatedEnv(home, `127.0.0.1:${freePort()}`),
        timeoutMs: 20_000,
      },
    );
    assertEquals(result.code, 1, result.stderr);
    const output = `${result.stdout}\n${result.stderr}`;
    assert(
      output.includes(
        `Cannot share "${NOT_ALLOWED}": this program is not allowed to read it.`,
      ),
      output,
    );
    assert(!/allow-all|Requires all access/.test(output), output);
  },
});
