/**
 * The endgame end to end: a real `peer get` process fetching from several
 * sharers asks a second sharer for a piece only when that is worth it, so
 * each piece crosses the wire about once. Counted at the sharers (what
 * they wrote to their sockets: a copy that loses the race costs that
 * much, read or not) and by the get (`--json` peers' bytes). On loopback
 * with a download limit, and behind an emulated 20 Mbit/s line (skipped
 * where network labs cannot be made).
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import {
  pollUntil,
  randomFile,
  requiring,
  sha256File,
  sharer,
  tempDir,
  testTracker,
} from "../fixtures.ts";
import { READY_TIMEOUT_MS, runEntry } from "../../scripts/_child.ts";
import { NetLab, netlabAvailable } from "../../scripts/netlab.ts";
import { startLabSharer, startLabTracker } from "../_lab_peers.ts";
import { formatAddress } from "../../lib/net/connection.ts";
import type { PeerNode } from "../../lib/app/peer_node.ts";
import { DEFAULT_PIECE_SIZE } from "../../lib/protocol/limits.ts";

const MiB = 1024 * 1024;
/** The file: 12 pieces, so every piece is asked for at once by 3 sharers' links. */
const SIZE = 3 * MiB;

interface GetAnswer {
  path: string;
  elapsedMs: number;
  peers: { address: string; bytes: number }[];
}

/** Piece bytes the get says it received, from everyone. */
function received(answer: GetAnswer): number {
  return answer.peers.reduce((sum, peer) => sum + peer.bytes, 0);
}

/** Waits until no sharer is serving anybody; their piece bytes written. */
async function sentBy(nodes: PeerNode[]): Promise<number> {
  await pollUntil(
    5_000,
    () => Promise.resolve(nodes.every((n) => n.downloaders().length === 0)),
  );
  return nodes.reduce((sum, node) => sum + node.uploaded, 0);
}

Deno.test("a get from three sharers through a 4M download limit has each piece sent once: no piece on its way from one as fast is asked of another", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const file = await randomFile(dir.path, "endgame.bin", SIZE);
  await using a = await sharer(tracker.address, [file]);
  await using b = await sharer(tracker.address, [file]);
  await using c = await sharer(tracker.address, [file]);
  const [meta] = a.shared();
  const run = await runEntry("peer.ts", [
    "get",
    meta.id,
    "--json",
    "--tracker",
    formatAddress(tracker.address),
    "--out",
    join(dir.path, "out"),
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--wait",
    "0",
    // The links share 4 MiB/s: each piece takes them about as long.
    "--download-limit",
    "4M",
  ], { timeoutMs: READY_TIMEOUT_MS });
  assertEquals(run.code, 0, run.stderr);
  const answer: GetAnswer = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
  assertEquals(await sha256File(answer.path), meta.id);
  assertEquals(answer.peers.filter((peer) => peer.bytes > 0).length, 3);
  const sent = await sentBy([a, b, c]);
  // One piece of slack, for a sharer a busy machine holds up for long.
  assert(
    sent >= SIZE && sent <= SIZE + DEFAULT_PIECE_SIZE,
    `the sharers sent ${(sent / SIZE).toFixed(3)} times the file`,
  );
  assert(
    received(answer) <= SIZE + DEFAULT_PIECE_SIZE,
    `the get received ${(received(answer) / SIZE).toFixed(3)} times the file`,
  );
});

/** A test that needs a network lab; ignored, saying why, where there is none. */
const labTest = requiring(await netlabAvailable());

/**
 * IP bytes the lab's line delivered to the getter since `before`: the
 * bytes that reached it, less the share of packets its queue dropped
 * (resent, they are counted again).
 */
async function deliveredSince(
  lab: NetLab,
  before: Awaited<ReturnType<NetLab["stats"]>>["toGetter"],
): Promise<number> {
  const after = (await lab.stats()).toGetter;
  const packets = after.packets - before.packets;
  return (after.bytes - before.bytes) * (after.delivered - before.delivered) /
    packets;
}

labTest(
  "three sharers behind one 20 Mbit/s, 40 ms line: the line carries each piece of a get once",
  async () => {
    await using dir = await tempDir();
    const file = await randomFile(dir.path, "line.bin", SIZE);
    await using lab = await NetLab.create({
      link: { rttMs: 40, rateBitsPerSecond: 20_000_000 },
    });
    const tracker = await startLabTracker(lab);
    let id = "";
    for (let i = 0; i < 3; i++) {
      id = (await startLabSharer(lab, file, tracker)).id;
    }
    const before = (await lab.stats()).toGetter;
    const run = await lab.runEntry("getter", "peer.ts", [
      "get",
      id,
      "--json",
      "--tracker",
      tracker,
      "--host",
      lab.host("getter"),
      "--out",
      join(dir.path, "out"),
      "--wait",
      "0",
    ], { timeoutMs: 60_000 });
    assertEquals(run.code, 0, run.stderr);
    const answer: GetAnswer = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
    assertEquals(await sha256File(answer.path), id);
    // What a get from one sharer takes (headers, encryption, the
    // tracker's answer) is 3.8% over the file; doubled pieces made it
    // 9-18% over with three.
    const carried = await deliveredSince(lab, before) / SIZE;
    assert(
      carried < 1.06,
      `the line carried ${carried.toFixed(3)} times the file`,
    );
  },
);
