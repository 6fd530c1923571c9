/**
 * Private (sealed) files in the tracker's registry, in memory with an
 * injected clock: a lookup key holds one opaque blob and its peers, public
 * answers never reach it, and it lives, is renewed and goes as public
 * registrations do, within quotas of its own.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  HASH_BYTES,
  MAX_PEERS_PER_ANSWER,
  MAX_SEALED_BLOB_BYTES,
  MIN_PIECE_SIZE,
  MIN_SEALED_BLOB_BYTES,
} from "../../lib/protocol/limits.ts";
import type {
  FileMeta,
  PeerAddress,
  SealedFile,
} from "../../lib/protocol/messages.ts";
import { encodeSealedMeta } from "../../lib/protocol/sealed_meta.ts";
import {
  deriveShareKeys,
  openMetadata,
  sealMetadata,
} from "../../lib/secure/share_keys.ts";
import {
  MAX_PORTS_PER_HOST_PER_FILE,
  RegistryError,
  TrackerService,
  type TrackerServiceOptions,
} from "../../lib/tracker/service.ts";

const TTL = 1_000;
const ALICE: PeerAddress = { host: "10.0.0.1", port: 6000 };
const BOB: PeerAddress = { host: "10.0.0.2", port: 6000 };

/** A file of `pieces` pieces whose ID starts with `prefix`. */
function meta(prefix: string, name = "secret plans.pdf", pieces = 2): FileMeta {
  return {
    id: (prefix + "0".repeat(64)).slice(0, 64),
    name,
    size: pieces * MIN_PIECE_SIZE,
    pieceSize: MIN_PIECE_SIZE,
    pieceHashes: new Uint8Array(pieces * HASH_BYTES).fill(pieces),
  };
}

/** `file` shared privately under secret `seed`: what reaches the tracker, and the key that opens it. */
function sealed(seed: number, file = meta("aa")) {
  const keys = deriveShareKeys(new Uint8Array(32).fill(seed));
  const entry: SealedFile = {
    lookup: keys.lookupKey,
    blob: sealMetadata(keys.metadataKey, encodeSealedMeta(file)),
  };
  return { ...entry, metadataKey: keys.metadataKey };
}

/** A registry on a clock the test moves by hand. */
function registry(options: TrackerServiceOptions = {}) {
  const clock = { now: 0 };
  const service = new TrackerService({
    ttlMs: TTL,
    now: () => clock.now,
    ...options,
  });
  return { service, clock };
}

function code(fn: () => unknown): string {
  const error = assertThrows(fn, RegistryError);
  return (error as RegistryError).code;
}

/** Who holds the private file under `lookup`, as `host:port`; none if unknown. */
function holders(service: TrackerService, lookup: string): string[] {
  try {
    return service.querySealed(lookup).peers.map((p) => `${p.host}:${p.port}`)
      .sort();
  } catch (error) {
    if (error instanceof RegistryError && error.code === "not-found") {
      return [];
    }
    throw error;
  }
}

Deno.test("querySealed() returns the blob registered under a lookup key and its peers, freshest first", () => {
  const { service, clock } = registry();
  const file = sealed(1);
  service.registerSealed(file, ALICE);
  clock.now += 10;
  service.registerSealed(file, BOB, { partial: true });
  const answer = service.querySealed(file.lookup);
  assertEquals(answer.blob, file.blob);
  assertEquals(answer.peers, [BOB, ALICE]);
  assertEquals(answer.partial, 1);
  assertEquals(openMetadata(file.metadataKey, answer.blob).length > 0, true);
});

Deno.test("the first blob under a lookup is kept; a later one joins as a peer, and the next blob is kept once the lookup is empty", () => {
  const { service } = registry();
  const first = sealed(1);
  // The same link sealed again: a fresh nonce, so other bytes.
  const again = sealed(1);
  assert(first.blob.some((byte, i) => byte !== again.blob[i]));
  const alice = service.openSession();
  service.registerSealed(first, ALICE, { session: alice });
  service.registerSealed(again, BOB);
  assertEquals(service.querySealed(first.lookup).blob, first.blob);
  assertEquals(holders(service, first.lookup), [
    "10.0.0.1:6000",
    "10.0.0.2:6000",
  ]);
  service.unregister(first.lookup, BOB);
  service.closeSession(alice);
  assertEquals(holders(service, first.lookup), []);
  service.registerSealed(again, BOB);
  assertEquals(service.querySealed(first.lookup).blob, again.blob);
});

