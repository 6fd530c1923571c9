/**
 * A tracker is not trusted with which file an ID names: a download checks
 * that the metadata it is given is for the ID (or prefix) it asked for.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import {
  lyingTracker,
  randomFile,
  sharer,
  tempDir,
  testTracker,
} from "../fixtures.ts";
import { download } from "../../lib/download/download.ts";

Deno.test("a tracker that answers a query with another file's metadata is refused before any peer is asked", async () => {
  await using dir = await tempDir();
  const asked = await randomFile(dir.path, "asked.bin", 300_000);
  const other = await randomFile(dir.path, "other.bin", 300_000);
  await using tracker = testTracker();
  await using node = await sharer(tracker.address, [asked, other]);
  const [askedMeta, otherMeta] = node.shared();
  // A tracker that lies: every query gets the other file, with its sharer.
  const liar = lyingTracker(otherMeta, [node.address]);
  try {
    let error: unknown;
    await download(askedMeta.id, {
      tracker: liar.address,
      outDir: join(dir.path, "out"),
    }).catch((e) => error = e);
    assert(error instanceof Error, "the other file was downloaded");
    assertEquals(
      error.message,
      `The tracker at 127.0.0.1:${liar.address.port} answered with another file than ID ${askedMeta.id}; it cannot be trusted.`,
    );
    assertEquals(node.uploaded, 0);
  } finally {
    await liar.close();
  }
});
