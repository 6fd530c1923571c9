/**
 * Why a peer node will not share a file, in one sentence, as the prompt
 * and the web page show it too: a file that changes while it is hashed
 * (said once, with one piece of advice), and an unfinished download (a
 * `.part` with its record beside it, or its `.part` folder).
 *
 * @module
 */

import { join } from "node:path";
import { assertEquals, assertRejects } from "../assert.ts";
import { tempDir, testTracker, unfinishedPart } from "../fixtures.ts";
import { PeerNode, ShareError } from "../../lib/app/peer_node.ts";
import { startPeerSession } from "../../lib/cli/peer_session.ts";
import { UsageError } from "../../lib/app/usage_error.ts";

Deno.test("PeerNode.share of a file that grows while it is hashed says so once, with one piece of advice", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "w.bin");
  {
    // Sparse: a second or so to hash, nothing on disk.
    using file = await Deno.open(path, { write: true, createNew: true });
    await file.truncate(2 * 1024 ** 3);
  }
  await using tracker = testTracker();
  await using node = await PeerNode.start({
    tracker: tracker.address,
    host: "127.0.0.1",
    port: 0,
    portMapping: false,
  });
  let grown = false;
  const error = await assertRejects(
    () =>
      node.share(path, {
        onProgress: () => {
          if (grown) return;
          grown = true;
          Deno.writeFileSync(path, new Uint8Array(1), { append: true });
        },
      }),
    ShareError,
  );
  assertEquals(
    error.message,
    `Cannot share "${path}": it changed while it was being hashed. Share it again once it stops changing.`,
  );
});

Deno.test("Session.share refuses an unfinished download, file or folder, in the words of peer share", async () => {
  await using dir = await tempDir();
  const part = join(dir.path, "c.bin.part");
  await unfinishedPart(part);
  const folder = join(dir.path, "album.part");
  await unfinishedPart(folder, { kind: "folder" });
  await using tracker = testTracker();
  await using peer = await startPeerSession({
    tracker: { host: "127.0.0.1", port: tracker.address.port },
    host: "127.0.0.1",
    port: 0,
    note: () => {},
  });
  const file = await assertRejects(() => peer.session.share(part), UsageError);
  assertEquals(
    file.message.replace(/ \((about \d+% done|nothing received yet)\)/, ""),
    `Cannot share "${part}": it is an unfinished download of c.bin; finish it with peer get, or share the finished file.`,
  );
  const whole = await assertRejects(
    () => peer.session.share(folder),
    UsageError,
  );
  assertEquals(
    whole.message,
    `Cannot share "${folder}": it is an unfinished download of album; finish it with peer get, or share the finished file.`,
  );
});