Deno.test("the registry keeps its own copy of a blob", () => {
  const { service } = registry();
  const file = sealed(1);
  const blob = file.blob.slice();
  service.registerSealed({ lookup: file.lookup, blob }, ALICE);
  blob.fill(0);
  assertEquals(service.querySealed(file.lookup).blob, file.blob);
});

Deno.test("list, search and query by ID or prefix never reach a private file", () => {
  const { service } = registry();
  const secret = meta("cd", "private report.pdf");
  const file = sealed(1, secret);
  service.registerSealed(file, ALICE);
  // A lookup key is shaped like an ID, but is not one to `query`.
  for (const id of [file.lookup, file.lookup.slice(0, 16), secret.id]) {
    assertEquals(code(() => service.query(id)), "not-found", id);
  }
  assertEquals(service.list(), []);
  assertEquals(service.search(""), []);
  assertEquals(service.search("private"), []);
  assertEquals(service.stats(), { files: 0, peers: 0, registrations: 0 });
  assertEquals(service.privateFiles(), 1);
  // And a public file beside it is listed alone.
  service.register(meta("ab", "public.txt"), ALICE);
  assertEquals(service.list().map((f) => f.name), ["public.txt"]);
  assertEquals(service.stats().files, 1);
  assertEquals(service.privateFiles(), 1);
});

Deno.test("querySealed() needs the whole lookup key: a prefix or another key is not-found", () => {
  const { service } = registry();
  const file = sealed(1);
  service.registerSealed(file, ALICE);
  for (const lookup of [file.lookup.slice(0, 16), sealed(2).lookup, ""]) {
    assertEquals(code(() => service.querySealed(lookup)), "not-found");
  }
});

Deno.test("closeSession() drops the private registrations of that session with its public ones, and no other", () => {
  const { service } = registry();
  const one = sealed(1);
  const two = sealed(2);
  const alice = service.openSession();
  const bob = service.openSession();
  service.registerSealed(one, ALICE, { session: alice });
  service.registerSealed(two, ALICE, { session: alice });
  service.register(meta("aa"), ALICE, { session: alice });
  service.registerSealed(one, BOB, { session: bob });
  assertEquals(service.closeSession(alice), 3);
  assertEquals(holders(service, one.lookup), ["10.0.0.2:6000"]);
  assertEquals(holders(service, two.lookup), []);
  assertEquals(service.privateFiles(), 1);
  assertEquals(service.closeSession(alice), 0, "a second close drops nothing");
  assertEquals(service.closeSession(bob), 1);
  assertEquals(service.privateFiles(), 0);
});

Deno.test("a private registration renewed over a newer session survives the old session's close", () => {
  const { service } = registry();
  const file = sealed(1);
  const old = service.openSession();
  service.registerSealed(file, ALICE, { session: old });
  const renewed = service.openSession();
  assertEquals(
    service.announce([file.lookup], ALICE, { session: renewed }),
    [],
  );
  assertEquals(service.closeSession(old), 0);
  assertEquals(holders(service, file.lookup), ["10.0.0.1:6000"]);
  assertEquals(service.closeSession(renewed), 1);
  assertEquals(holders(service, file.lookup), []);
});

Deno.test("a private registration expires without announce, announce renews it, and unregister removes it", () => {
  const { service, clock } = registry();
  const kept = sealed(1);
  const lapsed = sealed(2);
  service.registerSealed(kept, ALICE, { partial: true });
  service.registerSealed(lapsed, ALICE);
  clock.now += TTL * 0.75;
  assertEquals(service.announce([kept.lookup], ALICE), []);
  clock.now += TTL * 0.5;
  assertEquals(holders(service, kept.lookup), ["10.0.0.1:6000"]);
  assertEquals(holders(service, lapsed.lookup), []);
  assertEquals(
    service.querySealed(kept.lookup).partial,
    1,
    "announce keeps partial",
  );
  assertEquals(service.announce([lapsed.lookup, kept.lookup], ALICE), [
    lapsed.lookup,
  ]);
  // Another port or host has nothing to renew.
  assertEquals(service.announce([kept.lookup], { ...ALICE, port: 1 }), [
    kept.lookup,
  ]);
  assertEquals(service.announce([kept.lookup], BOB), [kept.lookup]);
  service.unregister(kept.lookup, ALICE);
  assertEquals(holders(service, kept.lookup), []);
  clock.now += TTL * 2;
  assertEquals(service.sweep(), 0, "the lapsed one went when asked for");
});

