/**
 * The tracker's load as reported in `stats` and on `/metrics`: a real
 * tracker on 127.0.0.1 port 0 with its metrics on another free port, fed
 * by the real client; refusals by reason; the endpoint's one route; and
 * `tracker --metrics-port` as a process.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "../assert.ts";
import { closeQuietly, readUntilClosed, secureConnect } from "../_hostile.ts";
import { assertOneLine } from "../cli/_cli.ts";
import { runEntry, spawnEntry } from "../../scripts/_child.ts";
import type { Address } from "../../lib/net/connection.ts";
import { HASH_BYTES, MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import {
  type FileMeta,
  fromFrame,
  type Message,
  toFrame,
  type TrackerStats,
} from "../../lib/protocol/messages.ts";
import {
  TrackerClient,
  TrackerError,
} from "../../lib/discovery/tracker_client.ts";
import {
  startTracker,
  type TrackerOptions,
  type TrackerServer,
} from "../../lib/tracker/server.ts";
import { formatMetrics } from "../../lib/tracker/metrics_server.ts";
import { LoadCounters } from "../../lib/tracker/load_counters.ts";
import { VERSION } from "../../lib/protocol/version.ts";

const LOCAL = "127.0.0.1";
const encoder = new TextEncoder();

/** A file of two pieces whose ID starts with `prefix`. */
function meta(prefix: string): FileMeta {
  return {
    id: (prefix + "0".repeat(64)).slice(0, 64),
    name: `${prefix}.bin`,
    size: 2 * MIN_PIECE_SIZE,
    pieceSize: MIN_PIECE_SIZE,
    pieceHashes: new Uint8Array(2 * HASH_BYTES).fill(7),
  };
}

/** A tracker on 127.0.0.1 port 0 with metrics on a free port, closed on dispose. */
function tracker(
  options: TrackerOptions = {},
): TrackerServer & AsyncDisposable & { metrics: string } {
  const server = startTracker({
    host: LOCAL,
    port: 0,
    metrics: { port: 0 },
    ...options,
  });
  return Object.assign(server, {
    metrics: server.metricsUrl!,
    [Symbol.asyncDispose]: () => server.close(),
  });
}

/** A client of `address`, closed on dispose. */
async function client(address: Address): Promise<TrackerClient & Disposable> {
  const c = await TrackerClient.connect(address);
  return Object.assign(c, { [Symbol.dispose]: () => c.close() });
}

/**
 * Fetches `url` and parses the exposition text: sample (`name` or
 * `name{labels}`) to value. Every sample's metric has a HELP and a TYPE
 * line before it.
 */
async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  assertEquals(response.status, 200);
  assert(response.headers.get("content-type")!.startsWith("text/plain"));
  return parseMetrics(await response.text());
}

