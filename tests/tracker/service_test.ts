/**
 * The tracker registry in memory, with an injected clock: registration,
 * expiry, prefix lookup, metadata variants, search, quotas and answer caps.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  HASH_BYTES,
  MAX_FILES_PER_ANSWER,
  MAX_PEERS_PER_ANSWER,
  MAX_VARIANTS_PER_FILE,
  MIN_PIECE_SIZE,
} from "../../lib/protocol/limits.ts";
import type { FileMeta, PeerAddress } from "../../lib/protocol/messages.ts";
import {
  MAX_PORTS_PER_HOST_PER_FILE,
  MAX_REGISTRATIONS_PER_HOST,
  RegistryError,
  TrackerService,
} from "../../lib/tracker/service.ts";

const TTL = 1_000;
const ALICE: PeerAddress = { host: "10.0.0.1", port: 6000 };
const BOB: PeerAddress = { host: "10.0.0.2", port: 6000 };
const CAROL: PeerAddress = { host: "10.0.0.3", port: 6000 };
const DAVE: PeerAddress = { host: "10.0.0.4", port: 6000 };

/** A distinct peer on its own host. */
function host(i: number): PeerAddress {
  return { host: `10.2.${i >> 8}.${i & 255}`, port: 6000 };
}

/** A file of `pieces` pieces whose ID starts with `prefix` (padded to 64 hex). */
function meta(prefix: string, name = "file.bin", pieces = 2): FileMeta {
  const id = (prefix + "0".repeat(64)).slice(0, 64);
  const pieceHashes = new Uint8Array(pieces * HASH_BYTES).fill(pieces);
  return {
    id,
    name,
    size: pieces * MIN_PIECE_SIZE,
    pieceSize: MIN_PIECE_SIZE,
    pieceHashes,
  };
}

