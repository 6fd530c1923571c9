/**
 * The announcer with private files beside public ones, against a real
 * tracker on 127.0.0.1 port 0: it keeps both kinds registered past the
 * TTL, registers both again after the tracker restarts, and withdraws them
 * on `remove()` and `close()`.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import { Announcer } from "../../lib/discovery/announcer.ts";
import {
  TrackerClient,
  TrackerError,
} from "../../lib/discovery/tracker_client.ts";
import type { Address } from "../../lib/net/connection.ts";
import { HASH_BYTES, MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import type { FileMeta, SealedFile } from "../../lib/protocol/messages.ts";
import { encodeSealedMeta } from "../../lib/protocol/sealed_meta.ts";
import { deriveShareKeys, sealMetadata } from "../../lib/secure/share_keys.ts";
import {
  startTracker,
  type TrackerOptions,
  type TrackerServer,
} from "../../lib/tracker/server.ts";

const LOCAL = "127.0.0.1";

/** A file whose ID starts with `prefix`. */
function meta(prefix: string, name = "file.bin"): FileMeta {
  return {
    id: (prefix + "0".repeat(64)).slice(0, 64),
    name,
    size: 2 * MIN_PIECE_SIZE,
    pieceSize: MIN_PIECE_SIZE,
    pieceHashes: new Uint8Array(2 * HASH_BYTES).fill(7),
  };
}

/** `file` shared privately under secret `seed`, as the tracker gets it. */
function sealed(seed: number, file = meta("ee", "private.bin")): SealedFile {
  const keys = deriveShareKeys(new Uint8Array(32).fill(seed));
  return {
    lookup: keys.lookupKey,
    blob: sealMetadata(keys.metadataKey, encodeSealedMeta(file)),
  };
}

/** A tracker on 127.0.0.1 (port 0 unless given), closed on dispose. */
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

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An announcer for port 6000 of `address` renewing every `intervalMs`, and its log. */
function logged(
  address: Address,
  intervalMs: number,
): { announcer: Announcer; lines: string[] } {
  const lines: string[] = [];
  const announcer = new Announcer({
    tracker: address,
    port: 6000,
    intervalMs,
    log: (line) => lines.push(line),
  });
  return { announcer, lines };
}

/** Polls `check` until it returns true; fails after `ms`. */
async function eventually(
  check: () => Promise<boolean>,
  ms = 3_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await delay(20);
  }
  throw new Error(`Condition not met within ${ms} ms`);
}

/** The ports holding the private file under `lookup`; none if unknown. */
async function holders(c: TrackerClient, lookup: string): Promise<number[]> {
  try {
    return (await c.querySealed(lookup)).peers.map((p) => p.port);
  } catch (error) {
    if (error instanceof TrackerError && error.code === "not-found") return [];
    throw error;
  }
}

Deno.test("Announcer keeps private and public files registered past the TTL, and remove() with a lookup key unregisters one", async () => {
  await using server = tracker({ ttlMs: 150, sweepMs: 20 });
  const announcer = new Announcer({
    tracker: server.address,
    port: 6000,
    intervalMs: 40,
  });
  const one = sealed(1);
  const two = sealed(2);
  try {
    await announcer.add(meta("aa"));
    await announcer.add(one);
    await announcer.add(two, { partial: true });
    await delay(400);
    using c = await client(server.address);
    assertEquals(await holders(c, one.lookup), [6000]);
    assertEquals((await c.querySealed(two.lookup)).partial, 1);
    assertEquals(server.stats().registrations, 1);
    assertEquals(server.stats().privateFiles, 2);
    await announcer.remove(one.lookup);
    assertEquals(await holders(c, one.lookup), []);
    assertEquals(server.stats().privateFiles, 1);
  } finally {
    await announcer.close();
  }
  assertEquals(server.stats().privateFiles, 0);
  assertEquals(server.stats().registrations, 0);
});

Deno.test("Announcer registers a private file again by itself after the tracker restarts, with the same blob and still partial", async () => {
  const file = sealed(3);
  const first = tracker();
  const address = first.address;
  const { announcer, lines } = logged(address, 50);
  try {
    await announcer.add(file, { partial: true });
    await announcer.add(meta("bb", "public.bin"));
    await first.close();
    await delay(120);
    await using _second = tracker({ port: address.port });
    using c = await client(address);
    await eventually(async () => (await holders(c, file.lookup)).length === 1);
    const answer = await c.querySealed(file.lookup);
    assertEquals(answer.blob, file.blob);
    assertEquals(answer.partial, 1);
    await eventually(async () => (await c.list()).length === 1);
    assert(
      lines.some((line) =>
        line ===
          `Registered a private file again with ${LOCAL}:${address.port}.`
      ),
      lines.join("\n"),
    );
    assert(
      !lines.some((line) => line.includes(file.lookup)),
      "a log line names the lookup key",
    );
    await announcer.close();
    assertEquals(await holders(c, file.lookup), []);
  } finally {
    await announcer.close();
    await first.close();
  }
});

Deno.test("Announcer.add() of a private file the tracker refuses rejects, and keeps nothing to renew", async () => {
  await using server = tracker({
    quotas: { sealed: { maxRegistrationsPerHost: 1 } },
  });
  const announcer = new Announcer({
    tracker: server.address,
    port: 6000,
    intervalMs: 40,
  });
  try {
    await announcer.add(sealed(4));
    let refused: unknown;
    await announcer.add(sealed(5)).catch((error) => refused = error);
    assert(refused instanceof TrackerError, String(refused));
    assertEquals(refused.code, "busy");
    await delay(150);
    assertEquals(server.stats().privateFiles, 1);
  } finally {
    await announcer.close();
  }
});

Deno.test("Announcer registers again within half an interval once the tracker's connection closes, not at the next interval", async () => {
  const intervalMs = 6_000;
  const first = tracker();
  const address = first.address;
  const { announcer, lines } = logged(address, intervalMs);
  try {
    await announcer.add(meta("cc", "soon.bin"));
    // The tracker restarts (on the same port) just after the add: the next
    // interval is ~6 s away.
    await first.close();
    const restarted = performance.now();
    await using _second = tracker({ port: address.port });
    using c = await client(address);
    await eventually(async () => (await c.list()).length === 1, intervalMs);
    const took = performance.now() - restarted;
    // From RECONNECT_AFTER_MS to half the interval, plus the round trips.
    assert(took < intervalMs / 2 + 1_000, `registered again after ${took} ms`);
    assert(
      lines.some((line) => line.startsWith("Lost the connection to tracker")),
      lines.join("\n"),
    );
  } finally {
    await announcer.close();
    await first.close();
  }
});
