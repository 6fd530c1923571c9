/**
 * A short ID someone made ambiguous by registering a look-alike (an ID with
 * the same first 16 hex characters): `peer get` names both files, each with
 * as much of its ID as tells it apart, and the longer one fetches the real
 * file; `peer list` shows the two rows apart.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { assertOneLine } from "./_cli.ts";
import {
  randomFile,
  sha256File,
  sharer,
  tempDir,
  testTracker,
} from "../fixtures.ts";
import { runEntry } from "../../scripts/_child.ts";
import { TrackerClient } from "../../lib/discovery/tracker_client.ts";
import { HASH_BYTES, MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";

Deno.test("peer get by a short ID two files share names both, and the longer ID it gives gets the real one", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "b.bin", 300_000);
  const real = await sha256File(source);
  await using _sharer = await sharer(tracker.address, [source]);
  // Anyone may register a file whose ID starts as the real one does.
  const fake = real.slice(0, 16) + (real[16] === "0" ? "f" : "0").repeat(48);
  const liar = await TrackerClient.connect(tracker.address);
  try {
    await liar.register({
      id: fake,
      name: "b.bin",
      size: 300_000,
      pieceSize: MIN_PIECE_SIZE,
      pieceHashes: new Uint8Array(
        Math.ceil(300_000 / MIN_PIECE_SIZE) * HASH_BYTES,
      ),
    }, 7777);
    const at = ["--tracker", `127.0.0.1:${tracker.address.port}`];
    const env = { P2P_HOME: join(dir.path, "home") };
    const out = join(dir.path, "out");

    const refused = await runEntry("peer.ts", [
      "get",
      real.slice(0, 16),
      ...at,
      "--out",
      out,
    ], { env });
    assertEquals(refused.code, 1, refused.stderr);
    const line = assertOneLine(refused.stderr);
    const realShown = real.slice(0, 17);
    const fakeShown = fake.slice(0, 17);
    assert(
      line.startsWith(
        `ID ${real.slice(0, 16)} matches 2 files; give more of its characters`,
      ),
      line,
    );
    assert(line.includes(`${realShown} (b.bin, 293 KiB, 1 sharer)`), line);
    assert(line.includes(`${fakeShown} (b.bin, 293 KiB, 1 sharer)`), line);

    const list = await runEntry("peer.ts", ["list", ...at], { env });
    assertEquals(list.code, 0, list.stderr);
    const rows = list.stdout.trim().split("\n").slice(1);
    assertEquals(rows.length, 2, list.stdout);
    assert(rows[0] !== rows[1], list.stdout);
    assertEquals(
      rows.map((row) => row.split(" ")[0]).sort(),
      [realShown, fakeShown].sort(),
    );

    const got = await runEntry("peer.ts", [
      "get",
      realShown,
      ...at,
      "--out",
      out,
      "--port",
      "0",
    ], { env });
    assertEquals(got.code, 0, got.stderr);
    assertEquals(await sha256File(join(out, "b.bin")), real);
  } finally {
    liar.close();
  }
});