/** A registry on a clock the test moves by hand. */
function registry(
  options: ConstructorParameters<typeof TrackerService>[0] = {},
) {
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

Deno.test("TrackerService finds a registered file by full ID and by prefix", () => {
  const { service } = registry();
  const file = meta("ab".repeat(8) + "cd");
  service.register(file, ALICE);
  service.register(file, BOB);
  const full = service.query(file.id);
  assertEquals(full.meta, file);
  assertEquals(full.peers.length, 2);
  assertEquals(service.query(file.id.slice(0, 16)).meta.id, file.id);
  assertEquals(service.stats(), { files: 1, peers: 2, registrations: 2 });
});

Deno.test("TrackerService says not-found, ambiguous and bad-request for bad lookups", () => {
  const { service } = registry();
  const shared = "0123456789abcdef";
  service.register(meta(shared + "1"), ALICE);
  service.register(meta(shared + "2"), ALICE);
  assertEquals(code(() => service.query(shared)), "ambiguous");
  assertEquals(service.query(shared + "1").meta.id, meta(shared + "1").id);
  assertEquals(code(() => service.query("f".repeat(16))), "not-found");
  assertEquals(code(() => service.query("f".repeat(64))), "not-found");
  assertEquals(code(() => service.query("abc")), "bad-request");
  assertEquals(code(() => service.query("../x".repeat(8))), "bad-request");
});

Deno.test("TrackerService forgets registrations that are not renewed", () => {
  const { service, clock } = registry();
  const file = meta("aa");
  service.register(file, ALICE);
  service.register(file, BOB);
  clock.now = TTL / 2;
  assertEquals(service.announce([file.id], ALICE), []);
  clock.now = TTL + 1;
  assertEquals(service.query(file.id).peers, [ALICE]);
  assertEquals(service.stats().registrations, 1);
  assertEquals(service.announce([file.id], BOB), [file.id]);
  clock.now = 2 * TTL;
  assertEquals(service.list(), []);
  assertEquals(service.stats(), { files: 0, peers: 0, registrations: 0 });
  assertEquals(code(() => service.query(file.id)), "not-found");
});

Deno.test("TrackerService sweep() drops expired registrations and empty files", () => {
  const { service, clock } = registry();
  service.register(meta("aa"), ALICE);
  service.register(meta("bb"), ALICE);
  clock.now = TTL / 2;
  service.register(meta("bb"), BOB);
  clock.now = TTL + 1;
  assertEquals(service.sweep(), 2);
  assertEquals(service.sweep(), 0);
  assertEquals(service.list().map((file) => file.id), [meta("bb").id]);
});

Deno.test("TrackerService announce() reports IDs it does not know for that peer", () => {
  const { service } = registry();
  const file = meta("aa");
  service.register(file, ALICE);
  const other = meta("bb");
  assertEquals(service.announce([file.id, other.id], ALICE), [other.id]);
  assertEquals(service.announce([file.id], BOB), [file.id]);
});

Deno.test("TrackerService keeps different metadata for one ID apart as variants, each with its own peers", () => {
  const { service } = registry();
  const file = meta("aa", "a.bin", 2);
  service.register(file, ALICE);
  const wrongHashes = { ...file, pieceHashes: new Uint8Array(2 * HASH_BYTES) };
  service.register(wrongHashes, BOB);
  const wrongSize = { ...file, size: file.size - 1 };
  service.register(wrongSize, CAROL);
  // A different name alone is the same variant: the first name is kept.
  service.register({ ...file, name: "renamed.bin" }, DAVE);
  const first = service.query(file.id);
  assertEquals(first.meta, file);
  assertEquals(first.peers.map((p) => p.host).sort(), [ALICE.host, DAVE.host]);
  assertEquals([first.variant, first.variants], [0, 3]);
  const second = service.query(file.id, 1);
  assertEquals(second.meta.pieceHashes, wrongHashes.pieceHashes);
  assertEquals([second.peers, second.variant], [[BOB], 1]);
  assertEquals(
    service.query(file.id.slice(0, 16), 2).meta.size,
    wrongSize.size,
  );
  assertEquals(code(() => service.query(file.id, 3)), "not-found");
  // list and search show the best supported variant once.
  assertEquals(service.list(), [
    { id: file.id, name: "a.bin", size: file.size, peers: 2, partial: 0 },
  ]);
  assertEquals(service.stats(), { files: 1, peers: 4, registrations: 4 });
});

Deno.test("TrackerService orders variants by live hosts, then peers, then age, and expires each alone", () => {
  const { service, clock } = registry();
  const file = meta("aa");
  const other = { ...file, pieceHashes: new Uint8Array(2 * HASH_BYTES) };
  service.register(file, ALICE);
  service.register(other, BOB);
  assertEquals(service.query(file.id).meta, file, "oldest first on a tie");
  service.register(other, { host: BOB.host, port: 7000 });
  assertEquals(service.query(file.id).meta, other, "more peers first");
  service.register(file, CAROL);
  assertEquals(service.query(file.id).meta, file, "more hosts first");
  clock.now = TTL / 2;
  service.announce([file.id], BOB);
  service.announce([file.id], { host: BOB.host, port: 7000 });
  clock.now = TTL + 1;
  const only = service.query(file.id);
  assertEquals([only.meta, only.variants, only.peers.length], [other, 1, 2]);
});

Deno.test("TrackerService lets one host back only one variant of an ID", () => {
  const { service, clock } = registry();
  const file = meta("aa");
  const wrong = { ...file, pieceHashes: new Uint8Array(2 * HASH_BYTES) };
  service.register(file, ALICE);
  const other = { host: ALICE.host, port: 7000 };
  assertEquals(code(() => service.register(wrong, other)), "conflict");
  assertEquals(service.query(file.id).variants, 1);
  // Once its registration has expired, the host may back another variant.
  clock.now = TTL + 1;
  service.register(wrong, other);
  assertEquals(service.query(file.id).meta.pieceHashes, wrong.pieceHashes);
});

Deno.test("TrackerService never locks an honest sharer out: past the variant cap the least supported gives way", () => {
  const { service } = registry();
  const file = meta("aa");
  service.register(file, ALICE);
  service.register(file, BOB);
  const lies = Array.from({ length: 2 * MAX_VARIANTS_PER_FILE }, (_, i) => ({
    ...file,
    pieceHashes: new Uint8Array(2 * HASH_BYTES).fill(100 + i),
  }));
  lies.forEach((lie, i) => service.register(lie, host(i)));
  const answer = service.query(file.id);
  assertEquals([answer.meta, answer.variants], [file, MAX_VARIANTS_PER_FILE]);
  // A newcomer with honest metadata held by nobody yet still gets in.
  const late = { ...file, pieceSize: 2 * MIN_PIECE_SIZE };
  late.pieceHashes = new Uint8Array(HASH_BYTES);
  service.register(late, CAROL);
  const sizes = Array.from(
    { length: MAX_VARIANTS_PER_FILE },
    (_, i) => service.query(file.id, i).meta.pieceSize,
  );
  assertEquals(sizes.filter((size) => size === late.pieceSize).length, 1);
  assertEquals(service.query(file.id).meta, file);
  assert(service.stats().registrations <= 2 + MAX_VARIANTS_PER_FILE);
});

Deno.test("TrackerService unregister() removes one peer and then the file", () => {
  const { service } = registry();
  const file = meta("aa");
  service.register(file, ALICE);
  service.register(file, BOB);
  service.unregister(file.id, ALICE);
  service.unregister(file.id, ALICE);
  assertEquals(service.query(file.id).peers, [BOB]);
  service.unregister(file.id, BOB);
  assertEquals(code(() => service.query(file.id)), "not-found");
});

Deno.test("TrackerService search() matches names in any Unicode normalization (NFC typed, NFD shared, and back)", () => {
  const { service } = registry();
  const nfd = "e\u0301te\u0301-nfd.txt";
  service.register(meta("aa", nfd), ALICE);
  service.register(meta("bb", "\u00e9t\u00e9-nfc.txt"), ALICE);
  const names = (text: string) =>
    service.search(text).map((file) => file.name).sort();
  assertEquals(names("\u00e9t\u00e9"), [nfd, "\u00e9t\u00e9-nfc.txt"].sort());
  assertEquals(names("e\u0301te\u0301"), [nfd, "\u00e9t\u00e9-nfc.txt"].sort());
  assertEquals(names("\u00e9t\u00e9-nfd"), [nfd]);
});

Deno.test("TrackerService search() finds names holding every word, in any order and case", () => {
  const { service } = registry();
  service.register(meta("aa", "My Notes.txt"), ALICE);
  service.register(meta("bb", "notes-2024.md"), ALICE);
  service.register(meta("cc", "Holiday Photos.zip"), ALICE);
  const names = (text: string) =>
    service.search(text).map((file) => file.name).sort();
  assertEquals(names("my notes"), ["My Notes.txt"]);
  assertEquals(names("notes my"), ["My Notes.txt"]);
  assertEquals(names("  NOTES   my "), ["My Notes.txt"]);
  assertEquals(names("notes"), ["My Notes.txt", "notes-2024.md"]);
  assertEquals(names("2024 notes"), ["notes-2024.md"]);
  assertEquals(names("photos holiday"), ["Holiday Photos.zip"]);
  assertEquals(names("notes missing"), []);
  assertEquals(names(" ").length, 3);
});

Deno.test("TrackerService search() matches names case-insensitively", () => {
  const { service } = registry();
  service.register(meta("aa", "Holiday Photos.zip"), ALICE);
  service.register(meta("bb", "notes.txt"), ALICE);
  service.register(meta("cc", "ÉTÉ photos.tar"), BOB);
  const names = (text: string) =>
    service.search(text).map((file) => file.name).sort();
  assertEquals(names("PHOTOS"), ["Holiday Photos.zip", "ÉTÉ photos.tar"]);
  assertEquals(names("été"), ["ÉTÉ photos.tar"]);
  assertEquals(names("nothing"), []);
  assertEquals(names("").length, 3);
  assertEquals(service.search("notes"), [
    {
      id: meta("bb").id,
      name: "notes.txt",
      size: meta("bb").size,
      peers: 1,
      partial: 0,
    },
  ]);
  assertEquals(code(() => service.search("x".repeat(1000))), "bad-request");
});

Deno.test("TrackerService caps peers and files in one answer", () => {
  const { service } = registry({ maxRegistrationsPerHost: 1_000_000 });
  const file = meta("aa");
  for (let i = 0; i < MAX_PEERS_PER_ANSWER + 50; i++) {
    service.register(file, { host: `10.1.${i >> 8}.${i & 255}`, port: 6000 });
  }
  assertEquals(service.query(file.id).peers.length, MAX_PEERS_PER_ANSWER);
  for (let i = 0; i < MAX_FILES_PER_ANSWER + 10; i++) {
    service.register(meta(i.toString(16).padStart(8, "0"), `f${i}`), ALICE);
  }
  assertEquals(service.list().length, MAX_FILES_PER_ANSWER);
  assertEquals(service.search("f").length, MAX_FILES_PER_ANSWER);
});

Deno.test("TrackerService counts in more the files past the answer cap that it would have shown, and no others", () => {
  const { service, clock } = registry({ maxRegistrationsPerHost: 1_000_000 });
  for (let i = 0; i < MAX_FILES_PER_ANSWER; i++) {
    service.register(meta(i.toString(16).padStart(8, "0"), `f${i}`), ALICE);
  }
  assertEquals(service.list().more, undefined);
  clock.now = TTL / 2;
  const past = (i: number) => meta(`ff${i.toString(16).padStart(6, "0")}`);
  service.register({ ...past(1), name: "f-shown" }, BOB);
  service.register({ ...past(2), name: "f-unlisted" }, BOB, { unlisted: true });
  service.register({ ...past(3), name: "g-other-name" }, BOB);
  // Several variants: the best supported one is listed, so it counts.
  const varied = { ...past(4), name: "f-varied" };
  service.register(varied, BOB);
  service.register({ ...varied, pieceHashes: new Uint8Array(64) }, CAROL);
  service.register({ ...varied, pieceHashes: new Uint8Array(64) }, DAVE);
  assertEquals(service.list().length, MAX_FILES_PER_ANSWER);
  assertEquals(service.list().more, 3);
  assertEquals(service.search("f").more, 2);
  assertEquals(service.search("F-SHOWN").more, undefined);
  assertEquals(service.search("f-shown").length, 1);
  // Once the first 500 expire, the rest are the answer, with nothing more.
  clock.now = TTL + 1;
  assertEquals(service.list().length, 3);
  assertEquals(service.list().more, undefined);
});

Deno.test("TrackerService answers with the freshest peers first", () => {
  const { service, clock } = registry();
  const file = meta("aa");
  service.register(file, ALICE);
  clock.now = 10;
  service.register(file, BOB);
  assertEquals(service.query(file.id).peers, [BOB, ALICE]);
});

Deno.test("TrackerService holds one host to its quotas and leaves others unaffected", () => {
  const { service } = registry({
    maxRegistrationsPerHost: 5,
    maxPortsPerHostPerFile: 2,
  });
  const file = meta("aa");
  service.register(file, { host: ALICE.host, port: 1 });
  service.register(file, { host: ALICE.host, port: 2 });
  assertEquals(
    code(() => service.register(file, { host: ALICE.host, port: 3 })),
    "busy",
  );
  for (let i = 0; i < 3; i++) service.register(meta(`b${i}`), ALICE);
  assertEquals(code(() => service.register(meta("cc"), ALICE)), "busy");
  // Renewing what it holds is not a new registration.
  service.register(meta("b0"), ALICE);
  service.register(meta("cc"), BOB);
  service.unregister(meta("b0").id, ALICE);
  service.register(meta("cc"), ALICE);
  assertEquals(service.query(meta("cc").id).peers.length, 2);
});

Deno.test("TrackerService bounds the piece-hash bytes it holds", () => {
  const { service } = registry({
    maxHashBytesPerHost: 3 * HASH_BYTES,
    maxHashBytes: 4 * HASH_BYTES,
  });
  service.register(meta("aa", "a", 2), ALICE);
  assertEquals(code(() => service.register(meta("bb", "b", 2), ALICE)), "busy");
  service.register(meta("bb", "b", 2), BOB);
  assertEquals(code(() => service.register(meta("cc", "c", 1), BOB)), "busy");
  // Another port for a file the host already holds costs no more bytes.
  service.register(meta("aa", "a", 2), { host: ALICE.host, port: 7000 });
  assert(service.stats().registrations === 3);
});

Deno.test("TrackerService holds one address registering 100,000 IDs to its quota", () => {
  const { service } = registry();
  let busy = 0;
  for (let i = 0; i < 100_000; i++) {
    try {
      service.register(meta(i.toString(16).padStart(8, "0"), "x", 1), ALICE);
    } catch (error) {
      assert(error instanceof RegistryError && error.code === "busy");
      busy++;
    }
  }
  assertEquals(busy, 100_000 - MAX_REGISTRATIONS_PER_HOST);
  assertEquals(service.stats().registrations, MAX_REGISTRATIONS_PER_HOST);
  // Another address is unaffected.
  service.register(meta("ff"), BOB);
  assertEquals(service.query(meta("ff").id).peers, [BOB]);
});

Deno.test("TrackerService caps 10,000 peers of one ID: ports per host, and peers per answer, de-duplicated", () => {
  const { service } = registry({ maxRegistrationsPerHost: 1_000_000 });
  const file = meta("aa");
  let accepted = 0;
  for (let port = 1; port <= 10_000; port++) {
    try {
      service.register(file, { host: ALICE.host, port });
      service.register(file, { host: ALICE.host, port }); // a duplicate
      accepted++;
    } catch (error) {
      assert(error instanceof RegistryError && error.code === "busy");
    }
  }
  assertEquals(accepted, MAX_PORTS_PER_HOST_PER_FILE);
  for (let i = 0; i < 10_000; i++) service.register(file, host(i));
  const peers = service.query(file.id).peers;
  assertEquals(peers.length, MAX_PEERS_PER_ANSWER);
  const distinct = new Set(peers.map((p) => `${p.host}:${p.port}`));
  assertEquals(distinct.size, peers.length);
});

Deno.test("TrackerService tells apart IDs that share their first 8 or 16 hex chars, by full ID and by any prefix", () => {
  const { service } = registry();
  const shared = "abcdef0123456789";
  const files = ["0", "1", "2", "f0", "f1"].map((tail) => meta(shared + tail));
  files.forEach((file, i) => service.register(file, host(i)));
  const lone = meta("abcdef01" + "f".repeat(8));
  service.register(lone, ALICE);
  for (const [i, file] of files.entries()) {
    assertEquals(service.query(file.id).peers, [host(i)]);
  }
  assertEquals(service.query(lone.id.slice(0, 16)).meta.id, lone.id);
  assertEquals(service.query(shared + "1").meta.id, files[1].id);
  // An odd number of chars: "abc…f" matches f0 and f1.
  assertEquals(code(() => service.query(shared + "f")), "ambiguous");
  assertEquals(service.query(shared + "f1").meta.id, files[4].id);
  assertEquals(code(() => service.query(shared + "3")), "not-found");
  // Removing one from the middle of the chain leaves the others findable.
  service.unregister(files[2].id, host(2));
  assertEquals(code(() => service.query(files[2].id)), "not-found");
  assertEquals(service.query(files[3].id).peers, [host(3)]);
  service.unregister(files[0].id, host(0));
  assertEquals(service.query(shared + "1").meta.id, files[1].id);
  assertEquals(
    service.list().map((file) => file.id).sort(),
    [
      files[1].id,
      files[3].id,
      files[4].id,
      lone.id,
    ].sort(),
  );
});

Deno.test("TrackerService keeps ports and conflicts per host right in a variant with hundreds of peers", () => {
  const { service } = registry({ maxPortsPerHostPerFile: 3 });
  const file = meta("aa");
  // Ports of each host registered far apart, so their runs must be kept together.
  for (let port = 1; port <= 3; port++) {
    for (let i = 0; i < 100; i++) service.register(file, { ...host(i), port });
  }
  assertEquals(service.stats(), { files: 1, peers: 300, registrations: 300 });
  assertEquals(
    code(() => service.register(file, { ...host(7), port: 4 })),
    "busy",
  );
  const wrong = { ...file, pieceHashes: new Uint8Array(2 * HASH_BYTES) };
  assertEquals(
    code(() => service.register(wrong, { ...host(7), port: 9 })),
    "conflict",
  );
  // Freeing one port of host 7 lets it take another.
  service.unregister(file.id, { ...host(7), port: 2 });
  service.register(file, { ...host(7), port: 4 });
  assertEquals(service.announce([file.id], { ...host(7), port: 2 }), [
    file.id,
  ]);
  assertEquals(service.announce([file.id], { ...host(7), port: 4 }), []);
  // Down to a handful of peers (the per-variant map goes), then up again.
  for (let i = 0; i < 99; i++) {
    for (let port = 1; port <= 4; port++) {
      service.unregister(file.id, { ...host(i), port });
    }
  }
  assertEquals(service.stats(), { files: 1, peers: 3, registrations: 3 });
  assertEquals(
    code(() => service.register(file, { ...host(99), port: 4 })),
    "busy",
  );
  // Host 99 holds its 3 ports already.
  for (let i = 0; i < 99; i++) service.register(file, host(i));
  assertEquals(service.stats().registrations, 102);
  assertEquals(
    code(() => service.register(wrong, { ...host(99), port: 9 })),
    "conflict",
  );
  service.register(wrong, CAROL);
  assertEquals(service.query(file.id, 1).peers, [CAROL]);
});

Deno.test("TrackerService stats() counts an address once across files and each of a host's ports", () => {
  const { service } = registry();
  service.register(meta("aa"), ALICE);
  service.register(meta("bb"), ALICE);
  service.register(meta("bb"), { host: ALICE.host, port: 7000 });
  service.register(meta("cc"), BOB);
  assertEquals(service.stats(), { files: 3, peers: 3, registrations: 4 });
});

Deno.test("TrackerService returns piece hashes unchanged as files come and go", () => {
  const { service } = registry({ maxRegistrationsPerHost: 1_000_000 });
  const big = meta("ee", "big", 100);
  big.pieceHashes = big.pieceHashes.map((_, i) => i);
  service.register(big, ALICE);
  const answer = service.query(big.id).meta.pieceHashes;
  // Thousands of small files added and removed move the small lists around.
  const small = (i: number) => {
    const file = meta(i.toString(16).padStart(8, "0"), "s", 1);
    file.pieceHashes.fill(i & 255);
    return file;
  };
  for (let i = 0; i < 5_000; i++) service.register(small(i), BOB);
  const kept = service.query(small(4_321).id).meta.pieceHashes;
  for (let i = 0; i < 5_000; i += 2) service.unregister(small(i).id, BOB);
  assertEquals(kept, small(4_321).pieceHashes);
  assertEquals(answer, big.pieceHashes);
  for (let i = 1; i < 5_000; i += 2) {
    assertEquals(
      service.query(small(i).id).meta.pieceHashes,
      small(i).pieceHashes,
    );
  }
});

/** A small deterministic random source. */
function random(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return (state >>> 8) % n;
  };
}