function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const described = new Set<string>();
  for (const line of text.trimEnd().split("\n")) {
    const help = /^# (HELP|TYPE) (\S+) /.exec(line);
    if (help) {
      described.add(`${help[1]} ${help[2]}`);
      continue;
    }
    const sample = /^(p2p_tracker_[a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    assert(sample, `not a sample: ${line}`);
    assert(described.has(`HELP ${sample[1]}`), `no HELP for ${sample[1]}`);
    assert(described.has(`TYPE ${sample[1]}`), `no TYPE for ${sample[1]}`);
    samples.set(sample[1] + (sample[2] ?? ""), Number(sample[3]));
  }
  return samples;
}

/** Polls `check` every 20 ms for up to 3 s. */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + 3_000;
  while (!await check()) {
    assert(Date.now() < until, "condition not met within 3 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("/metrics and the stats answer report the peers, files, registrations and announces registered through the client", async () => {
  await using server = tracker();
  using a = await client(server.address);
  using b = await client(server.address);
  await a.register(meta("aa"), 6001);
  await a.register(meta("bb"), 6001);
  await b.register(meta("aa"), 6002);
  assertEquals(await a.announce([meta("aa").id, meta("bb").id], 6001), []);
  await b.query(meta("aa").id);
  await b.list();

  const m = await scrape(server.metrics);
  assertEquals(m.get("p2p_tracker_peers"), 2);
  assertEquals(m.get("p2p_tracker_files"), 2);
  assertEquals(m.get("p2p_tracker_registrations"), 3);
  assertEquals(m.get("p2p_tracker_announces_total"), 4);
  assertEquals(m.get("p2p_tracker_queries_total"), 2);
  assertEquals(m.get("p2p_tracker_requests_total"), 6);
  assertEquals(m.get("p2p_tracker_connections"), 2);
  assertEquals(m.get("p2p_tracker_pending_handshakes"), 0);
  assert(m.get("p2p_tracker_announces_per_second")! > 0);
  assert(m.get("p2p_tracker_queries_per_second")! > 0);
  assert(m.get("p2p_tracker_received_bytes_total")! > 0);
  assertEquals(m.get('p2p_tracker_refused_total{reason="rate-limit"}'), 0);
  assertEquals(m.get("p2p_tracker_rate_waits_total"), 0);
  assertEquals(m.get("p2p_tracker_out_of_files_total"), 0);

  const stats = await a.stats();
  assertEquals(stats.peers, m.get("p2p_tracker_peers"));
  assertEquals(stats.files, m.get("p2p_tracker_files"));
  assertEquals(stats.registrations, m.get("p2p_tracker_registrations"));
  assertEquals(stats.announces, m.get("p2p_tracker_announces_total"));
  assertEquals(stats.queries, m.get("p2p_tracker_queries_total"));
  assertEquals(stats.requests, m.get("p2p_tracker_requests_total"));
  assertEquals(stats.connections, 2);
  assertEquals(stats.pendingHandshakes, 0);
  assert(stats.announcesPerSecond! > 0 && stats.queriesPerSecond! > 0);
  assertEquals(stats.refused, {});
});

Deno.test("a burst past the rate limit, a bad request and a connection over the cap show in refused by reason", async () => {
  await using server = tracker({
    queryBurst: 2,
    queriesPerSecond: 0.01,
    maxConnectionsPerAddress: 2,
  });
  using c = await client(server.address);
  let busy = 0;
  for (let i = 0; i < 5; i++) {
    await c.list().catch((error) => {
      assert(error instanceof TrackerError && error.code === "busy", error);
      busy++;
    });
  }
  assertEquals(busy, 3);
  using bad = await secureConnect({ port: server.address.port });
  const json = encoder.encode('{"type":"nonsense"}');
  const frame = new Uint8Array(4 + json.length);
  new DataView(frame.buffer).setUint32(0, json.length);
  frame.set(json, 4);
  await bad.write(frame);
  const { replies } = await readUntilClosed(bad);
  assertEquals(replies.map((m) => m.type === "error" && m.code), [
    "bad-request",
  ]);
  // Two open (c and one more); a third from the same address is turned away.
  using second = await client(server.address);
  using third = await secureConnect({ port: server.address.port });
  await readUntilClosed(third);

  let m = new Map<string, number>();
  await eventually(async () => {
    m = await scrape(server.metrics);
    return m.get('p2p_tracker_refused_total{reason="address-full"}') === 1;
  });
  assertEquals(m.get('p2p_tracker_refused_total{reason="rate-limit"}'), 3);
  assertEquals(m.get('p2p_tracker_refused_total{reason="bad-request"}'), 1);
  assertEquals(m.get('p2p_tracker_refused_total{reason="quota"}'), 0);
  // Refused queries are answered too (with busy): they count as load.
  assertEquals(m.get("p2p_tracker_queries_total"), 5);
  // The rate limit holds `stats` too: the server's own answer, then.
  const stats = server.stats();
  assertEquals(stats.refused?.["rate-limit"], 3);
  assertEquals(stats.refused?.["bad-request"], 1);
  assertEquals(stats.refused?.["address-full"], 1);
  assertEquals(stats.connections, 2);
  second.close();
});

Deno.test("a registration past a quota counts as refused for quota", async () => {
  await using server = tracker({ quotas: { maxRegistrationsPerHost: 1 } });
  using c = await client(server.address);
  await c.register(meta("aa"), 6001);
  await assertRejects(() => c.register(meta("bb"), 6001), TrackerError);
  const m = await scrape(server.metrics);
  assertEquals(m.get('p2p_tracker_refused_total{reason="quota"}'), 1);
  assertEquals(m.get("p2p_tracker_registrations"), 1);
  assertEquals((await c.stats()).refused, { quota: 1 });
});

Deno.test("/metrics answers 404 elsewhere, survives a malformed request, and closes with the tracker", async () => {
  const server = tracker();
  try {
    const root = server.metrics.replace(/\/metrics$/, "");
    for (
      const [path, method] of [["/", "GET"], ["/metrics/x", "GET"], [
        "/metricsx",
        "GET",
      ], ["/x", "POST"]]
    ) {
      const response = await fetch(root + path, {
        method,
        signal: AbortSignal.timeout(5_000),
      });
      await response.body?.cancel();
      assertEquals(response.status, 404, `${method} ${path}`);
    }
    const { port } = new URL(server.metrics);
    const garbage = await Deno.connect({ hostname: LOCAL, port: +port });
    await garbage.write(encoder.encode("\x00\x01 NOT HTTP\r\n\r\n"));
    await drain(garbage);
    // One that never finishes its request does not hold the close up.
    const slow = await Deno.connect({ hostname: LOCAL, port: +port });
    await slow.write(encoder.encode("GET /metr"));
    assertEquals((await scrape(server.metrics)).get("p2p_tracker_files"), 0);
    using c = await client(server.address);
    assertEquals(await c.list(), []);
    c.close();
    try {
      await within(server.close(), 5_000);
    } finally {
      closeQuietly(slow);
    }
    await assertRejects(() => fetch(server.metrics));
  } finally {
    await server.close();
  }
});

Deno.test("/metrics answers another method than GET or HEAD with 405 and Allow: GET, HEAD; HEAD as GET without the body", async () => {
  await using server = tracker();
  for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
    const response = await fetch(server.metrics, {
      method,
      signal: AbortSignal.timeout(5_000),
    });
    await response.body?.cancel();
    assertEquals(response.status, 405, method);
    assertEquals(response.headers.get("allow"), "GET, HEAD", method);
  }
  const head = await fetch(server.metrics, {
    method: "HEAD",
    signal: AbortSignal.timeout(5_000),
  });
  assertEquals(head.status, 200);
  assert(head.headers.get("content-type")!.startsWith("text/plain"));
  assertEquals(await head.text(), "");
});

