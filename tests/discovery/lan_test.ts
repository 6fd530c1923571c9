/**
 * LAN discovery: the BEP 14 codec against itself and against hostile
 * datagrams, the discovery key, and (where multicast works on 127.0.0.1)
 * real instances on a test-only group finding each other, ignoring
 * themselves, and riding out a flood.
 *
 * @module
 */

import { createSocket, type Socket } from "node:dgram";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../assert.ts";
import { requiring, within } from "../fixtures.ts";
import {
  decodeLanMessage,
  encodeLanMessage,
  type LanMessage,
  MAX_DATAGRAM_BYTES,
  MAX_KEYS_PER_MESSAGE,
} from "../../lib/discovery/_lan_wire.ts";
import {
  discoveryKey,
  FIND_FIRST_RETRY_MS,
  LanDiscovery,
  type LanDiscoveryOptions,
  MAX_LAN_KEYS,
  MAX_PEERS_PER_KEY,
} from "../../lib/discovery/lan.ts";
import type { Address } from "../../lib/net/connection.ts";

const LOCAL = "127.0.0.1";
const KEY = "0123456789abcdef0123456789abcdef01234567";
const encoder = new TextEncoder();

/** A BEP 14 datagram with `lines` as its headers, ended as BEP 14 ends it. */
function datagram(lines: string[], first = "BT-SEARCH * HTTP/1.1"): Uint8Array {
  return encoder.encode(`${first}\r\n${lines.join("\r\n")}\r\n\r\n\r\n`);
}

/** Headers of a good datagram, with `changes` replacing (or, undefined, removing) some. */
function headers(changes: Record<string, string | undefined> = {}): string[] {
  const base: Record<string, string | undefined> = {
    Host: "239.192.152.143:6771",
    Port: "6000",
    Infohash: KEY,
    cookie: "abc123",
    ...changes,
  };
  return Object.entries(base).filter(([, v]) => v !== undefined)
    .map(([name, value]) => `${name}: ${value}`);
}

function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("an announcement survives encoding and decoding, keys lowercased", () => {
  const message: LanMessage = {
    host: "239.192.152.143:6771",
    port: 6000,
    keys: [KEY.toUpperCase(), randomKey()],
    cookie: "deadbeef",
  };
  const decoded = decodeLanMessage(encodeLanMessage(message));
  assertEquals(decoded, {
    ...message,
    keys: message.keys.map((k) => k.toLowerCase()),
  });
});

Deno.test("the largest announcement fits MAX_DATAGRAM_BYTES and decodes", () => {
  const keys = Array.from({ length: MAX_KEYS_PER_MESSAGE }, randomKey);
  const message = {
    host: "239.255.255.255:65535",
    port: 65535,
    keys,
    cookie: "~".repeat(64),
  };
  const bytes = encodeLanMessage(message);
  assert(bytes.length <= MAX_DATAGRAM_BYTES, `${bytes.length} bytes`);
  assertEquals(decodeLanMessage(bytes), message);
});

Deno.test("decoding takes headers in any case, with or without the last CRLF", () => {
  const text = "BT-SEARCH * HTTP/1.1\r\nHOST: 239.192.152.143:6771\r\n" +
    `port:6001\r\ninfoHASH:  ${KEY}\t\r\nInfohash: ${KEY}\r\nCookie: x\r\n\r\n`;
  assertEquals(decodeLanMessage(encoder.encode(text)), {
    host: "239.192.152.143:6771",
    port: 6001,
    keys: [KEY],
    cookie: "x",
  });
});

