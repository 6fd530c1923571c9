import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  randomFile,
  sha256File,
  sharer,
  tempDir,
  testTracker,
} from "../fixtures.ts";
import { download, DownloadError } from "../../lib/download/download.ts";
import { DEFAULT_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import { type Address, Connection } from "../../lib/net/connection.ts";
import { secureAccept } from "../../lib/net/secure_transport.ts";
import { type FileMeta, pieceCount } from "../../lib/protocol/messages.ts";
import { TrackerClient } from "../../lib/discovery/tracker_client.ts";
import { hashFile } from "../../lib/storage/file_hash.ts";
import { BandwidthLimiter } from "../../lib/util/bandwidth.ts";
import { PeerLink } from "../../lib/swarm/peer_link.ts";
import { PieceScheduler } from "../../lib/swarm/piece_scheduler.ts";
import { recordingRelay } from "../_wiretap.ts";

const SIZES: [string, number][] = [
  ["empty", 0],
  ["one byte", 1],
  ["exactly one piece", DEFAULT_PIECE_SIZE],
  ["one piece and a byte", DEFAULT_PIECE_SIZE + 1],
  ["50 MiB", 50 * 1024 * 1024],
];

for (const [label, size] of SIZES) {
  Deno.test(`download() round-trips a file of ${label} byte for byte`, async () => {
    await using dir = await tempDir();
    await using tracker = testTracker();
    const source = await randomFile(dir.path, `source ${size}.bin`, size);
    await using node = await sharer(tracker.address, [source]);
    const [meta] = node.shared();
    const out = join(dir.path, "out");
    const result = await download(meta.id, {
      tracker: tracker.address,
      outDir: out,
    });
    assertEquals(result.path, join(out, `source ${size}.bin`));
    assertEquals(await sha256File(result.path), meta.id);
    assertEquals(
      await Deno.readFile(result.path).then((b) => b.length),
      size,
    );
  });
}

Deno.test("download() keeps names with spaces and non-ASCII letters", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "Ünïcödé fïlé 日本 🎉.dat", 3000);
  await using node = await sharer(tracker.address, [source]);
  const [meta] = node.shared();
  const out = join(dir.path, "out");
  const result = await download(meta.id.slice(0, 16), {
    tracker: tracker.address,
    outDir: out,
  });
  assertEquals(result.path, join(out, "Ünïcödé fïlé 日本 🎉.dat"));
  assertEquals(await Deno.readFile(result.path), await Deno.readFile(source));
});

Deno.test("download() takes bytes from at least two of three sharers", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "shared.bin", 16 * 1024 * 1024);
  await using a = await sharer(tracker.address, [source]);
  await using b = await sharer(tracker.address, [source]);
  await using c = await sharer(tracker.address, [source]);
  const id = a.shared()[0].id;
  assertEquals([b.shared()[0].id, c.shared()[0].id], [id, id]);
  const result = await download(id, {
    tracker: tracker.address,
    outDir: join(dir.path, "out"),
  });
  assertEquals(await sha256File(result.path), id);
  assertEquals(result.peers.length, 3);
  const contributors = result.peers.filter((peer) => peer.bytes > 0);
  assert(contributors.length >= 2, JSON.stringify(result.peers));
  // Every byte once, plus at most a few endgame pieces received twice.
  const total = result.peers.reduce((sum, peer) => sum + peer.bytes, 0);
  assert(
    total >= 16 * 1024 * 1024 && total <= (16 + 4) * 1024 * 1024,
    `${total} bytes received`,
  );
});

Deno.test("download() rejects bad pieces from a sharer whose file changed and finishes from a good one", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const size = 4 * 1024 * 1024;
  const good = await randomFile(dir.path, "good.bin", size);
  const badDir = join(dir.path, "bad");
  await Deno.mkdir(badDir);
  const bad = join(badDir, "good.bin");
  await Deno.copyFile(good, bad);
  await using honest = await sharer(tracker.address, [good]);
  await using _liar = await sharer(tracker.address, [bad]);
  const id = honest.shared()[0].id;
  // Same size, different bytes, mtime put back: the sharer cannot tell.
  const { mtime } = await Deno.stat(bad);
  await randomFile(badDir, "good.bin", size);
  await Deno.utime(bad, mtime!, mtime!);
  const logs: string[] = [];
  const result = await download(id, {
    tracker: tracker.address,
    outDir: join(dir.path, "out"),
    log: (line) => logs.push(line),
  });
  assertEquals(await sha256File(result.path), id);
  assert(logs.some((line) => line.includes("bad copy")), logs.join("\n"));
});