Deno.test("/metrics names the tracker's version in p2p_tracker_info", async () => {
  await using server = tracker();
  const m = await scrape(server.metrics);
  assertEquals(m.get(`p2p_tracker_info{version="${VERSION}"}`), 1);
  // No relay was given: no relay metrics.
  assert(![...m.keys()].some((name) => name.startsWith("p2p_tracker_relay")));
});

Deno.test("tracker --metrics-port shows its relay: sessions, bytes, and connections turned away by reason", async () => {
  await using child = spawnEntry("tracker.ts", [
    "--host",
    LOCAL,
    "--port",
    "0",
    "--relay-port",
    "0",
    "--metrics-port",
    "0",
  ]);
  const relayLine = await child.waitForLine(/^Relay listening on /, 20_000);
  const relayPort = Number(relayLine.match(/:(\d+) /)![1]);
  const line = await child.waitForLine(/^Metrics on /, 20_000);
  const url = line.slice(line.lastIndexOf(" ") + 1);
  const before = await scrape(url);
  assertEquals(before.get("p2p_tracker_relay_sessions"), 0);
  assertEquals(before.get("p2p_tracker_relay_waiting"), 0);
  assertEquals(before.get("p2p_tracker_relay_sessions_total"), 0);
  assertEquals(before.get("p2p_tracker_relay_bytes_total"), 0);
  assertEquals(before.get("p2p_tracker_relay_quota_reached_total"), 0);
  assertEquals(
    before.get('p2p_tracker_relay_refused_total{reason="bad-hello"}'),
    0,
  );
  // A hello that is no hello (24 bytes of zeros): closed, and counted.
  const conn = await Deno.connect({ hostname: LOCAL, port: relayPort });
  await conn.write(new Uint8Array(24));
  await drain(conn);
  await eventually(async () =>
    (await scrape(url)).get(
      'p2p_tracker_relay_refused_total{reason="bad-hello"}',
    ) === 1
  );
});

