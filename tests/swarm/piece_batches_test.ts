/**
 * Batches of small pieces over real sockets on 127.0.0.1 port 0 (issue
 * #23): a peer server answers a downloader that offered `batch` with
 * `pieces` of a folder's small files and takes its `requests`, and answers
 * a downloader that did not (an older peer) one `piece` per `request`; a
 * download from an older peer (no `batch` in its `welcome`, deaf to
 * `requests`) still completes; a peer whose batch slips in a piece never
 * asked for, or a bad copy, ends that link only.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { lyingTracker, tempDir, within } from "../fixtures.ts";
import { bytesOf } from "../_folder_meta.ts";
import {
  fakePeer,
  pieceOf,
  type TreeFile,
  treeOf,
  writeTree,
} from "../download/_folders.ts";
import { download } from "../../lib/download/download.ts";
import { type Address, connect } from "../../lib/net/connection.ts";
import { startListener } from "../../lib/net/listener.ts";
import {
  MAX_BATCH_PIECES,
  MAX_OUTSTANDING_REQUESTS,
  MIN_PIECE_SIZE,
  PROTOCOL_VERSION,
} from "../../lib/protocol/limits.ts";
import {
  type FileMeta,
  type Message,
  pieceLength,
  piecesOf,
} from "../../lib/protocol/messages.ts";
import { Bitfield } from "../../lib/protocol/bitfield.ts";
import { scanFolder } from "../../lib/storage/folder_scan.ts";
import { splitPieces } from "../../lib/swarm/_piece_batches.ts";
import { FolderSource } from "../../lib/storage/folder_source.ts";
import { startPeerServer } from "../../lib/swarm/peer_server.ts";
import { PeerLink } from "../../lib/swarm/peer_link.ts";
import { PieceScheduler } from "../../lib/swarm/piece_scheduler.ts";

const PIECE = MIN_PIECE_SIZE;
const WAIT_MS = 10_000;

/** 150 small files of 1..3000 bytes in 3 folders, and one of 2½ pieces. */
function smallTree(): TreeFile[] {
  const files: TreeFile[] = [];
  for (let i = 0; i < 150; i++) {
    files.push({
      path: `d${i % 3}/f${String(i).padStart(3, "0")}`,
      bytes: bytesOf(1 + (i * 997) % 3000, i),
    });
  }
  files.push({ path: "big.bin", bytes: bytesOf(2 * PIECE + PIECE / 2, 999) });
  return files;
}

/** `files` written under `dir/name`, scanned and served by a peer server. */
async function servedFolder(dir: string, files: TreeFile[]) {
  const root = join(dir, "small");
  await writeTree(root, files);
  const scanned = await scanFolder(root, { pieceSize: PIECE });
  const source = FolderSource.open(scanned);
  const server = startPeerServer({
    host: "127.0.0.1",
    port: 0,
    lookup: (id) => id === scanned.meta.id ? source : undefined,
  });
  const contents = new Map(files.map((file) => [file.path, file.bytes]));
  return {
    meta: scanned.meta,
    server,
    piece: pieceOf(scanned.meta, contents),
    async [Symbol.asyncDispose]() {
      await server.close();
      source.close();
    },
  };
}

/**
 * Asks `address` for every piece of `meta`, at most MAX_BATCH_PIECES
 * outstanding, as `requests` when `batch` else as one `request` each;
 * returns every answer and the welcome.
 */
async function fetchRaw(
  address: Address,
  meta: FileMeta,
  batch: boolean,
): Promise<{ welcome: Message; answers: Message[] }> {
  const conn = await connect(address);
  try {
    await conn.send({
      type: "hello",
      version: PROTOCOL_VERSION,
      id: meta.id,
      ...(batch ? { batch: MAX_BATCH_PIECES } : {}),
    });
    const welcome = (await conn.receive())!;
    const answers: Message[] = [];
    const pieces = piecesOf(meta);
    for (let first = 0; first < pieces; first += MAX_BATCH_PIECES) {
      const indices: number[] = [];
      for (let i = first; i < Math.min(pieces, first + MAX_BATCH_PIECES); i++) {
        indices.push(i);
      }
      if (batch) await conn.send({ type: "requests", indices });
      else {
        await conn.sendMany(
          indices.map((index) => ({ type: "request", index })),
        );
      }
      let got = 0;
      while (got < indices.length) {
        const answer = (await conn.receive({ idleMs: WAIT_MS }))!;
        answers.push(answer);
        got += answer.type === "pieces" ? answer.indices.length : 1;
      }
    }
    return { welcome, answers };
  } finally {
    conn.close();
  }
}

