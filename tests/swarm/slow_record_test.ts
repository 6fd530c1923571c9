/**
 * A piece sealed as one record that takes longer than the stall time to
 * arrive: its bytes are progress long before the record can be opened (and
 * its frame begins), so the link keeps it. Through a throttling TCP relay on
 * 127.0.0.1, as a slow link would deliver it. A peer that has been sending
 * and pauses (TCP resending on a congested line) is kept for
 * MOVING_STALL_FACTOR stall times; one that stops is still dropped.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import { within } from "../fixtures.ts";
import { randomBytes } from "../_hostile.ts";
import { Connection } from "../../lib/net/connection.ts";
import { secureAccept } from "../../lib/net/secure_transport.ts";
import { PieceScheduler } from "../../lib/swarm/piece_scheduler.ts";
import { PeerLink } from "../../lib/swarm/peer_link.ts";
import {
  MOVING_STALL_FACTOR,
  PROGRESS_BYTES,
} from "../../lib/swarm/stall_clock.ts";
import type { Message } from "../../lib/protocol/messages.ts";
import { HEADROOM_BYTES } from "../../lib/swarm/upload_session.ts";

const PIECE = 256 * 1024;
const PIECES = 2;
const ID = "7c".repeat(32);
const DATA = randomBytes(19, PIECES * PIECE);
/** The link's stall time here: far shorter than one piece takes. */
const STALL_MS = 400;

/** A sharer of DATA that answers each request with one `piece` message. */
function sharer(): { port: number; done: Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const socket = await listener.accept();
    listener.close();
    const secure = await secureAccept(socket);
    const conn = new Connection(socket, {}, secure);
    try {
      for (;;) {
        const message: Message | null = await conn.receive({ idleMs: 30_000 })
          .catch(() => null);
        if (message === null) return;
        if (message.type === "hello") {
          await conn.send({ type: "welcome", id: ID, pieces: PIECES });
        } else if (message.type === "request") {
          // As a sharer sends it: the frame's head in room kept before the
          // piece, so the whole frame is one write and one record.
          const { index } = message;
          const room = new Uint8Array(HEADROOM_BYTES + PIECE);
          room.set(
            DATA.subarray(index * PIECE, (index + 1) * PIECE),
            HEADROOM_BYTES,
          );
          await conn.send({
            type: "piece",
            index,
            data: room.subarray(HEADROOM_BYTES),
          }, { headroom: true });
        }
      }
    } finally {
      conn.close();
    }
  })();
  return { port: (listener.addr as Deno.NetAddr).port, done };
}

/**
 * A relay to `port` that passes what the sharer sends in `chunk`-byte
 * writes `gapMs` apart (after `stopAfter` bytes, nothing more).
 */
function slowRelay(
  port: number,
  options: {
    chunk: number;
    gapMs: number;
    stopAfter?: number;
    pause?: { after: number; ms: number };
  },
): { port: number; done: Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const client = await listener.accept();
    listener.close();
    const server = await Deno.connect({ hostname: "127.0.0.1", port });
    const up = client.readable.pipeTo(server.writable).catch(() => {});
    let sent = 0;
    const buffer = new Uint8Array(options.chunk);
    try {
      for (;;) {
        const n = await server.read(buffer);
        if (n === null) break;
        if (options.stopAfter !== undefined && sent + n > options.stopAfter) {
          // Silent until the downloader hangs up.
          await up;
          break;
        }
        const { pause } = options;
        if (pause && sent < pause.after && sent + n >= pause.after) {
          await new Promise((resolve) => setTimeout(resolve, pause.ms));
        }
        await client.write(buffer.subarray(0, n));
        sent += n;
        await new Promise((resolve) => setTimeout(resolve, options.gapMs));
      }
    } catch {
      // Either side closed.
    } finally {
      try {
        client.close();
      } catch { /* closed */ }
      try {
        server.close();
      } catch { /* closed */ }
    }
    await up;
  })();
  return { port: (listener.addr as Deno.NetAddr).port, done };
}

/**
 * A link of stall time STALL_MS to the sharer through `relay` (one piece
 * asked at a time), run to its end; the pieces it got and why it ended.
 */
async function fetchThrough(
  relay: { port: number },
): Promise<{ got: number[]; failure?: string }> {
  const scheduler = new PieceScheduler(PIECES);
  const got: number[] = [];
  const downloader = new PeerLink({ host: "127.0.0.1", port: relay.port }, {
    id: ID,
    pieces: PIECES,
    pieceSize: PIECE,
    scheduler,
    inFlight: 1,
    stallMs: STALL_MS,
    connectMs: 2_000,
    onPiece: (index, data) => {
      const want = DATA.subarray(index * PIECE, (index + 1) * PIECE);
      if (data.length !== want.length || !data.every((b, i) => b === want[i])) {
        return false;
      }
      got.push(index);
      scheduler.complete(index);
      return true;
    },
  });
  try {
    await within(downloader.run(), 20_000, "PeerLink.run()");
  } finally {
    downloader.close();
  }
  return { got, failure: downloader.failure };
}

Deno.test("a piece in one record that takes 4 times the stall time to arrive is received, not cut", async () => {
  const peer = sharer();
  // 8 KiB every 40 ms: about 1.3 s a piece, never 400 ms without a byte.
  const relay = slowRelay(peer.port, { chunk: 8 * 1024, gapMs: 40 });
  const started = performance.now();
  const { got, failure } = await fetchThrough(relay);
  assertEquals(failure, undefined);
  assertEquals(got.toSorted(), [0, 1]);
  assert(
    performance.now() - started > 4 * STALL_MS,
    "each piece took longer than the stall time",
  );
  await within(Promise.all([peer.done, relay.done]), 5_000, "sharer, relay");
});

Deno.test("a record whose bytes stop arriving ends the link as stopped sending", async () => {
  const peer = sharer();
  // The welcome and then a few chunks of the first piece's record, then
  // nothing: more than PROGRESS_BYTES, less than the record.
  const relay = slowRelay(peer.port, {
    chunk: 8 * 1024,
    gapMs: 20,
    stopAfter: 2 * PROGRESS_BYTES,
  });
  const { got, failure } = await fetchThrough(relay);
  assert(failure?.startsWith("stopped sending"), failure);
  assertEquals(got, []);
  await within(Promise.all([peer.done, relay.done]), 5_000, "sharer, relay");
});

Deno.test("a peer that has been sending and pauses for twice the stall time mid-piece is kept", async () => {
  const peer = sharer();
  const relay = slowRelay(peer.port, {
    chunk: 16 * 1024,
    gapMs: 10,
    pause: { after: 100 * 1024, ms: 2 * STALL_MS },
  });
  assert(2 * STALL_MS < MOVING_STALL_FACTOR * STALL_MS);
  const { got, failure } = await fetchThrough(relay);
  assertEquals(failure, undefined);
  assertEquals(got.toSorted(), [0, 1]);
  await within(Promise.all([peer.done, relay.done]), 5_000, "sharer, relay");
});
