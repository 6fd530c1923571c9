/**
 * The download folder checked before a get asks anything: a folder the
 * program may not even look at is one it cannot write to, said so rather
 * than that it cannot be created.
 *
 * @module
 */

import { assertEquals } from "../assert.ts";
import { tempDir } from "../fixtures.ts";
import { runEntry } from "../../scripts/_child.ts";
import { assertOneLine, freePort } from "../cli/_cli.ts";

Deno.test({
  name:
    "peer get --out /proc/sys says it cannot write there, not that it cannot create a folder that exists",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await using home = await tempDir();
    // With the task's permissions, Deno lets no one look into /proc/sys.
    const result = await runEntry("peer.ts", [
      "get",
      "ab".repeat(32),
      "--out",
      "/proc/sys",
      "--tracker",
      `127.0.0.1:${freePort()}`,
    ], { env: { P2P_HOME: home.path } });
    assertEquals(result.code, 1, result.stderr);
    assertEquals(
      assertOneLine(result.stderr),
      'Cannot save into "/proc/sys": this program is not allowed to write there; choose another --out.',
    );
  },
});
