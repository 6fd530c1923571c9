/**
 * How often a get connects to a peer whose connections keep closing: a
 * link that ended after bringing LINK_PROGRESS_BYTES of the file does not
 * count against MAX_LINKS_PER_PEER, one that ended with less does.
 */

import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { randomFile, sha256File, tempDir, testTracker } from "../fixtures.ts";
import {
  download,
  DownloadError,
  MAX_LINKS_PER_PEER,
} from "../../lib/download/download.ts";
import { LINK_PROGRESS_BYTES } from "../../lib/download/_peer_pool.ts";
import { type Address, Connection } from "../../lib/net/connection.ts";
import { secureAccept } from "../../lib/net/secure_transport.ts";
import { type FileMeta, pieceCount } from "../../lib/protocol/messages.ts";
import { MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import { TrackerClient } from "../../lib/discovery/tracker_client.ts";
import { hashFile } from "../../lib/storage/file_hash.ts";

/**
 * A registered peer sharing `source` that, on each connection, welcomes,
 * sends the pieces of the first `answers` requests and closes; `accepted`
 * counts its connections.
 */
async function closingPeer(
  source: string,
  meta: FileMeta,
  tracker: Address,
  answers: number,
) {
  const bytes = await Deno.readFile(source);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Connection>();
  const peer = { accepted: 0 };
  async function serve(raw: Deno.TcpConn): Promise<void> {
    const conn = new Connection(raw, {}, await secureAccept(raw));
    open.add(conn);
    try {
      await conn.receive();
      await conn.send({
        type: "welcome",
        id: meta.id,
        pieces: pieceCount(meta.size, meta.pieceSize),
      });
      for (let answered = 0; answered < answers;) {
        const message = await conn.receive();
        if (message === null) return;
        if (message.type !== "request") continue;
        const start = message.index * meta.pieceSize;
        await conn.send({
          type: "piece",
          index: message.index,
          data: bytes.subarray(start, start + meta.pieceSize),
        });
        answered++;
      }
    } finally {
      open.delete(conn);
      conn.close();
    }
  }
  const serving = (async () => {
    const handled: Promise<void>[] = [];
    for await (const raw of listener) {
      peer.accepted++;
      handled.push(serve(raw).catch(() => {}));
    }
    await Promise.all(handled);
  })();
  // Registered for as long as this peer lives: the tracker drops a
  // registration when the connection that made it closes.
  const client = await TrackerClient.connect(tracker);
  await client.register(meta, listener.addr.port).catch((error) => {
    client.close();
    listener.close();
    throw error;
  });
  return Object.assign(peer, {
    async [Symbol.asyncDispose]() {
      client.close();
      listener.close();
      for (const conn of open) conn.close();
      await serving;
    },
  });
}

/** `source`'s meta in pieces of `pieceSize`. */
async function metaOf(source: string, pieceSize: number): Promise<FileMeta> {
  return { ...await hashFile(source, { pieceSize }), name: "closing.bin" };
}

Deno.test("a get goes on connecting to a peer that closes each connection after sending some of the file, and finishes from it", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const pieceSize = LINK_PROGRESS_BYTES;
  const pieces = 12;
  const source = await randomFile(dir.path, "closing.bin", pieces * pieceSize);
  const meta = await metaOf(source, pieceSize);
  // One piece a connection: LINK_PROGRESS_BYTES each time.
  await using peer = await closingPeer(source, meta, tracker.address, 1);
  const result = await download(meta.id, {
    tracker: tracker.address,
    outDir: join(dir.path, "out"),
  });
  assertEquals(await sha256File(result.path), meta.id);
  assertEquals(result.peers.map((peer) => peer.bytes), [meta.size]);
  assert(peer.accepted >= pieces, `${peer.accepted} connections`);
});

/** A get of `id` into `dir`/out fails with "no good peer left". */
async function assertGivesUp(
  id: string,
  tracker: Address,
  dir: string,
): Promise<void> {
  await assertRejects(
    () => download(id, { tracker, outDir: join(dir, "out") }),
    DownloadError,
    "no good peer left",
  );
}

Deno.test("a get gives up on a peer that closes each connection without sending a piece, after MAX_LINKS_PER_PEER connections", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "closing.bin", 1024 * 1024);
  const meta = await metaOf(source, LINK_PROGRESS_BYTES);
  await using peer = await closingPeer(source, meta, tracker.address, 0);
  await assertGivesUp(meta.id, tracker.address, dir.path);
  assertEquals(peer.accepted, MAX_LINKS_PER_PEER);
});

Deno.test("a get gives up on a peer that closes each connection after less than LINK_PROGRESS_BYTES of the file, after MAX_LINKS_PER_PEER connections", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "closing.bin", 1024 * 1024);
  const meta = await metaOf(source, MIN_PIECE_SIZE);
  // One small piece a connection: progress, but too little to count.
  assert(MIN_PIECE_SIZE < LINK_PROGRESS_BYTES);
  await using peer = await closingPeer(source, meta, tracker.address, 1);
  await assertGivesUp(meta.id, tracker.address, dir.path);
  assertEquals(peer.accepted, MAX_LINKS_PER_PEER);
});