Deno.test("download() fails cleanly when the only sharer serves bad bytes", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const size = 1024 * 1024;
  const path = await randomFile(dir.path, "only.bin", size);
  await using liar = await sharer(tracker.address, [path]);
  const id = liar.shared()[0].id;
  const { mtime } = await Deno.stat(path);
  await randomFile(dir.path, "only.bin", size);
  await Deno.utime(path, mtime!, mtime!);
  const out = join(dir.path, "out");
  await assertRejects(
    () => download(id, { tracker: tracker.address, outDir: out }),
    DownloadError,
    "no good peer left",
  );
  await assertRejects(
    () => Deno.stat(join(out, "only.bin")),
    Deno.errors.NotFound,
  );
});

Deno.test("download() says so when the tracker does not know the ID", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  await assertRejects(
    () =>
      download("0123456789abcdef", {
        tracker: tracker.address,
        outDir: dir.path,
      }),
    DownloadError,
    "No file with ID",
  );
});

Deno.test("download() does not wait on a stalled peer: the others fetch its pieces", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "stall.bin", 4 * 1024 * 1024);
  await using honest = await sharer(tracker.address, [source]);
  const meta = honest.shared()[0];
  // A peer that welcomes, answers two requests, then goes silent for good.
  await using staller = await twoPiecePeer(source, meta, tracker.address, {
    then: "hang",
  });
  const logs: string[] = [];
  const result = await download(meta.id, {
    tracker: tracker.address,
    outDir: join(dir.path, "out"),
    log: (line) => logs.push(line),
  });
  assertEquals(await sha256File(result.path), meta.id);
  await staller.done;
});

Deno.test("a link held back by its download limit longer than the stall timeout is not taken for stalled", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "slow.bin", 1024 * 1024);
  await using node = await sharer(tracker.address, [source]);
  const meta = node.shared()[0];
  const count = pieceCount(meta.size, meta.pieceSize);
  const scheduler = new PieceScheduler(count);
  // One 256 KiB piece every ~0.6 s, against a 300 ms stall timeout.
  using limiter = new BandwidthLimiter(400 * 1024);
  const link = new PeerLink({ host: "127.0.0.1", port: node.address.port }, {
    id: meta.id,
    pieces: count,
    pieceSize: meta.pieceSize,
    scheduler,
    stallMs: 300,
    limiter,
    onPiece: (index) => {
      scheduler.complete(index);
      return true;
    },
  });
  await link.run();
  assertEquals(link.failure, undefined);
  assert(scheduler.finished);
});

Deno.test("a link to a peer that goes silent ends as stalled and gives its pieces back", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "stall.bin", 1024 * 1024);
  const meta = { ...await hashFile(source), name: "stall.bin" };
  await using staller = await twoPiecePeer(source, meta, tracker.address, {
    then: "hang",
  });
  const count = pieceCount(meta.size, meta.pieceSize);
  const scheduler = new PieceScheduler(count);
  const got: number[] = [];
  const link = new PeerLink({ host: "127.0.0.1", port: staller.port }, {
    id: meta.id,
    pieces: count,
    pieceSize: meta.pieceSize,
    scheduler,
    inFlight: 3,
    stallMs: 300,
    onPiece: (index) => {
      got.push(index);
      scheduler.complete(index);
      return true;
    },
  });
  await link.run();
  assert(link.failure?.startsWith("stopped sending"), link.failure);
  assertEquals(got.length, 2);
  // The unanswered requests went back: the other two pieces can be asked for.
  const mine = new Set<number>();
  const rest = [
    scheduler.next(undefined, mine),
    scheduler.next(undefined, mine),
  ];
  assertEquals(
    rest.sort(),
    [0, 1, 2, 3].filter((index) => !got.includes(index)),
  );
});