/** Each piece an answer carries, as `[index, bytes]`. */
function piecesIn(answers: Message[]): [number, Uint8Array][] {
  return answers.flatMap((answer): [number, Uint8Array][] => {
    if (answer.type === "piece") return [[answer.index, answer.data]];
    if (answer.type !== "pieces") throw new Error(`got ${answer.type}`);
    let at = 0;
    return answer.indices.map((index, i) => {
      const bytes = answer.data.subarray(at, at + answer.lengths[i]);
      at += answer.lengths[i];
      return [index, bytes];
    });
  });
}

Deno.test("a downloader that offers batch gets a folder's small files many to a pieces, never over a piece size, and every byte right", async () => {
  await using dir = await tempDir();
  await using served = await servedFolder(dir.path, smallTree());
  const { welcome, answers } = await within(
    fetchRaw(served.server.address, served.meta, true),
    WAIT_MS,
    "the batched fetch",
  );
  assert(welcome.type === "welcome");
  assertEquals(welcome.batch, MAX_BATCH_PIECES);
  const batches = answers.filter((a) => a.type === "pieces");
  assert(batches.length > 0, "no pieces message");
  assert(
    answers.length < piecesOf(served.meta) / 4,
    `${answers.length} answers for ${piecesOf(served.meta)} pieces`,
  );
  for (const batch of batches) {
    assert(batch.type === "pieces" && batch.indices.length > 1);
    assert(batch.data.length <= PIECE, `${batch.data.length} bytes`);
  }
  const got = piecesIn(answers);
  assertEquals(
    got.map(([index]) => index),
    Array.from({ length: piecesOf(served.meta) }, (_, i) => i),
  );
  for (const [index, bytes] of got) assertEquals(bytes, served.piece(index));
});

Deno.test("a downloader that does not offer batch (an older peer) gets one piece per request and no batch in its welcome", async () => {
  await using dir = await tempDir();
  await using served = await servedFolder(dir.path, smallTree());
  const { welcome, answers } = await within(
    fetchRaw(served.server.address, served.meta, false),
    WAIT_MS,
    "the plain fetch",
  );
  assert(welcome.type === "welcome" && !("batch" in welcome));
  assert(answers.every((answer) => answer.type === "piece"));
  for (const [index, bytes] of piecesIn(answers)) {
    assertEquals(bytes, served.piece(index));
  }
});

Deno.test("requests past the outstanding limit close that connection like single requests do", async () => {
  await using dir = await tempDir();
  await using served = await servedFolder(dir.path, smallTree());
  const conn = await connect(served.server.address);
  try {
    await conn.send({
      type: "hello",
      version: PROTOCOL_VERSION,
      id: served.meta.id,
      batch: MAX_BATCH_PIECES,
    });
    assertEquals((await conn.receive())?.type, "welcome");
    const indices = Array.from({ length: MAX_BATCH_PIECES }, (_, i) => i);
    const over = Math.ceil(MAX_OUTSTANDING_REQUESTS / MAX_BATCH_PIECES) + 1;
    const sends = Array.from(
      { length: over },
      () => conn.send({ type: "requests", indices }).catch(() => {}),
    );
    await Promise.all(sends);
    // Whatever was answered first, the connection ends.
    await within(
      (async () => {
        for (;;) {
          const message = await conn.receive({ idleMs: WAIT_MS }).catch(
            () => null,
          );
          if (message === null) return;
        }
      })(),
      WAIT_MS,
      "the close",
    );
  } finally {
    conn.close();
  }
});

Deno.test("a folder of small files downloads whole from an older peer that never offers batch and ignores requests", async () => {
  await using dir = await tempDir();
  const files = smallTree();
  const root = join(dir.path, "small");
  await writeTree(root, files);
  const { meta } = await scanFolder(root, { pieceSize: PIECE });
  const contents = new Map(files.map((file) => [file.path, file.bytes]));
  await using peer = fakePeer(meta, pieceOf(meta, contents));
  await using liar = lyingTracker(meta, [peer.address]);
  const out = join(dir.path, "out");
  const result = await within(
    download(meta.id, { tracker: liar.address, outDir: out }),
    WAIT_MS,
    "the download",
  );
  assertEquals(peer.sent, piecesOf(meta));
  assertEquals(await treeOf(result.path), await treeOf(root));
});

