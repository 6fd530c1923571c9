/**
 * A `peer get -o FILE` whose folder cannot be saved into says what to
 * change in the flag that was typed, `--output`: not "choose another
 * --out" or "give --out a folder" to someone who gave no --out.
 *
 * @module
 */

import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import { assertOneLine, runPeerIn } from "./_cli.ts";
import { tempDir } from "../fixtures.ts";

/** A file ID nobody shares: the folder is checked before it is looked up. */
const ID = "ab".repeat(32);

function getAs(output: string, cwd: string) {
  return runPeerIn(cwd, ["get", ID, "-o", output, "--wait", "0"]);
}

Deno.test("peer get -o under a file names --output, exit 2", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "notes"), "mine");
  const result = await getAs("notes/x.bin", dir.path);
  assertEquals(result.code, 2, result.stderr);
  assertEquals(
    assertOneLine(result.stderr),
    'Cannot save into "notes": it is a file, not a folder; choose another --output.',
  );
  assertEquals(await Deno.readTextFile(join(dir.path, "notes")), "mine");
});

Deno.test({
  name: "peer get -o in a folder it may not write names --output, exit 1",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = await tempDir();
    const result = await getAs("/proc/x.bin", dir.path);
    assertEquals(result.code, 1, result.stderr);
    assertEquals(
      assertOneLine(result.stderr),
      'Cannot save into "/proc": this program is not allowed to write there; choose another --output.',
    );
  },
});