Deno.test("download() tries the next metadata variant when a liar's comes first", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker("::");
  const trackerV4 = { host: "127.0.0.1", port: tracker.address.port };
  const source = await randomFile(dir.path, "real.bin", 1024 * 1024);
  // The liar registers the real ID first, with wrong piece hashes, from
  // another address (::1) and a port where nobody answers.
  const meta = await hashFile(source);
  const lie = {
    ...meta,
    name: "real.bin",
    pieceHashes: meta.pieceHashes.map((b) => b ^ 1),
  };
  const liar = await TrackerClient.connect({
    host: "::1",
    port: tracker.address.port,
  });
  try {
    await liar.register(lie, 9);
    await using honest = await sharer(trackerV4, [source]);
    const logs: string[] = [];
    const result = await download(meta.id, {
      tracker: trackerV4,
      outDir: join(dir.path, "out"),
      log: (line) => logs.push(line),
    });
    assertEquals(await sha256File(result.path), meta.id);
    assertEquals(result.peers.map((p) => p.address), [
      `127.0.0.1:${honest.address.port}`,
    ]);
    assert(logs.some((line) => line.includes("next variant")), logs.join("\n"));
  } finally {
    liar.close();
  }
});

Deno.test("download() stops at once when cancelled while the tracker has not answered", async () => {
  await using dir = await tempDir();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const stop = new AbortController();
  const pending = download("0123456789abcdef", {
    tracker: { host: "127.0.0.1", port: listener.addr.port },
    outDir: dir.path,
    signal: stop.signal,
  });
  using conn = await accepted;
  const started = performance.now();
  stop.abort();
  await assertRejects(() => pending);
  assert(performance.now() - started < 500, "stopped promptly");
  assert(stop.signal.aborted && conn !== undefined);
});

Deno.test("download() saves a file whose name from the network is a path inside --out, under a safe name", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker("::");
  const trackerV4 = { host: "127.0.0.1", port: tracker.address.port };
  const source = await randomFile(dir.path, "plain.bin", 40_000);
  const meta = await hashFile(source);
  // The first registration names the file; a different name alone is no
  // conflict, so this one sticks.
  const namer = await TrackerClient.connect({
    host: "::1",
    port: tracker.address.port,
  });
  try {
    await namer.register({ ...meta, name: "../../etc/\u001b[2Jpasswd" }, 9);
    await using _honest = await sharer(trackerV4, [source]);
    const out = join(dir.path, "deep", "out");
    const result = await download(meta.id, { tracker: trackerV4, outDir: out });
    assertEquals(result.path, join(out, ".._.._etc__[2Jpasswd"));
    assertEquals(await Deno.readFile(result.path), await Deno.readFile(source));
    assertEquals(
      [...Deno.readDirSync(join(dir.path, "deep"))].map((e) => e.name),
      ["out"],
    );
  } finally {
    namer.close();
  }
});

Deno.test("download() finishes from the other sharer when one dies mid-transfer", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "die.bin", 4 * 1024 * 1024);
  await using honest = await sharer(tracker.address, [source]);
  const meta = honest.shared()[0];
  // A peer that serves two pieces, then drops the connection (as a killed
  // process would) with requests outstanding.
  await using dying = await twoPiecePeer(source, meta, tracker.address, {
    then: "close",
  });
  const logs: string[] = [];
  const result = await download(meta.id, {
    tracker: tracker.address,
    outDir: join(dir.path, "out"),
    log: (line) => logs.push(line),
  });
  await dying.done;
  assertEquals(await sha256File(result.path), meta.id);
  const died = result.peers.find((p) =>
    p.address === `127.0.0.1:${dying.port}`
  );
  assert(
    died !== undefined && died.bytes <= 2 * meta.pieceSize,
    JSON.stringify(result.peers),
  );
  // Whether it died before the honest sharer finished is a race; if it
  // did, the log says so.
  assert(
    logs.filter((line) => line.startsWith("Dropped peer")).every((line) =>
      !line.includes(`${dying.port}`) || line.includes("closed the connection")
    ),
    logs.join("\n"),
  );
});

