/**
 * One tracker for a whole community (#22), with real sockets: crowds of
 * simulated peers (`scripts/_crowd.ts`), each with its own encrypted
 * connection from a loopback address of its own or behind one shared
 * address, against a real `tracker.ts` process (or the server in-process
 * where a test lowers its caps); honest `peer` processes and clients are
 * served meanwhile. Tests that need more open files than this process may
 * have are skipped with a message.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import {
  pollUntil,
  randomFile,
  sha256File,
  tempDir,
  within,
} from "../fixtures.ts";
import {
  type Child,
  READY_TIMEOUT_MS,
  runEntry,
  spawnEntry,
  spawnSharer,
  spawnTracker,
} from "../../scripts/_child.ts";
import {
  Crowd,
  crowdHost,
  halfOpen,
  randomMeta,
} from "../../scripts/_crowd.ts";
import { openFileLimit } from "../../scripts/_crowd_fleet.ts";
import { Latencies } from "../../scripts/_latency.ts";
import type { Address } from "../../lib/net/connection.ts";
import { parseAddress } from "../../lib/net/address.ts";
import { TrackerClient } from "../../lib/discovery/tracker_client.ts";
import { Announcer } from "../../lib/discovery/announcer.ts";
import { startTracker } from "../../lib/tracker/server.ts";

/** Open files a test needs beyond its sockets (Deno, children, files). */
const SPARE_FDS = 512;
/** An honest request under load is answered within this. */
const HONEST_MS = 2_000;
/** The short announce interval of the restart test. */
const RESTART_ANNOUNCE_MS = 2_000;

/** Deno.test options that skip, with a line saying why, when fds are short. */
function needsFds(fds: number): { ignore: boolean } {
  const limit = openFileLimit();
  const ignore = limit < fds + SPARE_FDS;
  if (ignore) {
    console.log(
      `Skipped: needs ${fds + SPARE_FDS} open files, the limit is ${limit}.`,
    );
  }
  return { ignore };
}

/** A client of the tracker at `address` from 127.0.0.1, closed on dispose. */
async function honest(address: Address): Promise<TrackerClient & Disposable> {
  const c = await TrackerClient.connect(address);
  return Object.assign(c, { [Symbol.dispose]: () => c.close() });
}

/** A crowd, closed on dispose. */
async function crowd(
  options: Parameters<typeof Crowd.open>[0],
): Promise<Crowd & Disposable> {
  const c = await Crowd.open(options);
  return Object.assign(c, { [Symbol.dispose]: () => c.close() });
}

/** Ms `work` took; fails past `bound`. */
async function timed(
  what: string,
  bound: number,
  work: () => Promise<unknown>,
): Promise<number> {
  const started = performance.now();
  await within(work(), bound, what);
  return performance.now() - started;
}

/** A tracker process on 127.0.0.1 and its address. */
async function trackerProcess(): Promise<
  { child: Child; address: Address } & AsyncDisposable
> {
  const { child, address } = await spawnTracker();
  return {
    child,
    address: parseAddress(address, 0),
    [Symbol.asyncDispose]: async () => void await child.stop(),
  };
}

Deno.test({
  name:
    "2,000 peers from 2,000 addresses stay connected while a real share, get and list are served",
  ...needsFds(2 * 2_000),
  fn: async () => {
    await using dir = await tempDir();
    await using tracker = await trackerProcess();
    using peers = await crowd({ tracker: tracker.address, peers: 2_000 });
    assertEquals(peers.stats().failed, 0, JSON.stringify(peers.stats().errors));
    assertEquals(peers.open, 2_000);
    using asker = await honest(tracker.address);
    const stats = await asker.stats();
    assertEquals(stats.registrations, peers.stats().files);
    assert(stats.peers >= 2_000, `${stats.peers} peers`);

    const file = await randomFile(dir.path, "honest-sharer.bin", 1_000_000);
    const sharer = await spawnSharer(file, `127.0.0.1:${tracker.address.port}`);
    await using _sharer = sharer.child;
    const where = `127.0.0.1:${tracker.address.port}`;
    const get = await runEntry("peer.ts", [
      "get",
      sharer.id,
      "--tracker",
      where,
      "--out",
      `${dir.path}/out`,
      "--host",
      "127.0.0.1",
    ], { timeoutMs: 30_000 });
    assertEquals(get.code, 0, get.stderr);
    assertEquals(
      await sha256File(`${dir.path}/out/honest-sharer.bin`),
      sharer.id,
    );
    const list = await runEntry("peer.ts", ["list", "--tracker", where]);
    assertEquals(list.code, 0, list.stderr);
    assert(list.stdout.includes("crowd-"), list.stdout.slice(0, 200));
    const search = await runEntry("peer.ts", [
      "search",
      "honest-sharer",
      "--tracker",
      where,
    ]);
    assertEquals(search.code, 0, search.stderr);
    assert(search.stdout.includes("honest-sharer.bin"), search.stdout);
    // Still all there: nobody was pushed out to make room.
    assertEquals(peers.open, 2_000);
    assertEquals(peers.stats().failures, 0);
  },
});

