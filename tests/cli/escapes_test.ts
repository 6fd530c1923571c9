import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { tempDir, testTracker } from "../fixtures.ts";
import { runEntry } from "../../scripts/_child.ts";

/** Asserts `text` shows a tab only as `\x09`, never as `\t` or `\u{9}`. */
function tabShownOneWay(text: string, times: number): void {
  assertEquals(text.split("\\x09").length - 1, times, text);
  assert(!text.includes("\\t") && !/\\u\{?0*9\}?/i.test(text), text);
  assert(!text.includes("\t"), text);
}

Deno.test("every message of a refused share shows a tab in a name the same way, as \\x09", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const at = ["--tracker", `127.0.0.1:${tracker.address.port}`, "--port", "0"];
  const folder = join(dir.path, "d\tir");
  await Deno.mkdir(folder);
  await Deno.writeTextFile(join(folder, "a.txt"), "a");
  const refused = await runEntry("peer.ts", ["share", folder, ...at]);
  assert(refused.code !== 0, refused.stderr);
  // The path, the name, the name again in the reason.
  tabShownOneWay(refused.stderr, 3);
  assert(refused.stderr.includes('under the name "d\\x09ir"'), refused.stderr);
  const file = join(dir.path, "a.txt");
  await Deno.writeTextFile(file, "a");
  const renamed = await runEntry("peer.ts", [
    "share",
    file,
    "--as",
    "x\ty",
    ...at,
  ]);
  assert(renamed.code !== 0, renamed.stderr);
  tabShownOneWay(renamed.stderr, 2);
});