Deno.test("TrackerService agrees with a plain model over 20,000 random registrations, renewals, removals and expiries", () => {
  const { service, clock } = registry({ maxRegistrationsPerHost: 1_000_000 });
  // Three IDs on one key, one apart; up to 120 peers each (40 hosts × 3 ports).
  const files = ["abcdef011", "abcdef012", "abcdef013", "12"].map((p) =>
    meta(p)
  );
  const model = files.map(() => new Map<string, number>());
  const next = random(42);
  const peerOf = (n: number): PeerAddress => ({
    host: host(n % 40).host,
    port: 1 + Math.floor(n / 40),
  });
  const keyOf = (peer: PeerAddress) => `${peer.host} ${peer.port}`;
  const live = (f: number) =>
    [...model[f]].filter(([, expires]) => expires > clock.now);
  for (let step = 0; step < 20_000; step++) {
    const f = next(files.length);
    const peer = peerOf(next(120));
    const op = next(100);
    // Now and then everything expires at once, and the files fill up again.
    if (step % 5_000 === 4_999) clock.now += 2 * TTL;
    if (op < 55) {
      service.register(files[f], peer);
      model[f].set(keyOf(peer), clock.now + TTL);
    } else if (op < 65) {
      service.unregister(files[f].id, peer);
      model[f].delete(keyOf(peer));
    } else if (op < 85) {
      const held = model[f].get(keyOf(peer));
      const known = held !== undefined && held > clock.now;
      const unknown = service.announce([files[f].id], peer);
      assertEquals(unknown, known ? [] : [files[f].id], `step ${step}`);
      if (known) model[f].set(keyOf(peer), clock.now + TTL);
    } else if (op < 99) {
      clock.now += next(TTL / 40);
    } else {
      const expired = model.reduce(
        (sum, peers) =>
          sum + [...peers.values()].filter((e) => e <= clock.now).length,
        0,
      );
      model.forEach((peers) => {
        for (const [key, e] of peers) if (e <= clock.now) peers.delete(key);
      });
      // Lookups drop dead variants and files as they meet them, so the
      // sweep may find fewer.
      assert(service.sweep() <= expired, `step ${step}`);
    }
    if (step % 50 !== 0) continue;
    const addresses = new Set(model.flatMap((_, i) => live(i).map(([k]) => k)));
    const liveFiles = model.filter((_, i) => live(i).length > 0).length;
    assertEquals(service.stats(), {
      files: liveFiles,
      peers: addresses.size,
      registrations: model.reduce((sum, _, i) => sum + live(i).length, 0),
    }, `step ${step}`);
    for (const [i, file] of files.entries()) {
      const expected = live(i).sort((a, b) => b[1] - a[1]);
      if (expected.length === 0) {
        assertEquals(code(() => service.query(file.id)), "not-found");
        continue;
      }
      const got = service.query(file.id).peers.map(keyOf);
      assertEquals([...got].sort(), expected.map(([k]) => k).sort());
      const expiries = got.map((key) => model[i].get(key)!);
      assert(expiries.every((e, j) => j === 0 || e <= expiries[j - 1]));
    }
    assertEquals(service.list().length, liveFiles);
  }
});

