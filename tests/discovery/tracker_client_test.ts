import {
  TrackerClient,
  TrackerError,
  TrackerRequestError,
} from "../../lib/discovery/tracker_client.ts";
import { formatAddress } from "../../lib/net/connection.ts";
import {
  HASH_BYTES,
  MAX_SEARCH_CHARS,
  MIN_PIECE_SIZE,
  MIN_SEALED_BLOB_BYTES,
} from "../../lib/protocol/limits.ts";
import {
  type FileMeta,
  fromFrame,
  toFrame,
} from "../../lib/protocol/messages.ts";
import { startPeerServer } from "../../lib/swarm/peer_server.ts";
import { startTracker } from "../../lib/tracker/server.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";

const META: FileMeta = {
  id: "ab".repeat(32),
  name: "file.bin",
  size: MIN_PIECE_SIZE * 2,
  pieceSize: MIN_PIECE_SIZE,
  pieceHashes: new Uint8Array(2 * HASH_BYTES),
};

/** Runs `use` with a client whose "tracker" is really a peer server. */
async function withPeerAsTracker(
  use: (client: TrackerClient, address: string) => Promise<void>,
): Promise<void> {
  const peer = startPeerServer({
    host: "127.0.0.1",
    port: 0,
    lookup: () => undefined,
  });
  try {
    const client = await TrackerClient.connect(peer.address);
    try {
      await use(client, formatAddress(peer.address));
    } finally {
      client.close();
    }
  } finally {
    await peer.close();
  }
}

function notATracker(address: string): string {
  return `${address} is a peer, not a tracker: point --tracker (or P2P_TRACKER) at the tracker's address.`;
}

const REQUESTS: [string, (client: TrackerClient) => Promise<unknown>][] = [
  ["list()", (client) => client.list()],
  ["search()", (client) => client.search("x")],
  ["query()", (client) => client.query(META.id)],
  // A register carries a binary part, which a peer server refuses outright.
  ["register()", (client) => client.register(META, 6000)],
  ["announce()", (client) => client.announce([META.id], 6000)],
];

for (const [name, request] of REQUESTS) {
  Deno.test(`TrackerClient.${name} pointed at a peer says it is a peer, not a tracker`, async () => {
    await withPeerAsTracker(async (client, address) => {
      const error = await assertRejects(() => request(client), TrackerError);
      assertEquals(error.message, notATracker(address));
    });
  });
}

Deno.test("TrackerClient requests sent together to a peer all fail with the same sentence", async () => {
  await withPeerAsTracker(async (client, address) => {
    const results = await Promise.allSettled([
      client.list(),
      client.search("x"),
      client.stats(),
    ]);
    for (const result of results) {
      assertEquals(result.status, "rejected");
      const { reason } = result as PromiseRejectedResult;
      assertEquals((reason as Error).message, notATracker(address));
    }
  });
});

Deno.test("TrackerClient shows a real tracker's refusal of a frame as it is, not as a peer's", async () => {
  const tracker = startTracker({ host: "127.0.0.1", port: 0 });
  try {
    const client = await TrackerClient.connect(tracker.address);
    try {
      // Size 0 has no pieces, so the tracker refuses the hashes' binary part.
      const error = await assertRejects(
        () => client.register({ ...META, size: 0 }, 6000),
        TrackerError,
      ) as TrackerError;
      assertEquals(error.code, "bad-request");
      assert(error.message.startsWith("Bad request: Frame "), error.message);
    } finally {
      client.close();
    }
  } finally {
    await tracker.close();
  }
});

Deno.test("TrackerClient.search() refuses a text over MAX_SEARCH_CHARS without sending it, and the connection stays usable", async () => {
  const tracker = startTracker({ host: "127.0.0.1", port: 0 });
  try {
    const client = await TrackerClient.connect(tracker.address);
    try {
      const error = await assertRejects(
        () => client.search("a".repeat(MAX_SEARCH_CHARS + 1)),
        TrackerRequestError,
      );
      assertEquals(
        error.message,
        `The search text has ${
          MAX_SEARCH_CHARS + 1
        } characters, over the limit of ${MAX_SEARCH_CHARS}: search for a shorter part of the name.`,
      );
      assertEquals(await client.search("a".repeat(MAX_SEARCH_CHARS)), []);
      assertEquals(tracker.stats().requests, 1);
    } finally {
      client.close();
    }
  } finally {
    await tracker.close();
  }
});

Deno.test("queryPeers asks for the peers only: the answer carries no metadata, and the frames round-trip", async () => {
  const tracker = startTracker({ host: "127.0.0.1", port: 0 });
  try {
    const sharer = await TrackerClient.connect(tracker.address);
    const asker = await TrackerClient.connect(tracker.address);
    try {
      await sharer.register(META, 6001);
      const found = await asker.queryPeers(META.id);
      assertEquals(found.id, META.id);
      assertEquals(found.peers, [{ host: "127.0.0.1", port: 6001 }]);
      assertEquals(found.observed, "127.0.0.1");
    } finally {
      sharer.close();
      asker.close();
    }
  } finally {
    await tracker.close();
  }
  const answer = {
    type: "peers" as const,
    id: META.id,
    peers: [{ host: "10.0.0.1", port: 6000 }],
    variant: 0,
    variants: 2,
  };
  const frame = toFrame(answer);
  assertEquals(frame.binary.length, 0);
  assertEquals(fromFrame(frame), answer);
  const query = { type: "query" as const, id: META.id, peersOnly: true };
  assertEquals(fromFrame(toFrame(query)), query);
  assert(
    (() => {
      try {
        fromFrame({
          header: { ...answer, id: "not an id" },
          binary: frame.binary,
        });
        return false;
      } catch (error) {
        return error instanceof TypeError || error instanceof RangeError;
      }
    })(),
    "a peers answer with a bad ID was taken",
  );
});

Deno.test("querySealedPeers asks for a private file's peers only, by its lookup key", async () => {
  const tracker = startTracker({ host: "127.0.0.1", port: 0 });
  try {
    const sharer = await TrackerClient.connect(tracker.address);
    const asker = await TrackerClient.connect(tracker.address);
    try {
      const lookup = "cd".repeat(32);
      const blob = new Uint8Array(MIN_SEALED_BLOB_BYTES);
      await sharer.registerSealed({ lookup, blob }, 6002);
      const found = await asker.querySealedPeers(lookup);
      assertEquals(found.id, lookup);
      assertEquals(found.peers, [{ host: "127.0.0.1", port: 6002 }]);
    } finally {
      sharer.close();
      asker.close();
    }
  } finally {
    await tracker.close();
  }
});