Deno.test({
  name: "1,000 peers behind one address are all registered and answered",
  ...needsFds(2 * 1_000),
  fn: async () => {
    await using tracker = await trackerProcess();
    using peers = await crowd({
      tracker: tracker.address,
      peers: 1_000,
      addresses: 1,
      firstAddress: 1_000,
    });
    assertEquals(peers.stats().failed, 0, JSON.stringify(peers.stats().errors));
    assertEquals(peers.open, 1_000);
    using asker = await honest(tracker.address);
    const stats = await asker.stats();
    assertEquals(stats.registrations, peers.stats().files);
    // Told apart by port, as the peers behind one NAT are.
    assertEquals(stats.peers, 1_000);
    const ids = peers.ids();
    for (let i = 0; i < 20; i++) {
      const id = ids[Math.floor(Math.random() * ids.length)];
      const answer = await asker.query(id);
      assertEquals(answer.peers.length, 1);
      assertEquals(answer.peers[0].host, crowdHost(1_000));
    }
  },
});

/** Idle (handshake done) and half-open connections from 8 addresses. */
async function flood(address: Address): Promise<{
  idle: Crowd;
  raw: { destroy(): void }[];
  [Symbol.dispose](): void;
}> {
  const idle = await Crowd.open({
    tracker: address,
    peers: 600,
    addresses: 8,
    firstAddress: 2_000,
    files: [0, 0],
    tries: 1,
    openAtOncePerAddress: 8,
  });
  const raw = (await Promise.all(
    Array.from(
      { length: 8 },
      (_, a) => halfOpen(address, crowdHost(2_000 + a), 40),
    ),
  )).flat();
  return {
    idle,
    raw,
    [Symbol.dispose]: () => {
      idle.close();
      for (const socket of raw) socket.destroy();
    },
  };
}

/** An honest client registers, queries and lists, each within HONEST_MS; their latencies. */
async function honestRound(address: Address): Promise<Latencies> {
  const latencies = new Latencies();
  using c = await within(honest(address), HONEST_MS, "connecting");
  const meta = randomMeta("honest.bin");
  latencies.add(
    await timed("register", HONEST_MS, () => c.register(meta, 6000)),
  );
  for (let i = 0; i < 10; i++) {
    latencies.add(
      await timed("query", HONEST_MS, async () => {
        assertEquals((await c.query(meta.id)).peers.length, 1);
      }),
    );
  }
  latencies.add(await timed("list", HONEST_MS, () => c.list()));
  return latencies;
}

Deno.test({
  name:
    "600 idle and 320 half-open connections from 8 addresses leave an honest client answered promptly",
  ...needsFds(2 * 1_000),
  fn: async () => {
    await using tracker = await trackerProcess();
    using attack = await flood(tracker.address);
    assert(attack.idle.open > 0, JSON.stringify(attack.idle.stats().errors));
    const latencies = await honestRound(tracker.address);
    const { p50, max } = latencies.summary();
    console.log(
      `${attack.idle.open} idle + ${attack.raw.length} half-open attackers: honest p50 ${
        p50.toFixed(1)
      } ms, max ${max.toFixed(1)} ms`,
    );
  },
});

