/**
 * Registrations go with the connection that made them: a sharer killed
 * without unregistering drops out of answers at once, one that vanishes
 * without closing still expires, and one renewed over a newer connection
 * survives the old one's close. Also: answers tell whole copies and partial
 * holders apart. In memory with an injected clock, then over the wire, then
 * with real `tracker.ts` and `peer.ts` processes.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import { pollUntil, randomFile, tempDir } from "../fixtures.ts";
import { runEntry, spawnSharer, spawnTracker } from "../../scripts/_child.ts";
import { Announcer } from "../../lib/discovery/announcer.ts";
import {
  TrackerClient,
  TrackerError,
} from "../../lib/discovery/tracker_client.ts";
import { type Address, formatAddress } from "../../lib/net/connection.ts";
import { parseAddress } from "../../lib/net/address.ts";
import { HASH_BYTES, MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import type {
  FileMeta,
  FileSummary,
  PeerAddress,
} from "../../lib/protocol/messages.ts";
import {
  startTracker,
  type TrackerOptions,
  type TrackerServer,
} from "../../lib/tracker/server.ts";
import { RegistryError, TrackerService } from "../../lib/tracker/service.ts";

const TTL = 1_000;
const LOCAL = "127.0.0.1";
const ALICE: PeerAddress = { host: "10.0.0.1", port: 6000 };
const BOB: PeerAddress = { host: "10.0.0.2", port: 6000 };
const CAROL: PeerAddress = { host: "10.0.0.3", port: 6000 };
/** How soon a closed connection's registrations must be gone. */
const PROMPT_MS = 1_000;

/** A file of `pieces` pieces whose ID starts with `prefix`. */
function meta(prefix: string, name = "file.bin", pieces = 2): FileMeta {
  return {
    id: (prefix + "0".repeat(64)).slice(0, 64),
    name,
    size: pieces * MIN_PIECE_SIZE,
    pieceSize: MIN_PIECE_SIZE,
    pieceHashes: new Uint8Array(pieces * HASH_BYTES).fill(pieces),
  };
}

/** A registry on a clock the test moves by hand. */
function registry() {
  const clock = { now: 0 };
  const service = new TrackerService({
    ttlMs: TTL,
    now: () => clock.now,
    maxRegistrationsPerHost: 1_000_000,
  });
  return { service, clock };
}

/** Who the registry lists for `id`, as sorted `host:port`; none if it knows no such file. */
function holders(service: TrackerService, id: string): string[] {
  try {
    return service.query(id).peers.map((p) => `${p.host}:${p.port}`).sort();
  } catch (error) {
    if (error instanceof RegistryError && error.code === "not-found") {
      return [];
    }
    throw error;
  }
}

// --- The registry -------------------------------------------------------

Deno.test("closeSession() drops at once what that session registered, and nothing else", () => {
  const { service } = registry();
  const one = meta("aa");
  const two = meta("bb");
  const alice = service.openSession();
  const bob = service.openSession();
  service.register(one, ALICE, { session: alice });
  service.register(two, ALICE, { session: alice });
  service.register(one, BOB, { session: bob });
  // Through the API with no session: only expiry or unregister remove it.
  service.register(two, CAROL);
  assertEquals(service.stats().registrations, 4);

  assertEquals(service.closeSession(alice), 2);
  assertEquals(holders(service, one.id), ["10.0.0.2:6000"]);
  assertEquals(holders(service, two.id), ["10.0.0.3:6000"]);
  assertEquals(service.closeSession(alice), 0, "a second close drops nothing");
  assertEquals(service.closeSession(bob), 1);
  assertEquals(holders(service, one.id), []);
  assertEquals(service.stats(), { files: 1, peers: 1, registrations: 1 });
});