Deno.test("metrics on the tracker's own port are refused", async () => {
  const probe = Deno.listen({ hostname: LOCAL, port: 0 });
  const { port } = probe.addr;
  probe.close();
  let error: unknown;
  try {
    await startTracker({ host: LOCAL, port, metrics: { port } }).close();
  } catch (thrown) {
    error = thrown;
  }
  assert(error instanceof RangeError, String(error));
});

Deno.test("formatMetrics() leaves out what older stats lack and escapes reasons", () => {
  const load = new LoadCounters();
  load.answered("announce");
  const text = formatMetrics({
    files: 1,
    peers: 2,
    registrations: 3,
    requests: 4,
    uptimeMs: 1500,
    refused: { 'we"ird\\': 1 },
  });
  const m = parseMetrics(text);
  assertEquals(m.get("p2p_tracker_uptime_seconds"), 1.5);
  assertEquals(m.has("p2p_tracker_connections"), false);
  assertEquals(m.get('p2p_tracker_refused_total{reason="we\\"ird\\\\"}'), 1);
  assertEquals(m.get('p2p_tracker_refused_total{reason="quota"}'), 0);
  assert(text.includes("# TYPE p2p_tracker_refused_total counter\n"));
  assertEquals(load.report().announces, 1);
});

Deno.test("formatMetrics() adds the relay's gauges and counters when given them, and the version", () => {
  const text = formatMetrics({
    files: 0,
    peers: 0,
    registrations: 0,
    requests: 0,
    uptimeMs: 0,
  }, {
    version: '1.2.3"x',
    relay: {
      sessions: 2,
      waiting: 1,
      bytes: 4096,
      paired: 5,
      refused: { "not-expected": 3, busy: 1, hellos: 0, "bad-hello": 2 },
      quotaReached: 1,
      noPartner: 4,
    },
  });
  const m = parseMetrics(text);
  assertEquals(m.get('p2p_tracker_info{version="1.2.3\\"x"}'), 1);
  assertEquals(m.get("p2p_tracker_relay_sessions"), 2);
  assertEquals(m.get("p2p_tracker_relay_waiting"), 1);
  assertEquals(m.get("p2p_tracker_relay_sessions_total"), 5);
  assertEquals(m.get("p2p_tracker_relay_bytes_total"), 4096);
  assertEquals(m.get("p2p_tracker_relay_quota_reached_total"), 1);
  assertEquals(m.get("p2p_tracker_relay_no_partner_total"), 4);
  assertEquals(
    m.get('p2p_tracker_relay_refused_total{reason="not-expected"}'),
    3,
  );
  assertEquals(m.get('p2p_tracker_relay_refused_total{reason="hellos"}'), 0);
  assert(text.includes("# TYPE p2p_tracker_relay_bytes_total counter\n"));
  assert(text.includes("# TYPE p2p_tracker_relay_sessions gauge\n"));
});

