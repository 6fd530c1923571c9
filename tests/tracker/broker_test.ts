/**
 * The tracker's part in reaching peers behind routers (lib/tracker/_broker.ts),
 * over real sockets on 127.0.0.0/8: `reach` connects back only to the
 * asker's own address, `connect` wakes the registered peer with the same
 * token it answers, and both are rate-limited per address.
 */

import { assert, assertEquals, assertRejects } from "../assert.ts";
import { startTracker } from "../../lib/tracker/server.ts";
import {
  type Incoming,
  TrackerClient,
  TrackerError,
} from "../../lib/discovery/tracker_client.ts";
import { startListener } from "../../lib/net/listener.ts";
import type { FileMeta } from "../../lib/protocol/messages.ts";
import { BROKER_BURST } from "../../lib/protocol/limits.ts";

const LOCAL = "127.0.0.1";
/** Ms to wait for an `incoming` to arrive. */
const PUSH_WAIT_MS = 5_000;

const META: FileMeta = {
  id: "ab".repeat(32),
  name: "x.bin",
  size: 16_384,
  pieceSize: 16_384,
  pieceHashes: new Uint8Array(32),
};

/** A tracker on 127.0.0.1 whose relay is a stand-in recording what it is told. */
function trackerWithDesk(relay = true) {
  const expected: { token: Uint8Array; asker: string; asked: string }[] = [];
  const tracker = startTracker({
    host: LOCAL,
    port: 0,
    probeMs: 1_000,
    punchOfferWaitMs: 500,
    relay: relay
      ? {
        port: 45_999,
        expect: (token, ends) => expected.push({ token, ...ends }),
      }
      : undefined,
  });
  return Object.assign(tracker, {
    expected,
    [Symbol.asyncDispose]: () => tracker.close(),
  });
}

/** A peer listener on `host` that completes the encryption handshake, then hangs up. */
function peerListener(host: string) {
  const listener = startListener({ host, port: 0, serve: async () => {} });
  return Object.assign(listener, {
    [Symbol.asyncDispose]: () => listener.close(),
  });
}

async function client(address: { host: string; port: number }) {
  const c = await TrackerClient.connect(address);
  return Object.assign(c, { [Symbol.dispose]: () => c.close() });
}

Deno.test("reach: a port where a peer listens on the asker's address is reachable, one where none listens is not", async () => {
  await using tracker = trackerWithDesk();
  await using listener = peerListener(LOCAL);
  using asker = await client(tracker.address);
  const yes = await asker.reach(listener.address.port);
  assertEquals(yes.reachable, true);
  assertEquals(yes.observed.host, LOCAL);
  await listener.close();
  const no = await asker.reach(listener.address.port);
  assertEquals(no.reachable, false);
});

Deno.test("reach connects back only to the address the request came from, not to another host with that port", async () => {
  await using tracker = trackerWithDesk();
  // Listening on 127.0.0.2 only: the asker connects from 127.0.0.1.
  await using elsewhere = peerListener("127.0.0.2");
  using asker = await client(tracker.address);
  const answer = await asker.reach(elsewhere.address.port);
  assertEquals(answer.observed.host, LOCAL);
  assertEquals(answer.reachable, false);
});

Deno.test("connect wakes the registered peer with the same token the asker gets, and the relay expects it from both hosts", async () => {
  await using tracker = trackerWithDesk();
  using sharer = await client(tracker.address);
  const pushed = Promise.withResolvers<Incoming>();
  sharer.listen(pushed.resolve);
  await sharer.register(META, 7001);
  using getter = await client(tracker.address);
  const meeting = await getter.meet({ host: LOCAL, port: 7001 });
  const timer = setTimeout(
    () => pushed.reject(new Error("no incoming")),
    PUSH_WAIT_MS,
  );
  const incoming = await pushed.promise.finally(() => clearTimeout(timer));
  assertEquals(incoming.token, meeting.token);
  assertEquals(incoming.host, LOCAL);
  assertEquals(meeting.relay, { host: LOCAL, port: 45_999 });
  assertEquals(incoming.relay, meeting.relay);
  assertEquals(tracker.expected.length, 1);
  assertEquals(tracker.expected[0].token, meeting.token);
  assertEquals(tracker.expected[0].asker, LOCAL);
  assertEquals(tracker.expected[0].asked, LOCAL);
  // The listening client still gets its own answers in order.
  assertEquals((await sharer.stats()).files, 1);
});

Deno.test("a hole punch offered by the asker reaches the peer, and the peer's punch port comes back in the answer; without it the answer comes after the wait", async () => {
  await using tracker = trackerWithDesk();
  using sharer = await client(tracker.address);
  const pushed: Incoming[] = [];
  sharer.listen((incoming) => {
    pushed.push(incoming);
    if (pushed.length === 1) sharer.offerPunch(incoming.token, 40_002);
  });
  await sharer.register(META, 7005);
  using getter = await client(tracker.address);
  const meeting = await getter.meet({ host: LOCAL, port: 7005 }, {
    punch: 40_001,
  });
  assertEquals(pushed[0].punch, 40_001);
  assertEquals(meeting.punch, 40_002);
  const started = performance.now();
  const second = await getter.meet({ host: LOCAL, port: 7005 }, {
    punch: 40_003,
  });
  assertEquals(second.punch, undefined);
  assert(performance.now() - started >= 400, "the answer waited for the offer");
  assertEquals(pushed[1].punch, 40_003);
});

Deno.test("connect to an address nobody registered, or at a tracker with no relay, is refused with a sentence", async () => {
  await using tracker = trackerWithDesk();
  using getter = await client(tracker.address);
  const unknown = await assertRejects(
    () => getter.meet({ host: LOCAL, port: 7002 }),
    TrackerError,
  );
  assert(/no longer registered/.test(unknown.message), unknown.message);
  await using bare = trackerWithDesk(false);
  using sharer = await client(bare.address);
  await sharer.register(META, 7003);
  using other = await client(bare.address);
  const none = await assertRejects(
    () => other.meet({ host: LOCAL, port: 7003 }),
    TrackerError,
  );
  assert(/offers no relay/.test(none.message), none.message);
});

Deno.test("a flood of connect requests from one address is answered busy past the burst, and the tracker keeps serving", async () => {
  await using tracker = trackerWithDesk();
  using sharer = await client(tracker.address);
  sharer.listen(() => {});
  await sharer.register(META, 7004);
  using flooder = await client(tracker.address);
  const answers = await Promise.allSettled(
    Array.from(
      { length: BROKER_BURST + 16 },
      () => flooder.meet({ host: LOCAL, port: 7004 }),
    ),
  );
  const busy = answers.filter((answer) =>
    answer.status === "rejected" && answer.reason instanceof TrackerError &&
    answer.reason.code === "busy"
  );
  assert(busy.length >= 8, `${busy.length} of ${answers.length} were busy`);
  assert(tracker.expected.length <= BROKER_BURST + 2);
  assertEquals((await flooder.stats()).files, 1);
});