Deno.test("a registration renewed over a newer session survives the old session's close; the newest owner's close drops it", () => {
  const { service } = registry();
  const file = meta("aa");
  const old = service.openSession();
  service.register(file, ALICE, { session: old });
  // The peer reconnected and renewed over a new connection.
  const renewed = service.openSession();
  assertEquals(service.announce([file.id], ALICE, { session: renewed }), []);
  assertEquals(service.closeSession(old), 0);
  assertEquals(holders(service, file.id), ["10.0.0.1:6000"]);
  assertEquals(service.closeSession(renewed), 1);
  assertEquals(holders(service, file.id), []);

  // Renewed by register as well; and whoever renewed last owns it.
  const a = service.openSession();
  const b = service.openSession();
  service.register(file, ALICE, { session: a });
  service.register(file, ALICE, { session: b });
  service.announce([file.id], ALICE, { session: a });
  assertEquals(service.closeSession(b), 0);
  assertEquals(holders(service, file.id), ["10.0.0.1:6000"]);
  assertEquals(service.closeSession(a), 1);
});

Deno.test("a registration whose session never closes still expires by TTL, and its reused slot is safe from that session's close", () => {
  const { service, clock } = registry();
  const file = meta("aa");
  const vanished = service.openSession();
  service.register(file, ALICE, { session: vanished });
  clock.now += TTL / 2;
  assertEquals(holders(service, file.id), ["10.0.0.1:6000"]);
  clock.now += TTL;
  assertEquals(holders(service, file.id), [], "expired although still open");
  assertEquals(service.sweep() + service.stats().registrations, 0);
  // The freed slot goes to someone else's registration...
  const other = service.openSession();
  service.register(file, BOB, { session: other });
  // ... which the vanished peer's late close must not take with it.
  assertEquals(service.closeSession(vanished), 0);
  assertEquals(holders(service, file.id), ["10.0.0.2:6000"]);
  // A session that ended takes no more: this one lives until it expires.
  service.register(meta("cc"), CAROL, { session: vanished });
  assertEquals(service.closeSession(vanished), 0);
  assertEquals(holders(service, meta("cc").id), ["10.0.0.3:6000"]);
});

Deno.test("a session that registers and unregisters 100,000 times keeps a short list and drops what it holds once", () => {
  const { service } = registry();
  const session = service.openSession();
  const files = [meta("aa"), meta("bb"), meta("cc")];
  for (let i = 0; i < 100_000; i++) {
    const file = files[i % 3];
    service.register(file, ALICE, { session });
    if (i % 3 !== 2) service.unregister(file.id, ALICE);
  }
  assert(session.listed <= 16, `${session.listed} slots listed`);
  assertEquals(service.closeSession(session), 1);
  assertEquals(service.stats().registrations, 0);
});

Deno.test("closing a session of 100,000 registrations among 1,000,000 is quick and costs a few bytes each", () => {
  const { service } = registry();
  const before = isolateMiB();
  const sessions = Array.from({ length: 10 }, () => service.openSession());
  const pieceHashes = new Uint8Array(HASH_BYTES);
  for (let f = 0; f < 100_000; f++) {
    const file = {
      id: f.toString(16).padStart(8, "0") + "5eed".repeat(14),
      name: `f${f}`,
      size: 1,
      pieceSize: MIN_PIECE_SIZE,
      pieceHashes,
    };
    for (let h = 0; h < 10; h++) {
      service.register(file, { host: `10.1.0.${h}`, port: 6000 }, {
        session: sessions[h],
        partial: h % 2 === 1,
      });
    }
  }
  const grown = isolateMiB() - before;
  // About 64 MiB measured; owner, flag and session list are ~10 bytes of it
  // per registration.
  assert(grown < 150, `memory grew ${grown.toFixed(0)} MiB`);
  for (const session of sessions) {
    assert(session.listed <= 2 * 100_000, `${session.listed} slots listed`);
  }
  const started = performance.now();
  assertEquals(service.closeSession(sessions[3]), 100_000);
  const ms = performance.now() - started;
  assert(ms < 500, `closing took ${ms.toFixed(0)} ms`);
  assertEquals(service.stats().registrations, 900_000);
  assertEquals(service.list()[0].peers, 9);
  assertEquals(service.list()[0].partial, 4);
  console.log(
    `1,000,000 registrations in 10 sessions: +${
      grown.toFixed(0)
    } MiB; closing one of 100,000 took ${ms.toFixed(1)} ms`,
  );
});

