/**
 * A folder get resumed from the `.part` folder an earlier get left, with a
 * real tracker, sharer and download stopped part way: every piece already
 * there is checked again before any peer is asked, and the check reports
 * its progress as it goes, as a single file's does.
 */

import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { randomFile, sharer, tempDir, testTracker } from "../fixtures.ts";
import { download } from "../../lib/download/download.ts";
import { FOLDER_CHECK_YIELD_PIECES } from "../../lib/storage/folder_store.ts";

const MiB = 1024 * 1024;

Deno.test("a resumed folder get reports its check of the .part folder as it goes, not once at 0", async () => {
  await using dir = await tempDir();
  const folder = join(dir.path, "photos");
  await Deno.mkdir(folder);
  await randomFile(folder, "a.bin", 24 * MiB);
  await randomFile(folder, "b.bin", 24 * MiB);
  await using tracker = testTracker();
  await using node = await sharer(tracker.address, [folder]);
  const { id, size, pieceSize } = node.shared()[0];
  assert(
    size / pieceSize > 2 * FOLDER_CHECK_YIELD_PIECES,
    "pieces enough to say",
  );
  const out = join(dir.path, "out");
  const options = { tracker: tracker.address, outDir: out };

  const stop = new AbortController();
  await assertRejects(() =>
    download(id, {
      ...options,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.received >= 8 * MiB) stop.abort();
      },
    })
  );

  const checked: number[] = [];
  const result = await download(id, {
    ...options,
    onProgress: (p) => {
      if (!p.checking) return;
      assertEquals(p.checking.total, size);
      checked.push(p.checking.done);
    },
  });
  assertEquals(result.meta.id, id);
  assert(checked.length > 1, `checking reported ${checked.length} time(s)`);
  assertEquals(checked[0], 0, "said before it starts");
  for (let at = 1; at < checked.length; at++) {
    assert(checked[at] > checked[at - 1], `it goes on: ${checked}`);
    assert(checked[at] <= size);
  }
});
