/**
 * Pinging DHT nodes, as `peer doctor` checks the DHT: the KRPC ping and
 * its reply decoded strictly (hostile bytes are ignored, never thrown on),
 * then real pings to a DHT node on 127.0.0.1, one that is not there and a
 * name that does not resolve.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  encodePing,
  MAX_PING_REPLY_BYTES,
  pingDhtNodes,
  replyTo,
} from "../../lib/discovery/_dht_ping.ts";
import { DhtDiscovery } from "../../lib/discovery/dht.ts";

const LOCAL = "127.0.0.1";
const encoder = new TextEncoder();

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

Deno.test("encodePing writes BEP 5's ping query with a two-byte transaction", () => {
  const id = new Uint8Array(20).fill(0x41);
  assertEquals(
    new TextDecoder().decode(encodePing(id, 0x0102)),
    `d1:ad2:id20:${"A".repeat(20)}e1:q4:ping1:t2:\x01\x021:y1:qe`,
  );
});

Deno.test("replyTo reads the transaction of a ping reply and nothing else", () => {
  const reply = `d1:rd2:id20:${
    "B".repeat(20)
  }e1:t2:\x00\x071:v4:LT\x01\x021:y1:re`;
  assertEquals(replyTo(bytes(reply)), 7);
  assertEquals(replyTo(bytes("d1:t2:\x01\x001:y1:re")), 256);
  for (
    const hostile of [
      "",
      "d",
      "de",
      "le",
      "i1e",
      "d1:t2:\x00\x071:y1:qe", // a query, not a reply
      "d1:t2:\x00\x071:y1:ee", // an error
      "d1:t1:\x001:y1:re", // a one-byte transaction
      "d1:t2:\x00\x071:y1:r", // unended
      "d1:t2:\x00\x071:y1:rex", // something after it
      "d1:t2:\x00\x071:y1:r1:xe", // a key with no value
      "di1e1:xe", // a key that is not a string
      "d1:t9:\x00\x071:y1:re", // a string longer than what is left
      "d1:ti99999999999999999e1:y1:re",
      `${"l".repeat(100)}${"e".repeat(100)}`, // too deep
      "d1:t2:\x00\x071:y1:r1:xi-e" + "e",
      "x".repeat(MAX_PING_REPLY_BYTES + 1),
    ]
  ) {
    assertEquals(replyTo(bytes(hostile)), undefined, JSON.stringify(hostile));
  }
  const random = new Uint8Array(200);
  for (let i = 0; i < 2000; i++) {
    crypto.getRandomValues(random);
    random[0] = 0x64; // "d": a dictionary, so the decoder goes further
    replyTo(random.subarray(0, 1 + (i % 200)));
  }
});

Deno.test("pingDhtNodes: a DHT node on 127.0.0.1 answers, one not there and a name that does not resolve do not", async () => {
  await using node = await DhtDiscovery.start({
    port: 1,
    udpPort: 0,
    host: LOCAL,
    bootstrap: [],
  });
  assert(node);
  const gone = await freeUdpPort();
  const started = performance.now();
  const results = await pingDhtNodes([
    `${LOCAL}:${node.udpPort}`,
    `${LOCAL}:${gone}`,
    "nosuchhost.invalid:6881",
    `localhost:${node.udpPort}`,
  ], { host: LOCAL, timeoutMs: 1_500 });
  assert(performance.now() - started >= 1_400);
  assertEquals(results.map((r) => [r.node, r.ms !== undefined, r.error]), [
    [`${LOCAL}:${node.udpPort}`, true, undefined],
    [`${LOCAL}:${gone}`, false, undefined],
    ["nosuchhost.invalid:6881", false, "no such host"],
    [`localhost:${node.udpPort}`, true, undefined],
  ]);
});

Deno.test("pingDhtNodes ends as soon as every node answered, and rejects when it cannot bind", async () => {
  await using node = await DhtDiscovery.start({
    port: 1,
    udpPort: 0,
    host: LOCAL,
    bootstrap: [],
  });
  assert(node);
  const started = performance.now();
  const [result] = await pingDhtNodes([`${LOCAL}:${node.udpPort}`], {
    host: LOCAL,
    timeoutMs: 10_000,
  });
  assert(result.ms !== undefined && result.ms < 5_000, String(result.ms));
  assert(performance.now() - started < 5_000);
  assertEquals(await pingDhtNodes([], { timeoutMs: 10_000 }), []);
  await assertRejects(() =>
    pingDhtNodes([`${LOCAL}:6881`], {
      host: "192.0.2.123", // TEST-NET-1: not an address of this machine
      timeoutMs: 1_000,
    })
  );
});

async function freeUdpPort(): Promise<number> {
  const { createSocket } = await import("node:dgram");
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, LOCAL, resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