Deno.test("list and search count partial holders apart from whole copies", () => {
  const { service, clock } = registry();
  const file = meta("aa", "report.pdf");
  service.register(file, ALICE);
  service.register(file, BOB, { partial: true });
  clock.now += TTL / 2;
  service.register(file, CAROL, { partial: true });
  const summary = (): FileSummary => service.search("report")[0];
  assertEquals(summary().peers, 3);
  assertEquals(summary().partial, 2);
  // A getter that finished and seeds registers again, whole.
  service.register(file, BOB);
  assertEquals([summary().peers, summary().partial], [3, 1]);
  // Renewing keeps what it is.
  service.announce([file.id], CAROL);
  assertEquals(service.list()[0].partial, 1);
  clock.now += TTL * 0.75;
  // ALICE expired; BOB (renewed) and CAROL remain.
  assertEquals([summary().peers, summary().partial], [2, 1]);
});

// --- Over the wire ------------------------------------------------------

/** A tracker on 127.0.0.1 port 0, closed on dispose. */
function tracker(
  options: TrackerOptions = {},
): TrackerServer & AsyncDisposable {
  const server = startTracker({ host: LOCAL, port: 0, ...options });
  return Object.assign(server, {
    [Symbol.asyncDispose]: () => server.close(),
  });
}

/** A client of `address`, closed on dispose. */
async function client(address: Address): Promise<TrackerClient & Disposable> {
  const c = await TrackerClient.connect(address);
  return Object.assign(c, { [Symbol.dispose]: () => c.close() });
}

/** The ports the tracker lists for `id` (none if it knows no such file). */
async function listedPorts(c: TrackerClient, id: string): Promise<number[]> {
  try {
    return (await c.query(id)).peers.map((p) => p.port).sort();
  } catch (error) {
    if (error instanceof TrackerError && error.code === "not-found") return [];
    throw error;
  }
}

Deno.test("the tracker drops a registration as soon as the connection that made it closes", async () => {
  await using server = tracker();
  const file = meta("aa");
  using asker = await client(server.address);
  const sharer = await client(server.address);
  await sharer.register(file, 6001);
  await sharer.register(meta("bb"), 6001);
  using stays = await client(server.address);
  await stays.register(file, 6002);
  assertEquals(await listedPorts(asker, file.id), [6001, 6002]);

  sharer.close();
  const ms = await pollUntil(PROMPT_MS, async () => {
    return (await listedPorts(asker, file.id)).length === 1;
  });
  assertEquals(await listedPorts(asker, file.id), [6002]);
  assertEquals(await listedPorts(asker, meta("bb").id), []);
  assertEquals(server.stats().registrations, 1);
  assert(ms < PROMPT_MS, `${ms} ms`);
});

Deno.test("a registration renewed over a new connection survives the old connection's close", async () => {
  await using server = tracker();
  const file = meta("aa");
  using asker = await client(server.address);
  const old = await client(server.address);
  await old.register(file, 6000);
  // The same peer (same address and port) renews over a new connection,
  // as an announcer does after reconnecting.
  using renewed = await client(server.address);
  assertEquals(await renewed.announce([file.id], 6000), []);
  old.close();
  await pollUntil(PROMPT_MS, () => Promise.resolve(server.connections === 2));
  assertEquals(await listedPorts(asker, file.id), [6000]);
  // And a second registration made by the new connection's register.
  const older = await client(server.address);
  await older.register(file, 6001);
  await renewed.register(file, 6001);
  older.close();
  await pollUntil(PROMPT_MS, () => Promise.resolve(server.connections === 2));
  assertEquals(await listedPorts(asker, file.id), [6000, 6001]);

  renewed.close();
  await pollUntil(PROMPT_MS, async () => {
    return (await listedPorts(asker, file.id)).length === 0;
  });
});

Deno.test("a peer that keeps its connection open but stops renewing still expires by TTL", async () => {
  await using server = tracker({ ttlMs: 300, sweepMs: 50 });
  const file = meta("aa");
  using silent = await client(server.address);
  await silent.register(file, 6000);
  using asker = await client(server.address);
  assertEquals(await listedPorts(asker, file.id), [6000]);
  const ms = await pollUntil(3_000, async () => {
    return (await listedPorts(asker, file.id)).length === 0;
  });
  assert(ms >= 150, `gone after ${ms} ms, before its TTL`);
  assertEquals(server.connections, 2, "the silent connection is still open");
  assertEquals(await silent.announce([file.id], 6000), [file.id]);
});

