/**
 * DHT discovery on a DHT of our own on 127.0.0.1: plain bittorrent-dht
 * nodes in child processes (each allowed the network on 127.0.0.1 only)
 * and DhtDiscovery instances in this process, every one given a bootstrap
 * list of local nodes, so no test ever asks the public routers. A sharer is
 * found, a restart from the saved routing table alone finds it again, and
 * hostile datagrams leave a node working within bounded memory.
 *
 * @module
 */

import { concatBytes } from "../../lib/util/concat_bytes.ts";
import { createSocket, type Socket } from "node:dgram";
import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../assert.ts";
import { pollUntil, requiring, tempDir, within } from "../fixtures.ts";
import {
  DhtDiscovery,
  type DhtOptions,
  MAX_DHT_RECEIVED_PER_SECOND,
  MAX_STORED_PEERS,
} from "../../lib/discovery/dht.ts";
import { discoveryKey } from "../../lib/discovery/lan.ts";
import type { Address } from "../../lib/net/connection.ts";

const LOCAL = "127.0.0.1";
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const encoder = new TextEncoder();

/** A plain bittorrent-dht node: prints its port, runs until stdin closes. */
const NODE_SCRIPT = `
import DHT from "bittorrent-dht";
const seed = Deno.args[0];
const dht = new DHT({ bootstrap: seed === "none" ? false : [seed] });
dht.on("error", (error) => { console.error(error.message); Deno.exit(1); });
dht.listen(0, "${LOCAL}", () => console.log("PORT " + dht.address().port));
await Deno.stdin.readable.pipeTo(new WritableStream());
dht.destroy(() => Deno.exit(0));
`;