Deno.test("hostile datagrams decode to undefined, and never throw", () => {
  const hostile: [string, Uint8Array][] = [
    ["empty", new Uint8Array()],
    ["too long", new Uint8Array(MAX_DATAGRAM_BYTES + 1).fill(0x41)],
    [
      "a good one padded past the limit",
      (() => {
        const bytes = new Uint8Array(MAX_DATAGRAM_BYTES + 1).fill(0x20);
        bytes.set(datagram(headers()));
        return bytes;
      })(),
    ],
    ["HTTP/1.0", datagram(headers(), "BT-SEARCH * HTTP/1.0")],
    ["lowercase first line", datagram(headers(), "bt-search * HTTP/1.1")],
    ["SSDP", datagram(headers(), "NOTIFY * HTTP/1.1")],
    ["a space first", datagram(headers(), " BT-SEARCH * HTTP/1.1")],
    ["no headers", encoder.encode("BT-SEARCH * HTTP/1.1\r\n\r\n\r\n")],
    [
      "no end",
      encoder.encode(`BT-SEARCH * HTTP/1.1\r\n${headers().join("\r\n")}`),
    ],
    [
      "a body",
      encoder.encode(`${new TextDecoder().decode(datagram(headers()))}x`),
    ],
    ["10,000 headers", datagram(Array.from({ length: 10_000 }, () => "X: 1"))],
    [
      "many short headers",
      datagram([...headers(), ...Array(200).fill("X: 1")]),
    ],
    ["an unknown header", datagram([...headers(), "Server: x"])],
    ["a line without a colon", datagram([...headers(), "Port 6000"])],
    [
      "LF line ends",
      encoder.encode(
        new TextDecoder().decode(datagram(headers())).replaceAll("\r\n", "\n"),
      ),
    ],
    ["non-hex key", datagram(headers({ Infohash: "g".repeat(40) }))],
    ["39-digit key", datagram(headers({ Infohash: KEY.slice(1) }))],
    ["41-digit key", datagram(headers({ Infohash: KEY + "0" }))],
    ["no key", datagram(headers({ Infohash: undefined }))],
    [
      "too many keys",
      datagram([
        ...headers(),
        ...Array.from(
          { length: MAX_KEYS_PER_MESSAGE },
          () => `Infohash: ${randomKey()}`,
        ),
      ]),
    ],
    ["port 0", datagram(headers({ Port: "0" }))],
    ["port 70000", datagram(headers({ Port: "70000" }))],
    ["port -1", datagram(headers({ Port: "-1" }))],
    ["port 6e3", datagram(headers({ Port: "6e3" }))],
    ["port 0x10", datagram(headers({ Port: "0x10" }))],
    ["no port", datagram(headers({ Port: undefined }))],
    ["two ports", datagram([...headers(), "Port: 6001"])],
    ["no cookie", datagram(headers({ cookie: undefined }))],
    ["empty cookie", datagram(headers({ cookie: "" }))],
    ["65-char cookie", datagram(headers({ cookie: "c".repeat(65) }))],
    ["cookie with a space", datagram(headers({ cookie: "a b" }))],
    ["two cookies", datagram([...headers(), "cookie: other"])],
    ["non-ASCII cookie", datagram(headers({ cookie: "café" }))],
    ["no host", datagram(headers({ Host: undefined }))],
    ["IPv6 host", datagram(headers({ Host: "[ff15::efc0:988f]:6771" }))],
    ["a NUL byte", encoder.encode(`BT-SEARCH * HTTP/1.1\r\nPort: 6000\0\r\n`)],
  ];
  for (const [what, bytes] of hostile) {
    assertEquals(decodeLanMessage(bytes), undefined, what);
  }
  for (let i = 0; i < 5_000; i++) {
    const bytes = crypto.getRandomValues(new Uint8Array(i % 1_500));
    assertEquals(decodeLanMessage(bytes), undefined, `random ${i}`);
  }
});

Deno.test("encoding refuses what decoding would", () => {
  const good: LanMessage = {
    host: "239.192.152.143:6771",
    port: 6000,
    keys: [KEY],
    cookie: "c",
  };
  const bad: Partial<LanMessage>[] = [
    { port: 0 },
    { port: 65536 },
    { keys: [] },
    { keys: ["xyz"] },
    { keys: Array.from({ length: MAX_KEYS_PER_MESSAGE + 1 }, randomKey) },
    { cookie: "" },
    { cookie: "a\r\nPort: 1" },
    { host: "example.com:6771" },
  ];
  for (const change of bad) {
    assertThrows(() => encodeLanMessage({ ...good, ...change }), RangeError);
  }
});

Deno.test("discoveryKey() is 40 hex digits of SHA-256 over the name, stable, and differs by name", async () => {
  const id = "ab".repeat(32);
  const key = discoveryKey(id);
  assert(/^[0-9a-f]{40}$/.test(key), key);
  assertEquals(discoveryKey(id), key);
  const digest = await crypto.subtle.digest(
    "SHA-256",
    encoder.encode(`p2p discovery v1\n${id}`),
  );
  const hex = Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  assertEquals(key, hex.slice(0, 40));
  assert(discoveryKey("ab".repeat(31) + "ac") !== key);
  assert(discoveryKey("") !== discoveryKey("\n"));
  assert(discoveryKey(id) !== id.slice(0, 40));
});

/** A test-only group and UDP port, so tests neither meet each other nor real LSD. */
function testGroup(): { group: string; udpPort: number } {
  return {
    group: `239.255.77.${1 + Math.floor(Math.random() * 250)}`,
    udpPort: 20_000 + Math.floor(Math.random() * 40_000),
  };
}