Deno.test("list and search over the wire show whole copies and partial holders apart", async () => {
  await using server = tracker();
  const file = meta("aa", "report.pdf");
  using c = await client(server.address);
  await c.register(file, 6001);
  await c.register(file, 6002, { partial: true });
  await c.register(file, 6003, { partial: true });
  assertEquals(await c.list(), [
    { id: file.id, name: file.name, size: file.size, peers: 3, partial: 2 },
  ]);
  await c.register(file, 6002);
  assertEquals((await c.search("REPORT"))[0].partial, 1);
});

Deno.test("Announcer registers a partial holder as such, keeps it so when it registers again, and add() again makes it whole", async () => {
  const file = meta("bb", "getting.bin");
  const first = tracker();
  const address = first.address;
  const announcer = new Announcer({
    tracker: address,
    port: 6000,
    intervalMs: 50,
  });
  try {
    await announcer.add(file, { partial: true });
    {
      using c = await client(address);
      assertEquals((await c.list())[0].partial, 1);
    }
    await first.close();
    await using _second = tracker({ port: address.port });
    using c = await client(address);
    await pollUntil(3_000, async () => (await c.list()).length === 1);
    assertEquals((await c.list())[0].partial, 1);
    await announcer.add(file);
    assertEquals(
      (await c.list()).map((f) => [f.peers, f.partial]),
      [[1, 0]],
    );
    await announcer.close();
    await pollUntil(PROMPT_MS, async () => (await c.list()).length === 0);
  } finally {
    await announcer.close();
    await first.close();
  }
});

Deno.test("peer list prints sharers and getters apart, and --json keeps peers with partial beside it", async () => {
  await using server = tracker();
  const file = meta("cc", "film.mkv");
  using c = await client(server.address);
  await c.register(file, 6001);
  await c.register(file, 6002);
  for (const port of [6003, 6004, 6005]) {
    await c.register(file, port, { partial: true });
  }
  const where = formatAddress(server.address);
  const table = await runEntry("peer.ts", ["list", "--tracker", where]);
  assertEquals(table.code, 0, table.stderr);
  const row = table.stdout.split("\n").find((line) => line.includes("film"));
  assert(row?.includes("2 sharers, 3 getting"), table.stdout);
  const json = await runEntry("peer.ts", [
    "list",
    "--json",
    "--tracker",
    where,
  ]);
  assertEquals(json.code, 0, json.stderr);
  assertEquals(JSON.parse(json.stdout).files, [
    { id: file.id, name: file.name, size: file.size, peers: 5, partial: 3 },
  ]);
});

// --- Real processes -----------------------------------------------------

Deno.test("a sharer process killed with SIGKILL is gone from the tracker's answers and peer list within a second", async () => {
  await using dir = await tempDir();
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const file = await randomFile(dir.path, "killed.bin", 300_000);
  const sharer = await spawnSharer(file, tracker.address);
  await using _sharer = sharer.child;
  using asker = await client(parseAddress(tracker.address, 0));
  assertEquals((await asker.query(sharer.id)).peers.length, 1);

  // No unregister, no goodbye: the kernel closes its sockets.
  const killed = performance.now();
  await sharer.child.stop("SIGKILL");
  await pollUntil(PROMPT_MS + 500, async () => {
    return (await listedPorts(asker, sharer.id)).length === 0;
  });
  const ms = performance.now() - killed;
  assert(ms < PROMPT_MS, `still listed ${ms.toFixed(0)} ms after the kill`);
  const list = await runEntry("peer.ts", [
    "list",
    "--json",
    "--tracker",
    tracker.address,
  ]);
  assertEquals(list.code, 0, list.stderr);
  assertEquals(JSON.parse(list.stdout).files, []);
  const search = await runEntry("peer.ts", [
    "search",
    "killed",
    "--tracker",
    tracker.address,
  ]);
  assertEquals(search.stdout.trim(), "No files.", search.stderr);
});

function isolateMiB(): number {
  const usage = Deno.memoryUsage();
  return (usage.heapUsed + usage.external) / (1024 * 1024);
}
