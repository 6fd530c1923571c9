/**
 * The tracker registry in memory, with an injected clock: registration,
 * expiry, prefix lookup, conflicts, search, quotas and answer caps.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "./assert.ts";
import {
  HASH_BYTES,
  MAX_FILES_PER_ANSWER,
  MAX_PEERS_PER_ANSWER,
  MIN_PIECE_SIZE,
} from "../lib/limits.ts";
import type { FileMeta, PeerAddress } from "../lib/messages.ts";
import { RegistryError, TrackerService } from "../lib/tracker_service.ts";

const TTL = 1_000;
const ALICE: PeerAddress = { host: "10.0.0.1", port: 6000 };
const BOB: PeerAddress = { host: "10.0.0.2", port: 6000 };

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

Deno.test("TrackerService refuses different metadata for a held ID but accepts another name", () => {
  const { service, clock } = registry();
  const file = meta("aa", "a.bin", 2);
  service.register(file, ALICE);
  const wrongHashes = { ...file, pieceHashes: new Uint8Array(2 * HASH_BYTES) };
  assertEquals(code(() => service.register(wrongHashes, BOB)), "conflict");
  const wrongSize = { ...file, size: file.size - 1 };
  assertEquals(code(() => service.register(wrongSize, BOB)), "conflict");
  service.register({ ...file, name: "renamed.bin" }, BOB);
  assertEquals(service.query(file.id).meta.name, "a.bin");
  // Once every holder has expired, new metadata for the ID is accepted.
  clock.now = TTL + 1;
  service.register(wrongHashes, BOB);
  assertEquals(
    service.query(file.id).meta.pieceHashes,
    wrongHashes.pieceHashes,
  );
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
    { id: meta("bb").id, name: "notes.txt", size: meta("bb").size, peers: 1 },
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
