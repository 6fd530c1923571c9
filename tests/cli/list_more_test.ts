/**
 * `peer list` and `peer search` against a tracker whose answer does not fit
 * one frame: a last line says how many files were left out, `--json` adds
 * `more`, and the exit code stays 0.
 */

import { assert, assertEquals } from "../assert.ts";
import { runEntry } from "../../scripts/_child.ts";
import { formatFileTable } from "../../lib/cli/format.ts";
import { HASH_BYTES, MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import type { FileMeta } from "../../lib/protocol/messages.ts";
import { TrackerClient } from "../../lib/discovery/tracker_client.ts";
import { startTracker, type TrackerServer } from "../../lib/tracker/server.ts";

/** Files registered: with names this long, about 200 fit one answer. */
const FILES = 301;
/** Bytes of each name. */
const NAME_BYTES = 210;
const NOTE = /^… and (\d+) more files; narrow it with peer search TEXT\.$/;
const SEARCH_NOTE = /^… and (\d+) more files; narrow the search\.$/;

/** File `i`: a distinct ID and a long name holding "long". */
function meta(i: number): FileMeta {
  const tag = `-${i}`;
  return {
    id: (i.toString(16).padStart(4, "0") + "e").padEnd(64, "0"),
    name: "long".padEnd(NAME_BYTES - tag.length, "y") + tag,
    size: MIN_PIECE_SIZE,
    pieceSize: MIN_PIECE_SIZE,
    pieceHashes: new Uint8Array(HASH_BYTES).fill(5),
  };
}

/** A tracker on 127.0.0.1 holding {@linkcode FILES} files, registered over a client kept open. */
async function crowdedTracker(): Promise<
  { address: string } & AsyncDisposable
> {
  const server: TrackerServer = startTracker({
    host: "127.0.0.1",
    port: 0,
    queriesPerSecond: Infinity,
  });
  const sharer = await TrackerClient.connect(server.address);
  await Promise.all(
    Array.from({ length: FILES }, (_, i) => sharer.register(meta(i), 6000)),
  );
  return {
    address: `127.0.0.1:${server.address.port}`,
    async [Symbol.asyncDispose]() {
      sharer.close();
      await server.close();
    },
  };
}

Deno.test("peer list and peer search say how many files the tracker left out, and exit 0", async () => {
  await using tracker = await crowdedTracker();
  const list = await runEntry("peer.ts", [
    "list",
    "--tracker",
    tracker.address,
  ]);
  assertEquals(list.code, 0, list.stderr);
  const lines = list.stdout.trim().split("\n");
  const note = lines.at(-1)!.match(NOTE);
  assert(note, `no note in: ${lines.at(-1)}`);
  const rows = lines.length - 2; // header and note
  assert(rows > 0 && rows < FILES, `${rows} rows`);
  assertEquals(rows + Number(note[1]), FILES);

  const search = await runEntry("peer.ts", [
    "search",
    "LONG",
    "--tracker",
    tracker.address,
  ]);
  assertEquals(search.code, 0, search.stderr);
  assert(SEARCH_NOTE.test(search.stdout.trim().split("\n").at(-1)!));
});

Deno.test("peer list --json adds more next to files", async () => {
  await using tracker = await crowdedTracker();
  const result = await runEntry("peer.ts", [
    "list",
    "--json",
    "--tracker",
    tracker.address,
  ]);
  assertEquals(result.code, 0, result.stderr);
  const { files, more, version } = JSON.parse(result.stdout);
  assert(Array.isArray(files) && files.length < FILES, `${files.length}`);
  assertEquals(files.length + more, FILES);
  assertEquals(typeof version, "string");
});

Deno.test("formatFileTable words the note for the prompt, a search, and one file", () => {
  const file = { id: "ab".repeat(32), name: "a.bin", size: 5, peers: 1 };
  const rows = formatFileTable(Object.assign([file], { more: 98 }), {
    searchCommand: "search",
  });
  assertEquals(rows.length, 3);
  assertEquals(rows[2], "… and 98 more files; narrow it with search TEXT.");
  assertEquals(
    formatFileTable(Object.assign([file], { more: 1 }), { search: true })[2],
    "… and 1 more file; narrow the search.",
  );
  assertEquals(formatFileTable([file]).length, 2);
});