/** Why UDP on 127.0.0.1 cannot be tested here, or undefined if it can. */
async function udpProblem(): Promise<string | undefined> {
  const socket = createSocket("udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, LOCAL, () => {
        socket.once("message", () => resolve());
        socket.send(encoder.encode("x"), socket.address().port, LOCAL);
      });
    });
    return undefined;
  } catch (error) {
    return `no UDP on ${LOCAL}: ${(error as Error).message}`;
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

const udpTest = requiring(await udpProblem());

/** `size` plain DHT nodes, each its own process, joined through the first. */
async function localDht(
  size: number,
): Promise<{ seed: string } & AsyncDisposable> {
  const dir = await tempDir();
  const script = join(dir.path, "dht_node.ts");
  await Deno.writeTextFile(script, NODE_SCRIPT);
  const children: Deno.ChildProcess[] = [];
  const spawn = async (seed: string): Promise<string> => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-lock",
        "--config",
        CONFIG,
        `--allow-net=${LOCAL}`,
        "--allow-env",
        script,
        seed,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    children.push(child);
    const line = await within(firstLine(child.stdout), 20_000, "a DHT node");
    assert(line.startsWith("PORT "), `a DHT node said "${line}"`);
    return `${LOCAL}:${line.slice(5)}`;
  };
  const stop = async () => {
    for (const child of children) {
      try {
        child.kill("SIGKILL");
      } catch {
        // exited already
      }
    }
    await Promise.all(children.map(async (child) => {
      await child.stdin.close().catch(() => {});
      await child.stdout.cancel().catch(() => {});
      await child.status;
    }));
    await dir[Symbol.asyncDispose]();
  };
  try {
    const seed = await spawn("none");
    await Promise.all(Array.from({ length: size - 1 }, () => spawn(seed)));
    return { seed, [Symbol.asyncDispose]: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The first line of `stream`; the stream is left readable for the rest. */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
  return text.split("\n")[0].trim();
}

/**
 * Options for a DhtDiscovery on 127.0.0.1, any UDP port. The bootstrap list
 * is required and local: a test never falls back to the public routers.
 */
function localOptions(
  bootstrap: string[],
  more: Partial<DhtOptions> & { logs?: string[] } = {},
): DhtOptions {
  assert(bootstrap.every((node) => node.startsWith(`${LOCAL}:`)));
  const logs = more.logs ?? [];
  return {
    port: 1,
    udpPort: 0,
    host: LOCAL,
    log: (line) => logs.push(line),
    ...more,
    bootstrap,
  };
}

async function started(options: DhtOptions): Promise<DhtDiscovery> {
  const logs: string[] = [];
  const dht = await DhtDiscovery.start({
    ...options,
    log: (line) => {
      logs.push(line);
      options.log?.(line);
    },
  });
  assert(dht, `DhtDiscovery.start failed: ${logs.join(" ")}`);
  return dht;
}

/** Every peer `dht` finds for `key`, until disposed; `first` resolves to the first with `port`. */
function collect(
  dht: DhtDiscovery,
  key: string,
  port: number,
): { peers: Address[]; first: Promise<Address> } & Disposable {
  const peers: Address[] = [];
  let resolve!: (address: Address) => void;
  const first = new Promise<Address>((r) => resolve = r);
  const search = dht.find(key, (peer) => {
    peers.push(peer);
    if (peer.port === port) resolve(peer);
  });
  return { peers, first, [Symbol.dispose]: () => search[Symbol.dispose]() };
}

async function announced(dht: DhtDiscovery): Promise<void> {
  await pollUntil(10_000, () => Promise.resolve(dht.stats.announces > 0));
}

Deno.test("start() refuses bad options and keys, and resolves to undefined when the port is taken", async () => {
  for (
    const bad of [
      { port: 0 },
      { port: 70_000 },
      { port: 7001, udpPort: -1 },
      { port: 7001, reannounceMs: 0 },
      { port: 7001, bootstrap: ["no-port"] },
      { port: 7001, bootstrap: ["[::1]:6881"] },
      { port: 7001, bootstrap: ["127.0.0.1:0"] },
    ]
  ) {
    await assertRejects(() => DhtDiscovery.start(bad), RangeError);
  }
  const logs: string[] = [];
  const holder = createSocket("udp4");
  await new Promise<void>((resolve) => holder.bind(0, LOCAL, resolve));
  try {
    const dht = await DhtDiscovery.start(
      localOptions([], { udpPort: holder.address().port, logs }),
    );
    await dht?.close();
    assertEquals(dht, undefined);
    assert(logs[0]?.startsWith("DHT discovery is off: cannot bind"), logs[0]);
  } finally {
    await new Promise<void>((resolve) => holder.close(() => resolve()));
  }
  const elsewhere = await DhtDiscovery.start(
    localOptions([], { host: "192.0.2.123", logs }), // TEST-NET-1: not ours
  );
  await elsewhere?.close();
  assertEquals(elsewhere, undefined);
  assert(
    logs.at(-1)?.startsWith("DHT discovery is off: cannot bind"),
    logs.at(-1),
  );
  await using dht = await started(localOptions([]));
  assertThrows(() => dht.offer("xyz"), TypeError);
  assertThrows(() => dht.find("g".repeat(40), () => {}), TypeError);
  await dht.close();
  await dht.close();
  assertEquals(dht.offer(discoveryKey("late")), false);
});

Deno.test("without --allow-env or all of --allow-net, start() says what it needs and resolves to undefined", async () => {
  await using dir = await tempDir();
  const script = join(dir.path, "no_env.ts");
  const dht = new URL("../../lib/discovery/dht.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { DhtDiscovery } from "${dht}";
const lines = [];
const dht = await DhtDiscovery.start({ port: 1, bootstrap: [], log: (l) => lines.push(l) });
console.log(JSON.stringify({ off: dht === undefined, lines }));`,
  );
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-lock",
      "--config",
      CONFIG,
      `--allow-net=${LOCAL}`,
      script,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const said = JSON.parse(new TextDecoder().decode(stdout));
  assertEquals(said, {
    off: true,
    lines: ["DHT discovery is off: it needs --allow-net and --allow-env."],
  });
});

udpTest(
  "an offered key is announced again every reannounceMs, until withdrawn",
  async () => {
    await using seed = await started(localOptions([]));
    await using sharer = await started(
      localOptions([`${LOCAL}:${seed.udpPort}`], { reannounceMs: 300 }),
    );
    const key = discoveryKey("announced often");
    assertEquals(sharer.offer(key), true);
    assertEquals(sharer.offer(key), true);
    await pollUntil(5_000, () => Promise.resolve(sharer.stats.announces >= 3));
    sharer.withdraw(key);
    await new Promise((resolve) => setTimeout(resolve, 400)); // one in flight
    const announces = sharer.stats.announces;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assertEquals(sharer.stats.announces, announces);
    assertEquals(sharer.stats.keys, 0);
  },
);

udpTest(
  "with the default UDP port taken, start() takes any free port",
  async () => {
    const holder = createSocket("udp4");
    let held = true;
    await new Promise<void>((resolve) => {
      holder.once("error", () => {
        held = false; // someone else holds it: the fallback is tested all the same
        resolve();
      });
      holder.bind(6881, LOCAL, resolve);
    });
    try {
      const logs: string[] = [];
      await using dht = await started(
        { ...localOptions([], { logs }), udpPort: undefined },
      );
      assert(dht.udpPort !== 6881 && dht.udpPort > 0, `port ${dht.udpPort}`);
      if (held) {
        assert(
          logs.some((line) => line.includes("6881 is taken")),
          logs.join(),
        );
      }
    } finally {
      if (held) {
        await new Promise<void>((resolve) => holder.close(() => resolve()));
      }
    }
  },
);

udpTest("a missing, corrupt or huge nodes file is ignored", async () => {
  await using dir = await tempDir();
  const cases: [string, string | undefined, boolean][] = [
    ["missing.json", undefined, false],
    ["corrupt.json", "{not json", true],
    ["wrong.json", '{"nodes": 5}', true],
    ["huge.json", " ".repeat(70_000), true],
  ];
  for (const [name, text, logged] of cases) {
    const path = join(dir.path, name);
    if (text !== undefined) await Deno.writeTextFile(path, text);
    const logs: string[] = [];
    const dht = await started(localOptions([], { nodesFile: path, logs }));
    await dht.close();
    assertEquals(
      logs.some((l) => l.startsWith("Ignoring saved")),
      logged,
      name,
    );
    // An empty table never overwrites what an earlier run saved.
    assertEquals(await Deno.readTextFile(path).catch(() => undefined), text);
  }
});

udpTest(
  "a finder hears a sharer's port through a local DHT of 20 nodes, and only for its key",
  async () => {
    await using net = await localDht(17);
    await using sharer = await started(
      localOptions([net.seed], { port: 40001 }),
    );
    await using bystander = await started(
      localOptions([net.seed], { port: 40002 }),
    );
    await using finder = await started(localOptions([net.seed]));
    const key = discoveryKey("a public file");
    const other = discoveryKey("another file");
    sharer.offer(key);
    bystander.offer(other);
    await announced(sharer);
    await announced(bystander);
    const start = performance.now();
    using mine = collect(finder, key, 40001);
    using theirs = collect(finder, other, 40002);
    assertEquals(
      await within(mine.first, 10_000, "finding the sharer"),
      { host: LOCAL, port: 40001 },
    );
    await within(theirs.first, 10_000, "finding the bystander");
    const ms = Math.round(performance.now() - start);
    assert(mine.peers.every((p) => p.port === 40001), JSON.stringify(mine));
    assert(theirs.peers.every((p) => p.port === 40002), JSON.stringify(theirs));
    assertEquals(mine.peers.length, 1, `found after ${ms} ms`);
    // A second finder of the key hears of the peer already found.
    const again = await within(
      new Promise<Address>((resolve) => {
        const search = finder.find(key, (peer) => {
          queueMicrotask(() => search[Symbol.dispose]());
          resolve(peer);
        });
      }),
      1_000,
      "hearing of the known peer",
    );
    assertEquals(again, { host: LOCAL, port: 40001 });
    const stats = finder.stats;
    assert(
      stats.nodes > 5 && stats.lookups >= 2 && stats.peers === 2,
      JSON.stringify(stats),
    );
    assertEquals(stats.keys, 2);
  },
);

udpTest(
  "a node restarted from its saved routing table alone finds the key again",
  async () => {
    await using dir = await tempDir();
    const nodesFile = join(dir.path, "dht_nodes.json");
    await using net = await localDht(17);
    await using sharer = await started(
      localOptions([net.seed], { port: 40003 }),
    );
    const key = discoveryKey("kept across restarts");
    sharer.offer(key);
    await announced(sharer);
    const first = await started(localOptions([net.seed], { nodesFile }));
    {
      using search = collect(first, key, 40003);
      await within(search.first, 10_000, "finding the sharer");
    }
    await first.close();
    const saved = JSON.parse(await Deno.readTextFile(nodesFile));
    assert(/^[0-9a-f]{40}$/.test(saved.id), JSON.stringify(saved.id));
    assert(saved.nodes.length >= 5, `${saved.nodes.length} nodes saved`);
    assertEquals(
      (await Array.fromAsync(Deno.readDir(dir.path))).map((e) => e.name),
      ["dht_nodes.json"],
    );
    await using second = await started(localOptions([], { nodesFile }));
    using search = collect(second, key, 40003);
    assertEquals(
      await within(search.first, 10_000, "finding the sharer after a restart"),
      { host: LOCAL, port: 40003 },
    );
  },
);

udpTest(
  "hostile datagrams leave a node working, its memory and peer store bounded",
  async () => {
    await using net = await localDht(8);
    await using sharer = await started(
      localOptions([net.seed], { port: 40004 }),
    );
    await using victim = await started(localOptions([net.seed]));
    const key = discoveryKey("still found");
    sharer.offer(key);
    await announced(sharer);
    const rssBefore = Deno.memoryUsage().rss;
    const attacker = createSocket("udp4");
    await new Promise<void>((resolve) => attacker.bind(0, LOCAL, resolve));
    try {
      const target = victim.udpPort;
      await blast(attacker, target, 20_000, randomDatagram);
      assert(victim.stats.dropped > 0, JSON.stringify(victim.stats));
      await nextWindow();
      const before = victim.stats.malformed;
      const crashes = crashPackets();
      await blast(
        attacker,
        target,
        crashes.length * 10,
        (i) => crashes[i % crashes.length],
      );
      await nextWindow();
      const bombs = nestingBombs();
      await blast(attacker, target, 200, (i) => bombs[i % bombs.length]);
      await nextWindow();
      const huge = oversized();
      await blast(attacker, target, 60, (i) => huge[i % huge.length]);
      await nextWindow();
      const malformed = victim.stats.malformed - before;
      assert(
        malformed >= crashes.length * 10,
        `${malformed} malformed counted`,
      );
      await announceFlood(attacker, target, 2 * MAX_STORED_PEERS);
      const stored = victim.stats.stored;
      assert(stored <= MAX_STORED_PEERS, `${stored} peers stored`);
      assert(stored >= MAX_STORED_PEERS / 2, `only ${stored} peers stored`);
    } finally {
      await new Promise<void>((resolve) => attacker.close(() => resolve()));
    }
    using search = collect(victim, key, 40004);
    assertEquals(
      await within(search.first, 10_000, "finding the sharer after the attack"),
      { host: LOCAL, port: 40004 },
    );
    const grown = (Deno.memoryUsage().rss - rssBefore) / 2 ** 20;
    assert(grown < 200, `RSS grew by ${grown.toFixed(0)} MB`);
  },
);

/** Sends `count` datagrams from `make`, 500 at a time. */
async function blast(
  socket: Socket,
  port: number,
  count: number,
  make: (i: number) => Uint8Array,
): Promise<void> {
  for (let i = 0; i < count; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 500); j++) {
      const bytes = make(j);
      batch.push(
        new Promise<void>((resolve) =>
          socket.send(bytes, port, LOCAL, () => resolve())
        ),
      );
    }
    await Promise.all(batch);
  }
}

/** Waits for the victim's next second of MAX_DHT_RECEIVED_PER_SECOND. */
function nextWindow(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1_050));
}

function randomDatagram(i: number): Uint8Array {
  const bytes = crypto.getRandomValues(
    new Uint8Array(1 + Math.floor(Math.random() * 1_400)),
  );
  if (i % 3 === 0) bytes[0] = 0x64; // "d": into the dictionary decoder
  if (i % 3 === 1) bytes[0] = 0x6c; // "l"
  return bytes;
}

type Bencode = number | string | Uint8Array | Bencode[] | {
  [key: string]: Bencode;
};

function bencode(value: Bencode): Uint8Array {
  const parts: Uint8Array[] = [];
  const write = (v: Bencode) => {
    if (typeof v === "number") parts.push(encoder.encode(`i${v}e`));
    else if (typeof v === "string") write(encoder.encode(v));
    else if (v instanceof Uint8Array) {
      parts.push(encoder.encode(`${v.length}:`), v);
    } else if (Array.isArray(v)) {
      parts.push(encoder.encode("l"));
      v.forEach(write);
      parts.push(encoder.encode("e"));
    } else {
      parts.push(encoder.encode("d"));
      for (const k of Object.keys(v).sort()) {
        write(k);
        write(v[k]);
      }
      parts.push(encoder.encode("e"));
    }
  };
  write(value);
  return concatBytes(parts);
}

const randomId = () => crypto.getRandomValues(new Uint8Array(20));

/** Queries whose fields have the wrong type: each made bittorrent-dht throw. */
function crashPackets(): Uint8Array[] {
  const id = randomId();
  const query = (q: string, a: Record<string, Bencode>) =>
    bencode({ t: "aa", y: "q", q, a: { id, ...a } });
  return [
    query("find_node", { target: 5 }),
    query("find_node", { target: [1, 2] }),
    query("find_node", { target: { x: 1 } }),
    query("get_peers", { info_hash: [1] }),
    query("get_peers", { info_hash: 12345 }),
    query("get_peers", { info_hash: { a: 1 } }),
    query("get", { target: 12345 }),
    query("get", { target: [1] }),
  ];
}

function nestingBombs(): Uint8Array[] {
  return [
    encoder.encode("l".repeat(30_000) + "e".repeat(30_000)),
    encoder.encode("d1:a".repeat(10_000) + "i1e" + "e".repeat(10_000)),
    encoder.encode("4294967295:abc"),
    encoder.encode("d1:t99999999999999999999:x"),
    encoder.encode("i" + "9".repeat(50_000) + "e"),
    encoder.encode("d1:y1:re"),
    encoder.encode("d1:t2:aa1:y1:ee"),
  ];
}

/** About 60 KB each. */
function oversized(): Uint8Array[] {
  const many: Record<string, Bencode> = {};
  for (let k = 0; k < 5_000; k++) many[`k${k}`] = k;
  return [
    bencode({ t: "aa", y: "q", q: "ping", a: many }),
    bencode({
      t: "aa",
      y: "q",
      q: "find_node",
      a: { id: randomId(), target: new Uint8Array(60_000) },
    }),
    bencode({
      t: "aa",
      y: "q",
      q: "get_peers",
      a: {
        id: randomId(),
        info_hash: Array.from({ length: 10_000 }, (_, i) => i),
      },
    }),
  ];
}

/**
 * Announces `count` peers for as many random keys with a valid token, paced
 * within the victim's budget, as a hostile node would to fill its store.
 */
async function announceFlood(
  socket: Socket,
  port: number,
  count: number,
): Promise<void> {
  const token = await new Promise<Uint8Array>((resolve) => {
    const onMessage = (bytes: Uint8Array) => {
      const text = new TextDecoder("latin1").decode(bytes);
      const at = text.indexOf("5:token");
      if (at < 0) return;
      socket.off("message", onMessage);
      const colon = text.indexOf(":", at + 7);
      const length = Number(text.slice(at + 7, colon));
      resolve(bytes.slice(colon + 1, colon + 1 + length));
    };
    socket.on("message", onMessage);
    socket.send(
      bencode({
        t: "tk",
        y: "q",
        q: "get_peers",
        a: { id: randomId(), info_hash: randomId() },
      }),
      port,
      LOCAL,
    );
  });
  const perWindow = Math.floor(MAX_DHT_RECEIVED_PER_SECOND * 0.8);
  for (let sent = 0; sent < count; sent += perWindow) {
    const n = Math.min(perWindow, count - sent);
    await blast(socket, port, n, (i) =>
      bencode({
        t: "ab",
        y: "q",
        q: "announce_peer",
        a: {
          id: randomId(),
          info_hash: randomId(),
          port: 1 + ((sent + i) % 60_000),
          token,
        },
      }));
    await nextWindow();
  }
}
