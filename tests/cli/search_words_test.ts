/**
 * `peer search` looks for every word given, in any order: "notes my" finds
 * "My Notes.txt", as "my notes" does.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { sharer, tempDir, testTracker } from "../fixtures.ts";
import { runEntry } from "../../scripts/_child.ts";

Deno.test("peer search finds a file whose name holds every word, in any order", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const notes = join(dir.path, "My Notes.txt");
  await Deno.writeTextFile(notes, "hello\n");
  const other = join(dir.path, "notes-2024.md");
  await Deno.writeTextFile(other, "other\n");
  await using _sharer = await sharer(tracker.address, [notes, other]);
  const search = (...words: string[]) =>
    runEntry("peer.ts", [
      "search",
      ...words,
      "--tracker",
      `127.0.0.1:${tracker.address.port}`,
    ], { env: { P2P_HOME: join(dir.path, "home") } });
  for (const words of [["my", "notes"], ["notes", "my"], ["NOTES MY"]]) {
    const found = await search(...words);
    assertEquals(found.code, 0, found.stderr);
    const rows = found.stdout.trim().split("\n").slice(1);
    assertEquals(rows.length, 1, `${words}: ${found.stdout}`);
    assert(rows[0].endsWith("My Notes.txt"), rows[0]);
  }
  const none = await search("notes", "nothing");
  assertEquals(none.stdout.trim(), "No files.");
});