/** A peer offering batch whose one answer to the first requests is `answer(asked)`. */
function batchingLiar(
  meta: FileMeta,
  answer: (asked: number[]) => Message,
) {
  const listener = startListener({
    host: "127.0.0.1",
    port: 0,
    serve: async (conn) => {
      const hello = await conn.receive();
      if (hello?.type !== "hello") return;
      // Only the small files' pieces, so that any batch of them fits; not
      // the last, so that it is never asked for (the link may ask in more
      // than one message before the answer comes).
      const have = new Bitfield(piecesOf(meta));
      for (const index of smallPieces(meta)) {
        if (index !== neverAsked(meta)) have.set(index);
      }
      await conn.send({
        type: "welcome",
        id: meta.id,
        pieces: piecesOf(meta),
        have: have.toBytes(),
        batch: MAX_BATCH_PIECES,
      });
      // The first ask: a batch, or a lone `request` when the link's first
      // top-up asked for one piece (it happens under load).
      const first = await conn.receive();
      if (first?.type !== "requests" && first?.type !== "request") return;
      await conn.send(
        answer(first.type === "requests" ? first.indices : [first.index]),
      );
      while (await conn.receive().catch(() => null) !== null) {
        // Until the link gives up.
      }
    },
  });
  return Object.assign(listener, {
    [Symbol.asyncDispose]: () => listener.close(),
  });
}

/** The small piece a batching liar does not say it has. */
function neverAsked(meta: FileMeta): number {
  return smallPieces(meta).at(-1)!;
}

/** The pieces of `meta` shorter than a quarter of its piece size. */
function smallPieces(meta: FileMeta): number[] {
  return Array.from({ length: piecesOf(meta) }, (_, i) => i).filter(
    (index) => pieceLength(meta, index) * 4 < meta.pieceSize,
  );
}

/** A batch of `indices` with the bytes `piece` gives. */
function batchOf(
  indices: number[],
  piece: (index: number) => Uint8Array,
): Message {
  const parts = indices.map(piece);
  const data = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    data.set(part, at);
    at += part.length;
  }
  return {
    type: "pieces",
    indices,
    lengths: parts.map((p) => p.length),
    data,
  };
}

/** The bytes of piece `index`. */
type Bytes = (index: number) => Uint8Array;

/** The first of `asked` that fit in half a piece together (one at least). */
function fitting(asked: number[], right: Bytes): number[] {
  let total = 0;
  const fit = asked.filter((index) =>
    (total += right(index).length) <= PIECE / 2
  );
  return fit.length > 0 ? fit : asked.slice(0, 1);
}

for (
  const { what, lie, failure } of [
    {
      what: "a piece never asked for",
      lie: (asked: number[], meta: FileMeta, right: Bytes) =>
        batchOf([...fitting(asked, right), neverAsked(meta)], right),
      failure: /which was not asked for/,
    },
    {
      what: "a bad copy among good ones",
      lie: (asked: number[], _meta: FileMeta, right: Bytes) =>
        batchOf(
          fitting(asked, right),
          (index) =>
            index === fitting(asked, right).at(-1)
              ? new Uint8Array(right(index).length)
              : right(index),
        ),
      failure: /bad copy of piece/,
    },
  ]
) {
  Deno.test(`a PeerLink whose peer slips ${what} into a pieces ends with a failure and gives its pieces back`, async () => {
    await using dir = await tempDir();
    const files = smallTree();
    const root = join(dir.path, "small");
    await writeTree(root, files);
    const { meta } = await scanFolder(root, { pieceSize: PIECE });
    const right = pieceOf(meta, new Map(files.map((f) => [f.path, f.bytes])));
    const pieces = piecesOf(meta);
    await using liar = batchingLiar(
      meta,
      (asked) => lie(asked, meta, right),
    );
    const scheduler = new PieceScheduler(pieces);
    const got: number[] = [];
    const link = new PeerLink(liar.address, {
      id: meta.id,
      pieces,
      pieceSize: PIECE,
      pieceBytes: meta.size / pieces,
      scheduler,
      inFlight: 8,
      stallMs: 2_000,
      connectMs: 2_000,
      onPiece: (index, data) => {
        const good = data.length === right(index).length &&
          data.every((byte, i) => byte === right(index)[i]);
        if (good) {
          got.push(index);
          scheduler.complete(index);
        }
        return good;
      },
    });
    try {
      await within(link.run(), WAIT_MS, "PeerLink.run()");
    } finally {
      link.close();
    }
    assert(
      typeof link.failure === "string" && failure.test(link.failure),
      `failure was ${JSON.stringify(link.failure)}`,
    );
    assertEquals(scheduler.completed, got.length);
    // What was not delivered can be asked of someone else.
    assertEquals(scheduler.next(undefined, new Set(got)) !== undefined, true);
  });
}

Deno.test("splitPieces copies each piece out and gives the frame's buffer back", () => {
  const data = Uint8Array.of(1, 2, 3, 4, 5, 6);
  const given: Uint8Array[] = [];
  const pieces = splitPieces(
    { type: "pieces", indices: [7, 9], lengths: [2, 4], data },
    (bytes) => given.push(bytes),
  );
  assertEquals(given, [data]);
  data.fill(0);
  assertEquals(pieces.map((piece) => piece.index), [7, 9]);
  assertEquals(pieces.map((piece) => [...piece.data]), [[1, 2], [3, 4, 5, 6]]);
});
