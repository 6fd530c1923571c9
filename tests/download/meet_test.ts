/**
 * How one download meets the peers it cannot reach directly
 * (lib/download/_meet.ts), with a real tracker and relay on 127.0.0.1 and
 * a peer played by hand over the tracker's protocol: it offers a hole
 * punch from a port where nothing answers (so a punch to it fails, as
 * through a router that does not keep ports) or none, and always comes to
 * the relay.
 */

import { assert, assertEquals } from "../assert.ts";
import { startTracker } from "../../lib/tracker/server.ts";
import { startRelay } from "../../lib/nat/relay_server.ts";
import { openRelayed } from "../../lib/nat/relay_client.ts";
import { PUNCH_TIMEOUT_MS } from "../../lib/nat/hole_punch.ts";
import {
  type Incoming,
  TrackerClient,
} from "../../lib/discovery/tracker_client.ts";
import { Meetings } from "../../lib/download/_meet.ts";
import type { Address } from "../../lib/net/connection.ts";
import type { FileMeta } from "../../lib/protocol/messages.ts";
import { closeQuietly } from "../../lib/util/close_quietly.ts";
import { readFullAsync } from "../../lib/util/read_full.ts";
import { writeAllAsync } from "../../lib/util/write_all.ts";

const LOCAL = "127.0.0.1";
/** Longest wait for the peer's side of a meeting. */
const MEET_WAIT_MS = 10_000;

const META: FileMeta = {
  id: "cd".repeat(32),
  name: "x.bin",
  size: 16_384,
  pieceSize: 16_384,
  pieceHashes: new Uint8Array(32),
};

/** A tracker with a relay on 127.0.0.1; both closed on dispose. */
function trackerWithRelay() {
  const relay = startRelay({ host: LOCAL, port: 0 });
  const tracker = startTracker({
    host: LOCAL,
    port: 0,
    relay: {
      port: relay.address.port,
      expect: (token, ends) => relay.expect(token, ends),
    },
  });
  return Object.assign(tracker, {
    relay,
    async [Symbol.asyncDispose]() {
      await tracker.close();
      await relay.close();
    },
  });
}

/** A port of this host where nothing listens: every connect is refused. */
function silentPort(): number {
  using listener = Deno.listen({ hostname: LOCAL, port: 0 });
  return (listener.addr as Deno.NetAddr).port;
}

/**
 * A peer registered at each of `ports` that answers each meeting's punch
 * offer with the next of `punchFrom` (a port it never punches from, or
 * undefined: no punch), then meets at the relay. Each meeting's socket
 * comes out of `met()`, in order.
 */
async function handPlayedPeer(
  tracker: Address,
  ports: number[],
  punchFrom: (number | undefined)[],
) {
  const client = await TrackerClient.connect(tracker);
  const heard: Incoming[] = [];
  const sockets: Promise<Deno.TcpConn>[] = [];
  client.listen((incoming) => {
    const answer = punchFrom[heard.length];
    heard.push(incoming);
    if (incoming.punch !== undefined) {
      client.offerPunch(incoming.token, answer).catch(() => {});
    }
    const socket = openRelayed({
      relay: incoming.relay,
      token: incoming.token,
      role: "asked",
      timeoutMs: MEET_WAIT_MS,
    });
    socket.catch(() => {});
    sockets.push(socket);
  });
  for (const port of ports) await client.register(META, port);
  return {
    heard,
    /** The socket of meeting `index` (from 0). */
    met: (index: number) => sockets[index],
    async [Symbol.asyncDispose]() {
      client.close();
      for (const socket of sockets) {
        await socket.then(closeQuietly, () => {});
      }
    },
  };
}

/** Asserts `a` and `b` are the two ends of one joined connection. */
async function assertJoined(a: Deno.Conn, b: Deno.Conn): Promise<void> {
  const sent = crypto.getRandomValues(new Uint8Array(1024));
  await writeAllAsync(a, sent);
  const got = new Uint8Array(sent.length);
  await readFullAsync(b, got);
  assertEquals(got, sent);
}

/** The log's lines saying a hole punch failed. */
function punchFailures(lines: string[]): number {
  return lines.filter((line) => line.startsWith("Could not open a direct"))
    .length;
}

Deno.test("after a hole punch to a peer failed, a download meets that peer at the relay at once, offering no punch; other peers are still offered one", async () => {
  await using tracker = trackerWithRelay();
  const [first, second] = [40_101, 40_102];
  await using peer = await handPlayedPeer(
    tracker.address,
    [first, second],
    [silentPort(), silentPort(), undefined],
  );
  const lines: string[] = [];
  const meetings = new Meetings(tracker.address, (line) => lines.push(line));
  const signal = AbortSignal.timeout(4 * MEET_WAIT_MS);
  try {
    // The first meeting punches (to no one, until the punch's time is up),
    // then meets at the relay.
    const one = await meetings.meet({ host: LOCAL, port: first }, signal);
    assertEquals(one.route, "relayed");
    assert(peer.heard[0].punch !== undefined, "the first meeting offered one");
    await assertJoined(one.conn, await peer.met(0));
    one.conn.close();
    assertEquals(punchFailures(lines), 1, lines.join("\n"));
    // Coming back to it: straight to the relay, where a punch would have
    // taken PUNCH_TIMEOUT_MS again.
    const started = performance.now();
    const again = await meetings.meet({ host: LOCAL, port: first }, signal);
    const took = performance.now() - started;
    assertEquals(again.route, "relayed");
    assertEquals(peer.heard[1].punch, undefined, "a punch was offered again");
    assert(took < PUNCH_TIMEOUT_MS / 2, `met after ${took.toFixed(0)} ms`);
    await assertJoined(again.conn, await peer.met(1));
    again.conn.close();
    // Another peer (another address) is offered a punch as before.
    const other = await meetings.meet({ host: LOCAL, port: second }, signal);
    assertEquals(other.route, "relayed");
    assert(
      peer.heard[2].punch !== undefined,
      "the other peer was offered none",
    );
    other.conn.close();
    assertEquals(punchFailures(lines), 1, lines.join("\n"));
    assert(
      lines.includes(
        `Meeting ${LOCAL}:${first} at the relay: a hole punch to it failed before.`,
      ),
      lines.join("\n"),
    );
  } finally {
    meetings.close();
  }
});
