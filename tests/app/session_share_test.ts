/**
 * `Session.share`, as the prompt and the web page use it: what is neither
 * a file nor a folder is refused before it is opened, and a cancelled
 * share ends at once even while its hashing waits on a read.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { randomFile, tempDir, testTracker, within } from "../fixtures.ts";
import { startPeerSession } from "../../lib/cli/peer_session.ts";
import { Session, type SessionEvent } from "../../lib/app/session.ts";
import type { PeerNode } from "../../lib/app/peer_node.ts";
import type { FileMeta } from "../../lib/protocol/messages.ts";
import { UsageError } from "../../lib/app/usage_error.ts";

/** Longest a refusal or a cancel may take: both are meant to be at once. */
const AT_ONCE_MS = 2_000;

const HAS_MKFIFO = (() => {
  try {
    return new Deno.Command("mkfifo", { args: ["--version"] }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

Deno.test({
  name:
    "Session.share refuses a FIFO at once, without opening it, in the words of peer share, and starts no transfer",
  ignore: !HAS_MKFIFO,
  fn: async () => {
    await using dir = await tempDir();
    const fifo = join(dir.path, "fifo1");
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert(made.success, "mkfifo failed");
    await using tracker = testTracker();
    await using peer = await startPeerSession({
      tracker: { host: "127.0.0.1", port: tracker.address.port },
      host: "127.0.0.1",
      port: 0,
      note: () => {},
    });
    const events: SessionEvent[] = [];
    peer.session.listen((event) => events.push(event));
    // Opening a FIFO waits for a writer: a share that opened it never ends.
    const error = await within(
      assertRejects(() => peer.session.share(fifo), UsageError),
      AT_ONCE_MS,
      "refusing the FIFO",
    );
    assertEquals(
      error.message,
      `Cannot share "${fifo}": it is not a regular file or a folder.`,
    );
    assertEquals(events.map((event) => event.type), []);
    assertEquals(peer.session.transfers(), []);
  },
});

/** A node whose share hashes until told to finish, as on a stuck read. */
class StuckNode {
  unshared: string[] = [];
  finish: (meta: FileMeta) => void = () => {};

  share(): Promise<FileMeta> {
    // Like a read that does not return: the signal is not looked at.
    return new Promise((resolve) => this.finish = resolve);
  }

  unshare(id: string): Promise<void> {
    this.unshared.push(id);
    return Promise.resolve();
  }
}

Deno.test("a cancelled share whose hashing is stuck on a read ends at once, and what it shares late is unshared", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "slow.bin", 1024);
  const node = new StuckNode();
  const session = new Session(node as unknown as PeerNode, {
    tracker: { host: "127.0.0.1", port: 1 },
  });
  const events: SessionEvent[] = [];
  session.listen((event) => events.push(event));
  const sharing = session.share(file);
  while (session.transfers().length === 0) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const transfer = session.cancel("#1");
  assertEquals(transfer.name, "slow.bin");
  assertEquals(await within(sharing, AT_ONCE_MS, "the cancel"), undefined);
  assertEquals(session.transfers(), []);
  assertEquals(events.map((event) => event.type), [
    "hashing",
    "share-cancelled",
  ]);

  // The read returns after all and the share registers: taken back.
  const id = "d4".repeat(32);
  node.finish({ id, name: "slow.bin", size: 1024 } as FileMeta);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(node.unshared, [id]);
  assertEquals(events.length, 2);
});