Deno.test("start() resolves to undefined, saying why, when it cannot join the group; bad options throw", async () => {
  const lines: string[] = [];
  const lan = await LanDiscovery.start({
    port: 7001,
    interface: "192.0.2.123", // TEST-NET-1: not an address of this host
    ...testGroup(),
    log: (line) => lines.push(line),
  });
  await lan?.close();
  assertEquals(lan, undefined);
  assertEquals(lines.length, 1);
  assert(lines[0].startsWith("LAN discovery is off: cannot join"), lines[0]);
  for (
    const bad of [{ port: 0 }, { port: 7001, udpPort: 70_000 }, {
      port: 7001,
      group: "10.0.0.1",
    }]
  ) {
    await assertRejects(() => LanDiscovery.start(bad), RangeError);
  }
});

/** Why multicast on 127.0.0.1 cannot be tested here, or undefined if it can. */
async function loopbackProblem(): Promise<string | undefined> {
  const lines: string[] = [];
  const lan = await LanDiscovery.start({
    port: 1,
    interface: LOCAL,
    ...testGroup(),
    log: (line) => lines.push(line),
  });
  if (!lan) return `no multicast on ${LOCAL}: ${lines.join(" ")}`;
  await lan.close();
  return undefined;
}

const loopbackTest = requiring(await loopbackProblem());

/** A discovery on 127.0.0.1 in `where`; its log lines go to `log`. */
async function startLocal(
  where: { group: string; udpPort: number },
  port: number,
  log: string[] = [],
): Promise<LanDiscovery> {
  const options: LanDiscoveryOptions = {
    port,
    interface: LOCAL,
    ...where,
    log: (line) => log.push(line),
  };
  const lan = await LanDiscovery.start(options);
  assert(lan, `LanDiscovery.start failed: ${log.join(" ")}`);
  return lan;
}

/** The first peer `lan` finds for `key`, within `ms`. */
async function firstPeer(
  lan: LanDiscovery,
  key: string,
  ms: number,
): Promise<Address> {
  let search: Disposable | undefined;
  try {
    return await within(
      new Promise<Address>((resolve) => search = lan.find(key, resolve)),
      ms,
      "finding a peer",
    );
  } finally {
    search?.[Symbol.dispose]();
  }
}

loopbackTest(
  "a peer that finds a key hears at once from one that offers it, on 127.0.0.1",
  async () => {
    const where = testGroup();
    await using a = await startLocal(where, 7001);
    await using b = await startLocal(where, 7002);
    const key = discoveryKey("file one");
    a.offer(key);
    // A has announced already; B's search makes A answer without waiting
    // for B's next try.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = performance.now();
    assertEquals(await firstPeer(b, key, 3_000), { host: LOCAL, port: 7001 });
    const ms = performance.now() - started;
    assert(ms < FIND_FIRST_RETRY_MS, `found after ${ms} ms`);
  },
);

loopbackTest(
  "two sharers of a key answer each other once, not back and forth",
  async () => {
    const where = testGroup();
    await using a = await startLocal(where, 7001);
    await using b = await startLocal(where, 7002);
    const key = discoveryKey("shared by both");
    a.offer(key);
    b.offer(key);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    // Each: its offer, and at most one answer to the other's.
    assert(
      a.stats.sent <= 2 && b.stats.sent <= 2,
      `${a.stats.sent}, ${b.stats.sent}`,
    );
  },
);

