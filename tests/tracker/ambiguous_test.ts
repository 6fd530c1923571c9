/**
 * A short ID that matches more than one file: the registry's refusal names
 * the files (oldest first, at most MAX_AMBIGUOUS_CANDIDATES, `more` for the
 * rest), and the tracker's `ambiguous` answer carries them to the client.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "../assert.ts";
import { HASH_BYTES, MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import {
  type FileMeta,
  MAX_AMBIGUOUS_CANDIDATES,
} from "../../lib/protocol/messages.ts";
import {
  TrackerClient,
  TrackerError,
} from "../../lib/discovery/tracker_client.ts";
import { RegistryError, TrackerService } from "../../lib/tracker/service.ts";
import { startTracker } from "../../lib/tracker/server.ts";

const SHORT = "53705745af68cc85";

/** A file of 2 pieces whose ID is SHORT then `tail`. */
function meta(tail: string, name = "b.bin"): FileMeta {
  return {
    id: (SHORT + tail + "0".repeat(64)).slice(0, 64),
    name,
    size: 2 * MIN_PIECE_SIZE,
    pieceSize: MIN_PIECE_SIZE,
    pieceHashes: new Uint8Array(2 * HASH_BYTES).fill(3),
  };
}

function refusal(fn: () => unknown): RegistryError {
  try {
    fn();
  } catch (error) {
    if (error instanceof RegistryError) return error;
    throw error;
  }
  throw new Error("not refused");
}

Deno.test("TrackerService names the files an ambiguous prefix matches, oldest first, with their sizes and holders", () => {
  let now = 0;
  const service = new TrackerService({ now: () => now });
  const real = meta("8e", "b.bin");
  const fake = meta("0f", "b.bin");
  service.register(real, { host: "10.0.0.1", port: 6000 });
  service.register(real, { host: "10.0.0.2", port: 6000 }, { partial: true });
  now = 10;
  service.register(fake, { host: "10.9.9.9", port: 7777 });
  const error = refusal(() => service.query(SHORT));
  assertEquals(error.code, "ambiguous");
  assertEquals(
    error.message,
    `ID ${SHORT} matches 2 files; give more of its characters.`,
  );
  assertEquals([...error.candidates!], [
    { id: real.id, name: "b.bin", size: real.size, peers: 2, partial: 1 },
    { id: fake.id, name: "b.bin", size: fake.size, peers: 1, partial: 0 },
  ]);
  assertEquals(error.candidates!.more, undefined);
  // A longer prefix picks one.
  assertEquals(service.query(SHORT + "8").meta.id, real.id);
});

Deno.test("TrackerService names at most MAX_AMBIGUOUS_CANDIDATES files and counts the rest as more", () => {
  const service = new TrackerService();
  const count = MAX_AMBIGUOUS_CANDIDATES + 3;
  for (let i = 0; i < count; i++) {
    service.register(meta(i.toString(16).padStart(2, "0")), {
      host: "10.0.0.1",
      port: 6000,
    });
  }
  const error = refusal(() => service.query(SHORT));
  assertEquals(error.candidates!.length, MAX_AMBIGUOUS_CANDIDATES);
  assertEquals(error.candidates!.more, 3);
  assertEquals(error.candidates![0].id, meta("00").id);
});

Deno.test("a tracker's ambiguous answer carries the candidates to the client", async () => {
  const server = startTracker({ host: "127.0.0.1", port: 0 });
  const sharer = await TrackerClient.connect(server.address);
  const getter = await TrackerClient.connect(server.address);
  try {
    const real = meta("8e");
    const fake = meta("0f");
    await sharer.register(real, 6000);
    await sharer.register(fake, 6001);
    const error = await assertRejects(
      () => getter.query(SHORT),
      TrackerError,
    ) as TrackerError;
    assertEquals(error.code, "ambiguous");
    assertEquals(error.candidates?.map((file) => file.id), [real.id, fake.id]);
    assert(error.candidates?.every((file) => file.peers === 1));
    // The connection goes on serving.
    assertEquals((await getter.query(SHORT + "0")).meta.id, fake.id);
  } finally {
    sharer.close();
    getter.close();
    await server.close();
  }
});