Deno.test("TrackerService holds 100,000 files × 10 peers in well under 150 MiB", () => {
  const { service } = registry({
    maxRegistrationsPerHost: 1_000_000,
    ttlMs: 3_600_000,
  });
  const before = isolateMiB();
  // One hash buffer, refilled per file: the registry copies what it keeps.
  const pieceHashes = new Uint8Array(HASH_BYTES);
  for (let f = 0; f < 100_000; f++) {
    pieceHashes[0] = f & 255;
    pieceHashes[1] = f >> 8;
    const file = {
      id: f.toString(16).padStart(8, "0") + "5eed".repeat(14),
      name: `bench-file-${f}.bin`,
      size: 1_000_000,
      pieceSize: 1024 * 1024,
      pieceHashes,
    };
    for (let h = 0; h < 10; h++) service.register(file, host(h));
  }
  const grown = isolateMiB() - before;
  assertEquals(service.stats(), {
    files: 100_000,
    peers: 10,
    registrations: 1_000_000,
  });
  // About 60 MiB measured; objects per registration took over 400.
  assert(grown < 150, `memory grew ${grown.toFixed(0)} MiB`);
  assertEquals(
    service.query("0001869f5eed5eed").meta.name,
    "bench-file-99999.bin",
  );
});

function isolateMiB(): number {
  const usage = Deno.memoryUsage();
  return (usage.heapUsed + usage.external) / (1024 * 1024);
}