loopbackTest(
  "a search hears of a key offered after it started, and never of itself",
  async () => {
    const where = testGroup();
    await using a = await startLocal(where, 7001);
    await using b = await startLocal(where, 7002);
    const key = discoveryKey("file two");
    a.offer(key); // A offers and searches the same key: it must not find itself.
    const heardByA: Address[] = [];
    using _a = a.find(key, (peer) => heardByA.push(peer));
    const found = firstPeer(a, key, 3_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    b.offer(key);
    assertEquals(await found, { host: LOCAL, port: 7002 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assertEquals(heardByA, [{ host: LOCAL, port: 7002 }]);
  },
);

loopbackTest("a withdrawn key is no longer answered", async () => {
  const where = testGroup();
  await using a = await startLocal(where, 7001);
  await using b = await startLocal(where, 7002);
  const key = discoveryKey("file three");
  a.offer(key);
  a.withdraw(key);
  const heard: Address[] = [];
  {
    using _search = b.find(key, (peer) => heard.push(peer));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
  }
  assertEquals(heard, []);
});

loopbackTest(
  "offers and searches stop at MAX_LAN_KEYS, logged, and close() ends searches left running",
  async () => {
    const log: string[] = [];
    const lan = await startLocal(testGroup(), 7001, log);
    try {
      const keys = Array.from({ length: MAX_LAN_KEYS + 1 }, randomKey);
      const offered = keys.map((key) => lan.offer(key));
      assertEquals(offered.filter((ok) => !ok).length, 1);
      assert(!offered[MAX_LAN_KEYS]);
      // Left undisposed on purpose: close() must stop their timers.
      keys.forEach((key) => lan.find(key, () => {}));
      assertEquals(lan.stats.keys, 2 * MAX_LAN_KEYS);
      assertEquals(log.length, 2, log.join(" | "));
      assertThrows(() => lan.offer("not a key"), TypeError);
    } finally {
      await lan.close();
    }
    assertEquals(lan.stats.keys, 0);
    assertEquals(lan.offer(randomKey()), false);
    lan.find(randomKey(), () => {})[Symbol.dispose]();
  },
);

/** A plain socket sending multicast over 127.0.0.1. */
async function flooder(): Promise<Socket> {
  const socket = createSocket({ type: "udp4" });
  await new Promise<void>((resolve) => socket.bind(0, LOCAL, resolve));
  socket.setMulticastInterface(LOCAL);
  socket.setMulticastLoopback(true);
  socket.setMulticastTTL(1);
  return socket;
}

/** Sends every datagram `make(i)` for i below `count`, 200 at a time. */
async function flood(
  socket: Socket,
  where: { group: string; udpPort: number },
  count: number,
  make: (i: number) => Uint8Array,
): Promise<void> {
  for (let i = 0; i < count; i += 200) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 200); j++) {
      batch.push(
        new Promise<void>((resolve) =>
          socket.send(make(j), where.udpPort, where.group, () => resolve())
        ),
      );
    }
    await Promise.all(batch);
  }
}

loopbackTest(
  "a flood of 20,000 malformed and 20,000 valid datagrams leaves both peers working and within their caps",
  async () => {
    const where = testGroup();
    const logA: string[] = [];
    const logB: string[] = [];
    await using a = await startLocal(where, 7001, logA);
    await using b = await startLocal(where, 7002, logB);
    const offered = discoveryKey("offered by A");
    const crowded = discoveryKey("claimed by the flood");
    a.offer(offered);
    let crowdHeard = 0;
    using _crowd = b.find(crowded, () => crowdHeard++);
    assertEquals(await firstPeer(b, offered, 3_000), {
      host: LOCAL,
      port: 7001,
    });
    const sentBefore = a.stats.sent;

    const socket = await flooder();
    const started = performance.now();
    try {
      const good = (i: number) =>
        encodeLanMessage({
          host: `${where.group}:${where.udpPort}`,
          port: 1 + (i % 65535),
          // Every tenth claims the key A offers; most, the one B seeks.
          keys: [
            randomKey(),
            ...(i % 10 === 0 ? [offered] : []),
            ...(i % 10 > 2 ? [crowded] : []),
          ],
          cookie: `flood${i}`,
        });
      const bad = (i: number) =>
        i % 4 === 0
          ? crypto.getRandomValues(new Uint8Array(1 + (i % 1_600)))
          : datagram(headers({ Port: String(70_000 + i) }));
      // Malformed and valid, one after the other: 20,000 of each.
      await flood(socket, where, 40_000, (i) => i % 2 ? good(i) : bad(i));
    } finally {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
    const seconds = (performance.now() - started) / 1_000;

    for (const lan of [a, b]) {
      const stats = lan.stats;
      assert(stats.received > 100, JSON.stringify(stats));
      assert(stats.malformed > 0, JSON.stringify(stats));
      assertEquals(stats.keys, 1); // A's offer, B's search
      assert(stats.peers <= MAX_PEERS_PER_KEY, JSON.stringify(stats));
    }
    // B heard more claims than it keeps, and kept no more than its cap.
    assert(
      crowdHeard > MAX_PEERS_PER_KEY,
      `B heard ${crowdHeard} claims: ${JSON.stringify(b.stats)}`,
    );
    // A answers the key it offers at most once a second, however often it is asked.
    const answers = a.stats.sent - sentBefore;
    assert(
      answers <= Math.ceil(seconds) + 2,
      `${answers} answers in ${seconds} s`,
    );
    assertEquals(
      [...logA, ...logB].filter((line) =>
        /dropped a datagram|failed/.test(line)
      ),
      [],
    );
    // Both still work: a key offered now is found at once.
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // a fresh receive budget
    const later = discoveryKey("offered after the flood");
    a.offer(later);
    assertEquals(await firstPeer(b, later, 3_000), { host: LOCAL, port: 7001 });
    assertEquals(b.stats.keys, 1); // the search ended with its disposable
  },
);