Deno.test("sweep() forgets expired private registrations and their blobs", () => {
  const { service, clock } = registry({
    sealed: { maxBytes: 2 * sealed(1).blob.length },
  });
  service.registerSealed(sealed(1), ALICE);
  service.registerSealed(sealed(2), BOB);
  assertEquals(code(() => service.registerSealed(sealed(3), BOB)), "busy");
  clock.now += TTL;
  assertEquals(service.sweep(), 2);
  assertEquals(service.privateFiles(), 0);
  // Their bytes are free again.
  service.registerSealed(sealed(3), BOB);
});

Deno.test("announce and unregister act on a file and a private file registered under the same string", () => {
  const { service, clock } = registry();
  const file = sealed(1);
  const twin = { ...meta("00"), id: file.lookup };
  service.register(twin, ALICE);
  service.registerSealed(file, ALICE);
  clock.now += TTL * 0.75;
  assertEquals(service.announce([file.lookup], ALICE), []);
  clock.now += TTL * 0.5;
  assertEquals(service.query(twin.id).peers, [ALICE]);
  assertEquals(holders(service, file.lookup), ["10.0.0.1:6000"]);
  service.unregister(file.lookup, ALICE);
  assertEquals(code(() => service.query(twin.id)), "not-found");
  assertEquals(holders(service, file.lookup), []);
});

Deno.test("registerSealed() refuses a malformed lookup key and a blob of the wrong size", () => {
  const { service } = registry();
  const file = sealed(1);
  for (const lookup of ["", file.lookup.slice(1), file.lookup.toUpperCase()]) {
    assertEquals(
      code(() => service.registerSealed({ ...file, lookup }, ALICE)),
      "bad-request",
    );
  }
  for (
    const length of [0, MIN_SEALED_BLOB_BYTES - 1, MAX_SEALED_BLOB_BYTES + 1]
  ) {
    const blob = new Uint8Array(length);
    assertEquals(
      code(() => service.registerSealed({ ...file, blob }, ALICE)),
      "bad-request",
      `${length} bytes`,
    );
  }
  assertEquals(service.privateFiles(), 0);
});

/** A registration to make: a private file (by secret seed), who, and which port. */
type Step = [seed: number, peer: PeerAddress];

Deno.test("private quotas refuse with busy and one sentence: per host, in total, ports per lookup, blob bytes", () => {
  const size = sealed(1).blob.length;
  const at = (port: number) => ({ ...ALICE, port });
  // Every step but the last is accepted; the last is refused.
  const cases: [string, TrackerServiceOptions, Step[]][] = [
    ["registrations per host", { sealed: { maxRegistrationsPerHost: 2 } }, [
      [1, ALICE],
      [2, ALICE],
      [3, BOB],
      [3, ALICE],
    ]],
    ["registrations in total", { sealed: { maxRegistrations: 2 } }, [
      [1, ALICE],
      [1, BOB],
      [2, BOB],
    ]],
    ["ports per lookup", { maxPortsPerHostPerFile: 2 }, [
      [1, at(1)],
      [1, at(2)],
      [2, at(3)],
      [1, at(3)],
    ]],
    // Joining a lookup whose blob another host paid for costs nothing.
    ["blob bytes per host", { sealed: { maxBytesPerHost: 2 * size } }, [
      [1, ALICE],
      [2, ALICE],
      [3, BOB],
      [3, ALICE],
      [4, ALICE],
    ]],
    ["blob bytes in total", { sealed: { maxBytes: 2 * size } }, [
      [1, ALICE],
      [2, BOB],
      [1, BOB],
      [3, BOB],
    ]],
  ];
  for (const [what, options, steps] of cases) {
    const { service } = registry(options);
    const last = steps.pop()!;
    for (const [seed, peer] of steps) {
      service.registerSealed(sealed(seed), peer);
    }
    const error = assertThrows(
      () => service.registerSealed(sealed(last[0]), last[1]),
      RegistryError,
    );
    assertEquals((error as RegistryError).code, "busy", what);
    assert(
      /^The tracker is holding all the private registrations it allows from [\d.]+; try again later\.$/
        .test(error.message),
      error.message,
    );
    // Renewing what it holds is never refused.
    const [seed, peer] = steps[0];
    service.registerSealed(sealed(seed), peer);
  }
  assert(MAX_PORTS_PER_HOST_PER_FILE > 2);
});

Deno.test("a private answer lists at most MAX_PEERS_PER_ANSWER peers", () => {
  const { service } = registry();
  const file = sealed(1);
  for (let i = 0; i < MAX_PEERS_PER_ANSWER + 50; i++) {
    service.registerSealed(file, {
      host: `10.1.${i >> 8}.${i & 255}`,
      port: 1,
    });
  }
  assertEquals(
    service.querySealed(file.lookup).peers.length,
    MAX_PEERS_PER_ANSWER,
  );
});