Deno.test("announces and queries a second average over a sliding 10 s window", () => {
  let now = 50_000;
  const load = new LoadCounters({ now: () => now });
  now += 500;
  for (let i = 0; i < 4; i++) load.answered("register");
  // Half a second since start: counted over at least a second.
  assertEquals(load.report().announcesPerSecond, 4);
  now = 55_000;
  for (let i = 0; i < 16; i++) load.answered("announce");
  load.answered("query");
  // Five seconds since start, twenty announces.
  assertEquals(load.report().announcesPerSecond, 4);
  assertEquals(load.report().queriesPerSecond, 0.2);
  now = 60_500;
  // The first four fell out of the window (whole seconds 51..59 and half
  // of 60): sixteen in 9.5 s.
  assertEquals(load.report().announcesPerSecond, 1.68);
  now = 66_000;
  const report = load.report();
  assertEquals([report.announcesPerSecond, report.queriesPerSecond], [0, 0]);
  assertEquals([report.announces, report.queries, report.requests], [
    20,
    1,
    21,
  ]);
});

/** `stats` as a `stats-reply` sent and read back, through JSON. */
function overTheWire(stats: Record<string, unknown>): TrackerStats {
  const frame = toFrame({ type: "stats-reply", stats } as unknown as Message);
  const header = JSON.parse(JSON.stringify(frame.header));
  const reply = fromFrame({ header, binary: frame.binary });
  assert(reply.type === "stats-reply");
  return reply.stats;
}

Deno.test("a stats-reply carries the load fields, and refuses malformed ones", () => {
  const base = {
    files: 1,
    peers: 2,
    registrations: 3,
    requests: 4,
    uptimeMs: 5,
  };
  const full: TrackerStats = {
    ...base,
    connections: 6,
    pendingHandshakes: 7,
    announces: 8,
    queries: 9,
    announcesPerSecond: 0.8,
    queriesPerSecond: 12.25,
    refused: { "rate-limit": 3, "handshake-failed": 1 },
    rateWaits: 2,
    outOfFiles: 10,
    bytesReceived: 1024,
  };
  assertEquals(overTheWire({ ...full }), full);
  assertEquals(overTheWire({ ...base }), base);
  const many = Object.fromEntries(
    Array.from({ length: 33 }, (_, i) => [`r${i}`, 1]),
  );
  for (
    const [bad, kind] of [
      [{ announcesPerSecond: "1" }, TypeError],
      [{ queriesPerSecond: -1 }, RangeError],
      [{ connections: 1.5 }, TypeError],
      [{ refused: [] }, TypeError],
      [{ refused: { "Not A Reason": 1 } }, TypeError],
      [{ refused: { full: -1 } }, RangeError],
      [{ refused: many }, RangeError],
    ] as const
  ) {
    let error: unknown;
    try {
      overTheWire({ ...base, ...bad });
    } catch (thrown) {
      error = thrown;
    }
    assert(error instanceof kind, `${JSON.stringify(bad)}: ${error}`);
  }
});

Deno.test("tracker --metrics-port 0 prints the metrics URL and serves it; --metrics-host alone is refused", async () => {
  await using child = spawnEntry("tracker.ts", [
    "--host",
    LOCAL,
    "--port",
    "0",
    "--no-relay",
    "--metrics-port",
    "0",
  ]);
  const line = await child.waitForLine(/^Metrics on /, 20_000);
  const url = line.slice(line.lastIndexOf(" ") + 1);
  assert(url.startsWith(`http://${LOCAL}:`) && url.endsWith("/metrics"), url);
  assertEquals((await scrape(url)).get("p2p_tracker_peers"), 0);

  const alone = await runEntry("tracker.ts", ["--metrics-host", "0.0.0.0"]);
  assertEquals(alone.code, 2, alone.stderr);
  assert(assertOneLine(alone.stderr).includes("--metrics-port"));
});

/** Reads `conn` until the server closes it (or 5 s pass), then closes it. */
async function drain(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(4096);
  const timer = setTimeout(() => closeQuietly(conn), 5_000);
  try {
    while (await conn.read(buffer).catch(() => null) !== null) {
      // Whatever the server answers (a 400): it must not take it down.
    }
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
}

/** `promise`, or a rejection if it takes over `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Took over ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
