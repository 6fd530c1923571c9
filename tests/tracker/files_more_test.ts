/**
 * A `list` or `search` answer that does not fit one frame, or that would
 * pass MAX_FILES_PER_ANSWER: the tracker says in `more` how many files it
 * left out, and a client asking several trackers keeps the most any of
 * them left out.
 */

import { assert, assertEquals } from "../assert.ts";
import {
  HASH_BYTES,
  MAX_FILES_PER_ANSWER,
  MIN_PIECE_SIZE,
} from "../../lib/protocol/limits.ts";
import type { FileMeta, FileSummary } from "../../lib/protocol/messages.ts";
import { TrackerClient } from "../../lib/discovery/tracker_client.ts";
import { mergeFileLists } from "../../lib/discovery/tracker_group.ts";
import { startTracker } from "../../lib/tracker/server.ts";

const LOCAL = "127.0.0.1";
/** Files registered: with names this long, about 200 fit one answer. */
const FILES = 301;
/** Bytes of each name, long so that a few hundred files overflow a frame. */
const NAME_BYTES = 210;

/** File `i` of the set: a distinct ID and a long name holding "long". */
function meta(i: number): FileMeta {
  const tag = `-${i}`;
  return {
    id: (i.toString(16).padStart(4, "0") + "f").padEnd(64, "0"),
    name: "long".padEnd(NAME_BYTES - tag.length, "x") + tag,
    size: MIN_PIECE_SIZE,
    pieceSize: MIN_PIECE_SIZE,
    pieceHashes: new Uint8Array(HASH_BYTES).fill(7),
  };
}

Deno.test("a list or search that does not fit one frame says in more how many files it left out", async () => {
  const server = startTracker({
    host: LOCAL,
    port: 0,
    queriesPerSecond: Infinity,
  });
  const c = await TrackerClient.connect(server.address);
  try {
    await Promise.all(
      Array.from({ length: FILES }, (_, i) => c.register(meta(i), 6000)),
    );
    const listed = await c.list();
    assert(listed.length < FILES, `${listed.length} files fit`);
    assertEquals(listed.more, FILES - listed.length);
    const found = await c.search("LONG");
    assertEquals(found.length, listed.length);
    assertEquals(found.more, FILES - found.length);
    // A search that fits says nothing more.
    const seven = await c.search("x-7");
    assert(seven.length > 0 && seven.length < 20, `${seven.length}`);
    assertEquals(seven.more, undefined);
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("a list or search matching more than MAX_FILES_PER_ANSWER files says in more how many are past the cap", async () => {
  const server = startTracker({
    host: LOCAL,
    port: 0,
    queriesPerSecond: Infinity,
  });
  const c = await TrackerClient.connect(server.address);
  const past = 30;
  const short = (i: number): FileMeta => ({
    ...meta(i),
    name: `${i % 3 === 0 ? "three-" : ""}file-${i}`,
  });
  try {
    await Promise.all(
      Array.from(
        { length: MAX_FILES_PER_ANSWER + past },
        (_, i) => c.register(short(i), 6000),
      ),
    );
    const listed = await c.list();
    assertEquals(listed.length, MAX_FILES_PER_ANSWER);
    assertEquals(listed.more, past);
    const found = await c.search("FILE");
    assertEquals(found.length, MAX_FILES_PER_ANSWER);
    assertEquals(found.more, past);
    // A third of the files match, under the cap: nothing more.
    const threes = await c.search("three");
    assertEquals(threes.length, Math.ceil((MAX_FILES_PER_ANSWER + past) / 3));
    assertEquals(threes.more, undefined);
  } finally {
    c.close();
    await server.close();
  }
});

Deno.test("mergeFileLists keeps the most files any tracker left out", () => {
  const file = (id: string): FileSummary => ({
    id: id.padEnd(64, "0"),
    name: id,
    size: 1,
    peers: 1,
  });
  const a = Object.assign([file("a"), file("b")], { more: 98 });
  const b = Object.assign([file("b"), file("c")], { more: 120 });
  const merged = mergeFileLists([a, b, [file("d")]]);
  assertEquals(merged.map((f) => f.name), ["a", "b", "c", "d"]);
  assertEquals(merged.more, 120);
  assertEquals(mergeFileLists([[file("a")], [file("b")]]).more, undefined);
});
