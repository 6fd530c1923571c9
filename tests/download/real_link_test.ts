/**
 * Downloads over an emulated real link (scripts/netlab.ts): the getter in
 * one network namespace, the tracker and sharers in another, a router with
 * delay, a rate limit and a firewall-like black hole between them. Skipped,
 * with the reason, where labs cannot be made (not root, tools missing).
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, requiring, sha256File, tempDir } from "../fixtures.ts";
import type { RunResult } from "../../scripts/_child.ts";
import { NetLab, netlabAvailable } from "../../scripts/netlab.ts";
import { startLabSharer, startLabTracker } from "../_lab_peers.ts";
import {
  CONNECT_TIMEOUT_MS,
  PEER_STALL_TIMEOUT_MS,
} from "../../lib/protocol/limits.ts";

const MiB = 1024 * 1024;
const unavailable = await netlabAvailable();

/** A test that needs a network lab; ignored, saying why, where there is none. */
const labTest = requiring(unavailable);

/** `peer get ID --json` in the getter namespace, saving into `out`. */
function getFile(
  lab: NetLab,
  id: string,
  tracker: string,
  out: string,
  extra: string[] = [],
): Promise<RunResult> {
  return lab.runEntry("getter", "peer.ts", [
    "get",
    id,
    "--json",
    "--tracker",
    tracker,
    "--host",
    lab.host("getter"),
    "--out",
    out,
    ...extra,
  ], { timeoutMs: 60_000 });
}

interface GetReport {
  path: string;
  elapsedMs: number;
  peers: { address: string; bytes: number; error?: string }[];
}

function report(result: RunResult): GetReport {
  // The result is the first line; --verbose events follow it.
  return JSON.parse(result.stdout.split("\n")[0]);
}

labTest(
  "peer get completes from 3 sharers behind a 1 Mbit/s, 40 ms link, though the piece takes longer than the stall time, and drops none",
  async () => {
    await using dir = await tempDir();
    const file = await randomFile(dir.path, "slow.bin", MiB);
    // One 1 MiB piece: at most ~120 KB/s come through, so the piece takes
    // 9 s or more from any sharer, however the scheduler spreads it (two
    // copies at once halve that), well over PEER_STALL_TIMEOUT_MS (5 s)
    // while its bytes keep coming.
    await using lab = await NetLab.create({
      link: { rttMs: 40, rateBitsPerSecond: 1_000_000, queueBytes: 30_000 },
    });
    const tracker = await startLabTracker(lab);
    const sharers = [];
    for (let i = 0; i < 3; i++) {
      sharers.push(
        await startLabSharer(lab, file, tracker, ["--piece-size", "1M"]),
      );
    }
    const result = await getFile(
      lab,
      sharers[0].id,
      tracker,
      join(dir.path, "out"),
      ["--verbose"],
    );
    assertEquals(result.code, 0, result.stderr);
    const got = report(result);
    assertEquals(await sha256File(got.path), sharers[0].id);
    // A peer dropped and linked again would end without an error in --json;
    // --verbose says every drop.
    assert(!/Dropped peer/.test(result.stderr), result.stderr);
    assertEquals(got.peers.filter((peer) => peer.error), [], result.stdout);
    assertEquals(
      got.peers.map((peer) => peer.address).sort(),
      sharers.map((sharer) => sharer.address).sort(),
    );
    assert(got.elapsedMs > PEER_STALL_TIMEOUT_MS, `took ${got.elapsedMs} ms`);
    const stats = await lab.stats();
    assert(stats.toGetter.bytes > MiB, JSON.stringify(stats));
  },
);

labTest(
  "a connect pending to a black-holed sharer does not hold up the end of a finished download",
  async () => {
    await using dir = await tempDir();
    const file = await randomFile(dir.path, "small.bin", 200_000);
    await using lab = await NetLab.create({ link: { rttMs: 40 } });
    const tracker = await startLabTracker(lab);
    const good = await startLabSharer(lab, file, tracker);
    const hidden = await startLabSharer(lab, file, tracker);
    await lab.blackhole("sharer", hidden.port);
    const result = await getFile(lab, good.id, tracker, join(dir.path, "out"));
    assertEquals(result.code, 0, result.stderr);
    const got = report(result);
    assertEquals(await sha256File(got.path), good.id);
    // The get did try the black-holed sharer, and got nothing from it...
    const tried = got.peers.find((peer) => peer.address === hidden.address);
    assertEquals(tried?.bytes, 0, result.stdout);
    // ...and ended without waiting for that connect to time out.
    assert(
      got.elapsedMs < CONNECT_TIMEOUT_MS - 1_000,
      `took ${got.elapsedMs} ms, close to the ${CONNECT_TIMEOUT_MS} ms connect timeout`,
    );
  },
);

labTest(
  "a get whose only sharer is black-holed fails saying the sharer could not be reached, maybe behind a firewall or NAT",
  async () => {
    await using dir = await tempDir();
    const file = await randomFile(dir.path, "hidden.bin", 100_000);
    await using lab = await NetLab.create({ link: { rttMs: 40 } });
    // With the tracker's relay the get would go around the black hole
    // (tests/nat/ test that); this is the failure without one.
    const tracker = await startLabTracker(lab, ["--no-relay"]);
    const hidden = await startLabSharer(lab, file, tracker);
    await lab.blackhole("sharer", hidden.port);
    const result = await getFile(
      lab,
      hidden.id,
      tracker,
      join(dir.path, "out"),
      ["--wait", "0"],
    );
    assert(result.code !== 0, result.stdout);
    assert(
      result.stderr.includes(
        `${hidden.address} could not be reached (connecting timed out): the sharer may be behind a firewall or NAT`,
      ),
      result.stderr,
    );
  },
);