/**
 * A peer registered for `meta` that welcomes one downloader, answers two of
 * its requests from `source`, then hangs (keeps the connection, says
 * nothing) or closes the connection.
 */
async function twoPiecePeer(
  source: string,
  meta: FileMeta,
  tracker: Address,
  options: { then: "hang" | "close" },
): Promise<AsyncDisposable & { port: number; done: Promise<void> }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let conn: Connection | undefined;
  const done = (async () => {
    const raw = await listener.accept();
    conn = new Connection(raw, {}, await secureAccept(raw));
    await conn.receive();
    await conn.send({
      type: "welcome",
      id: meta.id,
      pieces: pieceCount(meta.size, meta.pieceSize),
    });
    const bytes = await Deno.readFile(source);
    for (let answered = 0; answered < 2;) {
      const message = await conn.receive();
      if (message?.type !== "request") continue;
      const start = message.index * meta.pieceSize;
      await conn.send({
        type: "piece",
        index: message.index,
        data: bytes.subarray(start, start + meta.pieceSize),
      });
      answered++;
    }
    if (options.then === "close") conn.close();
  })().catch(() => {});
  // Registered for as long as this peer lives: the tracker drops a
  // registration when the connection that made it closes.
  const client = await TrackerClient.connect(tracker);
  try {
    await client.register(meta, listener.addr.port);
  } catch (error) {
    client.close();
    throw error;
  }
  return {
    port: listener.addr.port,
    done,
    [Symbol.asyncDispose]: async () => {
      client.close();
      conn?.close();
      listener.close();
      await done;
    },
  };
}

Deno.test("download() keeps one connection to a sharer found at two addresses, and counts it once", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "twice.bin", 3 * 1024 * 1024);
  await using node = await sharer(tracker.address, [source]);
  const [meta] = node.shared();
  // The same sharer at a second address, as the LAN would find it.
  await using relay = recordingRelay(node.address);
  const lan = {
    find: (_key: string, onPeer: (address: Address) => void) => {
      onPeer(relay.address);
      return { [Symbol.dispose]() {} };
    },
  };
  const lines: string[] = [];
  const result = await download(meta.id, {
    tracker: tracker.address,
    outDir: join(dir.path, "out"),
    lan,
    log: (line) => lines.push(line),
  });
  assertEquals(await sha256File(result.path), meta.id);
  assertEquals(result.peers.length, 1, JSON.stringify(result.peers));
  assertEquals(result.peers[0].bytes, meta.size);
  assert(
    lines.some((line) =>
      / at another address: keeping one connection/.test(line)
    ),
    lines.join("\n"),
  );
});

Deno.test("download() says at once when no tracker can be asked while the LAN goes on looking, and fails with the tracker's error and the LAN's when the wait ends", async () => {
  await using dir = await tempDir();
  const gone = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tracker = { host: "127.0.0.1", port: gone.addr.port };
  gone.close();
  // A LAN on which nobody answers.
  const lan = {
    find: () => ({ [Symbol.dispose]() {} }),
  };
  const started = performance.now();
  let toldAfter: number | undefined;
  let told: unknown;
  const error = await assertRejects(() =>
    download("ab".repeat(32), {
      tracker,
      outDir: join(dir.path, "out"),
      lan,
      waitMs: 1_500,
      onTrackersDown: (why) => {
        told = why;
        toldAfter = performance.now() - started;
      },
    })
  );
  assert(
    toldAfter !== undefined && toldAfter < 1_000,
    `told after ${toldAfter}`,
  );
  assertEquals(
    (error as Error).message,
    `${(told as Error).message} Nobody on the local network has the file.`,
  );
  assert(
    /^Cannot reach tracker at 127\.0\.0\.1:\d+: connection refused/.test(
      (error as Error).message,
    ),
    (error as Error).message,
  );
});