Deno.test({
  name:
    "a tracker full of 8 addresses' connections still admits and answers a newcomer from another address",
  ...needsFds(2 * 1_000),
  fn: async () => {
    const server = startTracker({
      host: "127.0.0.1",
      port: 0,
      maxConnections: 512,
    });
    try {
      using attack = await flood(server.address);
      assert(server.connections <= 512, `${server.connections} connections`);
      await honestRound(server.address);
      // A second newcomer too, from yet another address.
      const second = await Crowd.open({
        tracker: server.address,
        peers: 1,
        firstAddress: 3_000,
        tries: 1,
      });
      try {
        assertEquals(second.open, 1, JSON.stringify(second.stats().errors));
      } finally {
        second.close();
      }
      assert(attack.idle.open < 600, "the full tracker took every attacker");
    } finally {
      await server.close();
    }
  },
});

/**
 * A free port on 127.0.0.1 below the ephemeral range (0 if there is no
 * room below it), as a tracker's fixed port would be. With a port from
 * that range, one of the 500 peers
 * reconnecting to the killed tracker may be given the same port as its own
 * and connect to itself (TCP simultaneous open), holding the port until it
 * gives up: CI saw "it is in use" for longer than RESTART_RETRY_MS.
 */
function portBelowEphemeral(): number {
  let first = 32_768;
  try {
    const range = "/proc/sys/net/ipv4/ip_local_port_range";
    first = Number(Deno.readTextFileSync(range).trim().split(/\s+/)[0]);
  } catch {
    // Not Linux: its usual range starts higher still.
  }
  const below = Math.min(first, 32_768);
  // A range reaching down this far leaves no room below it: any port then,
  // and trackerAt's retries.
  if (below < 11_000) return 0;
  for (let tries = 0; tries < 100; tries++) {
    const port = 10_000 + Math.floor(Math.random() * (below - 10_000));
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch {
      // Taken: another.
    }
  }
  throw new Error("no free port below the ephemeral range");
}

/** `tracker.ts` on 127.0.0.1 at `port` (0: any), once it listens. */
async function trackerAt(
  port: number,
): Promise<{ child: Child; port: number }> {
  // Something else may hold the port for a moment (as an operator's
  // restart script would, try again).
  const deadline = performance.now() + RESTART_RETRY_MS;
  for (;;) {
    const child = spawnEntry("tracker.ts", [
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
    ]);
    try {
      const line = await Promise.race([
        child.waitForLine(/listening on/, READY_TIMEOUT_MS),
        child.finished().then(() => {
          throw new Error(`tracker exited: ${child.stderr.join(" | ")}`);
        }),
      ]);
      return { child, port: Number(line.slice(line.lastIndexOf(":") + 1)) };
    } catch (error) {
      await child.stop();
      const inUse = child.stderr.some((line) => line.includes("in use"));
      if (!inUse || performance.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** How long a restart on the same port is tried while the port is in use. */
const RESTART_RETRY_MS = 5_000;

Deno.test({
  name:
    "a tracker killed under load and started again on its port is refilled within one announce interval",
  ...needsFds(2 * 500),
  fn: async () => {
    let tracker = await trackerAt(portBelowEphemeral());
    const address = { host: "127.0.0.1", port: tracker.port };
    const announcers: Announcer[] = [];
    try {
      using peers = await crowd({
        tracker: address,
        peers: 500,
        announceMs: RESTART_ANNOUNCE_MS,
      });
      assertEquals(peers.open, 500);
      for (let i = 0; i < 3; i++) {
        const announcer = new Announcer({
          tracker: address,
          port: 7000 + i,
          intervalMs: RESTART_ANNOUNCE_MS,
        });
        announcers.push(announcer);
        await announcer.add(randomMeta(`announcer-${i}.bin`));
      }
      const total = peers.stats().files + announcers.length;
      const count = async () => {
        try {
          using asker = await honest(address);
          return (await asker.stats()).registrations;
        } catch {
          return -1;
        }
      };
      assertEquals(await count(), total);

      await tracker.child.stop("SIGKILL");
      tracker = await trackerAt(address.port);
      const ms = await pollUntil(
        2 * RESTART_ANNOUNCE_MS,
        async () => await count() === total,
      );
      console.log(
        `${total} registrations back ${
          ms.toFixed(0)
        } ms after the restart (announce interval ${RESTART_ANNOUNCE_MS} ms)`,
      );
      assert(
        ms <= RESTART_ANNOUNCE_MS + 1_000,
        `refilled in ${ms.toFixed(0)} ms`,
      );
      assert(peers.stats().reconnects >= 500, JSON.stringify(peers.stats()));
    } finally {
      await Promise.all(announcers.map((a) => a.close()));
      await tracker.child.stop();
    }
  },
});
