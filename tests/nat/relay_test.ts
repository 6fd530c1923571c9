/**
 * The relay end to end over real sockets on the loopback: pairing, the
 * refusals a peer is told about, bad hellos, the quota and the rates.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  EXPECT_TTL_MS,
  type Relay,
  type RelayOptions,
  type RelayStats,
  startRelay,
} from "../../lib/nat/relay_server.ts";
import {
  openRelayed,
  RelayError,
  type RelayFailure,
} from "../../lib/nat/relay_client.ts";
import type { Address } from "../../lib/net/connection.ts";
import { readFullAsync } from "../../lib/util/read_full.ts";
import { writeAllAsync } from "../../lib/util/write_all.ts";
import { closeQuietly } from "../../lib/util/close_quietly.ts";
import { within } from "../fixtures.ts";

const MIB = 1024 * 1024;
const LOCAL = "127.0.0.1";
/** Longest any one wait in these tests may take before the test fails. */
const WAIT_MS = 10_000;

/** `promise`, failing after `ms` (WAIT_MS unless said). */
const bounded = <T>(promise: Promise<T>, ms = WAIT_MS) => within(promise, ms);

/** A relay on a free loopback port, its log kept in `lines`. */
function testRelay(
  options: Partial<RelayOptions> = {},
): Relay & { lines: string[]; at(host?: string): Address } {
  const lines: string[] = [];
  const relay = startRelay({
    host: LOCAL,
    port: 0,
    log: (line) => lines.push(line),
    ...options,
  });
  return Object.assign(relay, {
    lines,
    at: (host = LOCAL) => ({ host, port: relay.address.port }),
  });
}

/** A relay's stats with nothing refused and these counts. */
function stats(counts: Partial<RelayStats> = {}): RelayStats {
  return {
    sessions: 0,
    waiting: 0,
    bytes: 0,
    paired: 0,
    refused: { "not-expected": 0, busy: 0, hellos: 0, "bad-hello": 0 },
    quotaReached: 0,
    noPartner: 0,
    ...counts,
  };
}

function newToken(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(16));
}

/** The hello exactly as the wire format says, built here independently. */
function hello(token: Uint8Array, role = 0): Uint8Array {
  return Uint8Array.of(0x50, 0x32, 0x50, 0x52, 1, role, 0, 0, ...token);
}

/** Both ends of one token's pair, paired. */
async function pair(
  relay: Address,
  token: Uint8Array,
): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const [a, b] = await bounded(Promise.allSettled([
    openRelayed({ relay, token, role: "asker" }),
    openRelayed({ relay, token, role: "asked" }),
  ]));
  if (a.status === "fulfilled" && b.status === "fulfilled") {
    return [a.value, b.value];
  }
  for (const end of [a, b]) if (end.status === "fulfilled") end.value.close();
  throw a.status === "rejected"
    ? a.reason
    : (b as PromiseRejectedResult).reason;
}

/** Asserts `opening` fails with a RelayError for `reason`; returns its message. */
async function assertRelayError(
  opening: Promise<unknown>,
  reason: RelayFailure,
): Promise<string> {
  const error = await assertRejects(() => bounded(opening), RelayError);
  assertEquals((error as RelayError).reason, reason);
  return error.message;
}

/** Reads until the other side ends (or resets); the bytes it got. */
async function readToEnd(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const got = await bounded(conn.read(buffer));
      if (got === null) break;
      chunks.push(buffer.slice(0, got));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
  }
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, (at += chunk.length) - chunk.length);
  }
  return all;
}

/** `size` random bytes (getRandomValues gives at most 64 KiB a call). */
function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) {
    crypto.getRandomValues(bytes.subarray(at, at + 65536));
  }
  return bytes;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

Deno.test("two peers paired through the relay exchange 8 MiB each way, byte for byte", async () => {
  const relay = testRelay();
  try {
    const token = newToken();
    relay.expect(token, { asker: LOCAL, asked: `::ffff:${LOCAL}` });
    const [asker, asked] = await pair(relay.at(), token);
    try {
      assertEquals(relay.stats().sessions, 1);
      const there = randomBytes(8 * MIB);
      const back = randomBytes(8 * MIB);
      const gotThere = new Uint8Array(there.length);
      const gotBack = new Uint8Array(back.length);
      const moved = await bounded(Promise.all([
        writeAllAsync(asker, there),
        writeAllAsync(asked, back),
        readFullAsync(asked, gotThere),
        readFullAsync(asker, gotBack),
      ]));
      assertEquals(moved.slice(2), [there.length, back.length]);
      assert(equalBytes(gotThere, there), "asker → asked bytes differ");
      assert(equalBytes(gotBack, back), "asked → asker bytes differ");
      await waitFor(() => relay.stats().bytes === 16 * MIB);
    } finally {
      asker.close();
    }
    // One side ending ends the other.
    assertEquals((await readToEnd(asked)).length, 0);
    asked.close();
    assertEquals(relay.stats(), stats({ bytes: 16 * MIB, paired: 1 }));
  } finally {
    await relay.close();
  }
});

Deno.test("openRelayed() fails as 'unknown' for a token never expected, from another host, or for a role taken", async () => {
  const relay = testRelay();
  try {
    const message = await assertRelayError(
      openRelayed({ relay: relay.at(), token: newToken(), role: "asker" }),
      "unknown",
    );
    assert(message.startsWith(`The relay at ${LOCAL}:`), message);
    const elsewhere = newToken();
    relay.expect(elsewhere, { asker: "192.0.2.7", asked: LOCAL });
    await assertRelayError(
      openRelayed({ relay: relay.at(), token: elsewhere, role: "asker" }),
      "unknown",
    );
    const token = newToken();
    relay.expect(token, { asker: LOCAL, asked: LOCAL });
    const first = openRelayed({ relay: relay.at(), token, role: "asker" });
    await waitFor(() => relay.stats().waiting === 1);
    await assertRelayError(
      openRelayed({ relay: relay.at(), token, role: "asker" }),
      "unknown",
    );
    const second = await bounded(
      openRelayed({ relay: relay.at(), token, role: "asked" }),
    );
    (await first).close();
    second.close();
    // A used token is spent.
    await assertRelayError(
      openRelayed({ relay: relay.at(), token, role: "asked" }),
      "unknown",
    );
    assertEquals(relay.stats().refused["not-expected"], 4);
  } finally {
    await relay.close();
  }
});

Deno.test("openRelayed() fails as 'no-partner' once the pair timeout passes without the other peer", async () => {
  const relay = testRelay({ pairTimeoutMs: 300 });
  try {
    const token = newToken();
    relay.expect(token, { asker: LOCAL, asked: LOCAL });
    const started = performance.now();
    const message = await assertRelayError(
      openRelayed({ relay: relay.at(), token, role: "asked" }),
      "no-partner",
    );
    const waited = performance.now() - started;
    assert(waited >= 280 && waited < 3000, `waited ${waited} ms`);
    assert(message.includes("did not come"), message);
    assertEquals(relay.stats(), stats({ noPartner: 1 }));
  } finally {
    await relay.close();
  }
});

Deno.test("the relay answers 'busy' over its total cap of sessions", async () => {
  const relay = testRelay({ maxSessions: 1 });
  const open: Deno.TcpConn[] = [];
  try {
    const first = newToken();
    relay.expect(first, { asker: LOCAL, asked: LOCAL });
    open.push(...await pair(relay.at(), first));
    const second = newToken();
    relay.expect(second, { asker: LOCAL, asked: LOCAL });
    const message = await assertRelayError(
      openRelayed({ relay: relay.at(), token: second, role: "asker" }),
      "busy",
    );
    assertEquals(
      message,
      `The relay at ${LOCAL}:${relay.address.port} is busy: try again later.`,
    );
    assertEquals(relay.stats().refused.busy, 1);
    for (const conn of open.splice(0)) conn.close();
    await waitFor(() => relay.stats().sessions === 0);
    // The token outlives a busy answer: once there is room, it pairs.
    open.push(...await pair(relay.at(), second));
  } finally {
    for (const conn of open) conn.close();
    await relay.close();
  }
});

Deno.test("the relay answers 'busy' over its cap of connections waiting for a partner", async () => {
  const relay = testRelay({ maxWaiting: 1 });
  const open: Deno.TcpConn[] = [];
  try {
    const [first, second] = [newToken(), newToken()];
    relay.expect(first, { asker: LOCAL, asked: LOCAL });
    relay.expect(second, { asker: LOCAL, asked: LOCAL });
    const waiting = openRelayed({
      relay: relay.at(),
      token: first,
      role: "asker",
    });
    await waitFor(() => relay.stats().waiting === 1);
    await assertRelayError(
      openRelayed({ relay: relay.at(), token: second, role: "asked" }),
      "busy",
    );
    open.push(
      await bounded(
        openRelayed({ relay: relay.at(), token: first, role: "asked" }),
      ),
    );
    open.push(await bounded(waiting));
    open.push(...await pair(relay.at(), second));
    assertEquals(relay.stats().sessions, 2);
  } finally {
    for (const conn of open) conn.close();
    await relay.close();
  }
});

Deno.test("the relay answers 'busy' to a host over its own cap while another host still gets a session", async () => {
  const relay = testRelay({ host: "::", maxSessionsPerHost: 1 });
  const open: Deno.TcpConn[] = [];
  try {
    const first = newToken();
    relay.expect(first, { asker: LOCAL, asked: LOCAL });
    open.push(...await pair(relay.at(LOCAL), first));
    const again = newToken();
    relay.expect(again, { asker: LOCAL, asked: LOCAL });
    await assertRelayError(
      openRelayed({ relay: relay.at(LOCAL), token: again, role: "asked" }),
      "busy",
    );
    const other = newToken();
    relay.expect(other, { asker: "::1", asked: "::1" });
    open.push(...await pair(relay.at("::1"), other));
    assertEquals(relay.stats().sessions, 2);
  } finally {
    for (const conn of open) conn.close();
    await relay.close();
  }
});

Deno.test("a bad hello closes that connection without a word and the relay serves a later pair", async () => {
  const relay = testRelay();
  try {
    const token = newToken();
    relay.expect(token, { asker: LOCAL, asked: LOCAL });
    const bad = [
      Uint8Array.of(0x50, 0x32, 0x50, 0x51, ...hello(token).subarray(4)), // magic
      Uint8Array.of(
        ...hello(token).subarray(0, 4),
        2,
        ...hello(token).subarray(5),
      ), // version
      hello(token, 2), // role
      Uint8Array.of(...hello(token).subarray(0, 7), 1, ...token), // reserved
    ];
    for (const bytes of bad) {
      const conn = await Deno.connect(relay.at());
      try {
        await writeAllAsync(conn, bytes);
        assertEquals((await readToEnd(conn)).length, 0);
      } finally {
        conn.close();
      }
    }
    assertEquals(relay.stats().refused["bad-hello"], bad.length);
    const [asker, asked] = await pair(relay.at(), token);
    await writeAllAsync(asker, Uint8Array.of(7));
    assertEquals(await bounded(readFullAsync(asked, new Uint8Array(1))), 1);
    asker.close();
    asked.close();
  } finally {
    await relay.close();
  }
});

Deno.test("connections over the cap of hellos at once are closed and counted as refused", async () => {
  const relay = testRelay({ maxHellos: 1 });
  const slow = await Deno.connect(relay.at());
  try {
    await writeAllAsync(slow, new Uint8Array(3)); // a hello begun, not sent
    // Accepted in order: the first holds the one place by now.
    const over = await Deno.connect(relay.at());
    try {
      assertEquals((await readToEnd(over)).length, 0);
    } finally {
      over.close();
    }
    assertEquals(relay.stats().refused.hellos, 1);
  } finally {
    slow.close();
    await relay.close();
  }
});

Deno.test("a hello sent in two halves with a pause still pairs", async () => {
  const relay = testRelay();
  const conn = await Deno.connect(relay.at());
  let partner: Deno.TcpConn | undefined;
  try {
    const token = newToken();
    relay.expect(token, { asker: LOCAL, asked: LOCAL });
    const bytes = hello(token, 1);
    await writeAllAsync(conn, bytes.subarray(0, 10));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await writeAllAsync(conn, bytes.subarray(10));
    partner = await bounded(
      openRelayed({ relay: relay.at(), token, role: "asker" }),
    );
    const status = new Uint8Array(1);
    assertEquals(await bounded(readFullAsync(conn, status)), 1);
    assertEquals(status[0], 0);
    await writeAllAsync(partner, Uint8Array.of(1, 2, 3));
    const got = new Uint8Array(3);
    assertEquals(await bounded(readFullAsync(conn, got)), 3);
    assertEquals(got, Uint8Array.of(1, 2, 3));
  } finally {
    partner?.close();
    conn.close();
    await relay.close();
  }
});

Deno.test("a hello that stops half way is closed after the hello deadline", async () => {
  const relay = testRelay({ helloTimeoutMs: 300 });
  const conn = await Deno.connect(relay.at());
  try {
    const started = performance.now();
    await writeAllAsync(conn, hello(newToken()).subarray(0, 12));
    assertEquals((await readToEnd(conn)).length, 0);
    const waited = performance.now() - started;
    assert(waited >= 280 && waited < 3000, `closed after ${waited} ms`);
    assert(
      relay.lines.some((line) => line.includes("timed out")),
      relay.lines.join("\n"),
    );
  } finally {
    conn.close();
    await relay.close();
  }
});

Deno.test("at the byte quota the asked end hears the end, what it still sends before closing reaches the asker, and nothing is cut", async () => {
  const quota = 1 * MIB;
  const relay = testRelay({ sessionQuota: quota });
  try {
    const token = newToken();
    relay.expect(token, { asker: LOCAL, asked: LOCAL });
    const [asker, asked] = await pair(relay.at(), token);
    try {
      // Pieces answered before the quota.
      const before = randomBytes(768 * 1024);
      await writeAllAsync(asked, before);
      const got = new Uint8Array(before.length);
      assertEquals(await bounded(readFullAsync(asker, got)), before.length);
      assert(equalBytes(got, before), "the bytes before the quota differ");
      // Requests over the quota: the asked end gets them up to it, then
      // its end of the stream; the rest is dropped, not queued.
      const asks = randomBytes(512 * 1024);
      const asking = writeAllAsync(asker, asks);
      const heard = await readToEnd(asked);
      assertEquals(heard.length, quota - before.length);
      assert(equalBytes(heard, asks.subarray(0, heard.length)), "asks differ");
      await bounded(asking);
      // What the asked end still sends (the pieces on their way) before it
      // closes, as a peer server does when its downloader stops asking.
      const after = randomBytes(1 * MIB);
      await writeAllAsync(asked, after);
      asked.close();
      const late = await readToEnd(asker);
      assertEquals(late.length, after.length, "cut at the quota");
      assert(equalBytes(late, after), "the bytes after the quota differ");
      asker.close();
      await waitFor(() => relay.stats().sessions === 0);
      assertEquals(
        relay.stats(),
        stats({ bytes: quota + after.length, paired: 1, quotaReached: 1 }),
      );
      assert(
        relay.lines.some((line) => line.endsWith("its byte quota was reached")),
        relay.lines.join("\n"),
      );
    } finally {
      closeQuietly(asker);
      closeQuietly(asked);
    }
  } finally {
    await relay.close();
  }
});

Deno.test("past the byte quota the asked end may send its drain and no more", async () => {
  const quota = 256 * 1024;
  const quotaDrain = 128 * 1024;
  const relay = testRelay({ sessionQuota: quota, quotaDrain });
  try {
    const token = newToken();
    relay.expect(token, { asker: LOCAL, asked: LOCAL });
    const [asker, asked] = await pair(relay.at(), token);
    try {
      await writeAllAsync(asker, randomBytes(quota));
      assertEquals((await readToEnd(asked)).length, quota);
      // An asked end that goes on and on instead of closing.
      const flooding = flood(asked);
      assertEquals((await readToEnd(asker)).length, quotaDrain);
      await flooding.stop();
      await waitFor(() => relay.stats().sessions === 0);
      assertEquals(
        relay.stats(),
        stats({ bytes: quota + quotaDrain, paired: 1, quotaReached: 1 }),
      );
    } finally {
      asker.close();
      closeQuietly(asked);
    }
  } finally {
    await relay.close();
  }
});

Deno.test("past the byte quota a session whose ends neither send nor close ends after the drain time", async () => {
  const quota = 64 * 1024;
  const relay = testRelay({ sessionQuota: quota, quotaDrainMs: 300 });
  try {
    const token = newToken();
    relay.expect(token, { asker: LOCAL, asked: LOCAL });
    const [asker, asked] = await pair(relay.at(), token);
    try {
      await writeAllAsync(asker, randomBytes(quota));
      assertEquals((await readToEnd(asked)).length, quota);
      const start = performance.now();
      assertEquals((await readToEnd(asker)).length, 0);
      const waited = performance.now() - start;
      assert(waited >= 250 && waited < 3_000, `ended after ${waited} ms`);
      await waitFor(() => relay.stats().sessions === 0);
      assertEquals(relay.stats().quotaReached, 1);
    } finally {
      asker.close();
      asked.close();
    }
  } finally {
    await relay.close();
  }
});

/** Writes to `conn` without pause until stopped (or the socket closes). */
function flood(conn: Deno.Conn): { stop(): Promise<void> } {
  const chunk = randomBytes(64 * 1024);
  let sending = true;
  const writing = (async () => {
    while (sending) await writeAllAsync(conn, chunk);
  })().catch(() => {});
  return {
    stop() {
      sending = false;
      closeQuietly(conn);
      return writing;
    },
  };
}

/**
 * Bytes a second arriving on `conn`, from its first byte on for `windowMs`
 * (the limiter's initial burst included).
 */
async function measureRate(conn: Deno.Conn, windowMs: number): Promise<number> {
  const buffer = new Uint8Array(256 * 1024);
  let start: number | undefined;
  let bytes = 0;
  for (;;) {
    const got = await conn.read(buffer);
    if (got === null) throw new Error("The relayed stream ended early");
    const now = performance.now();
    if (start === undefined) start = now;
    else bytes += got; // what came after the first read, over the time since
    if (now - start >= windowMs) return bytes / ((now - start) / 1000);
  }
}

/**
 * Asserts that bytes came at `rate`, never faster than `limit` (+10%).
 * Only an upper bound: a loaded machine can make the flow slower than the
 * limit, never faster. The relay lets at most `limit × seconds` and its
 * 0.1 s burst through, and the time measured spans every byte counted, so
 * the rate cannot look higher than the limit and 4% (0.1 s in 2.5 s). A
 * relay that ignores the limit moves far more on loopback.
 */
function assertUnder(rate: number, limit: number, what: string): void {
  const shown = `${what}: ${(rate / MIB).toFixed(3)} MiB/s against a limit of ${
    (limit / MIB).toFixed(3)
  } MiB/s`;
  console.log(shown);
  assert(rate > 0 && rate <= limit * 1.1, shown);
}

Deno.test("a session's rate each way, measured by each receiver over 2.5 s, never passes the limit (+10%)", async () => {
  const limit = 4 * MIB;
  const relay = testRelay({ sessionRate: limit });
  try {
    const token = newToken();
    relay.expect(token, { asker: LOCAL, asked: LOCAL });
    const [asker, asked] = await pair(relay.at(), token);
    const floods = [flood(asker), flood(asked)];
    try {
      const [there, back] = await bounded(Promise.all([
        measureRate(asked, 2_500),
        measureRate(asker, 2_500),
      ]));
      assertUnder(there, limit, "asker → asked");
      assertUnder(back, limit, "asked → asker");
    } finally {
      await Promise.all(floods.map((flooding) => flooding.stop()));
    }
  } finally {
    await relay.close();
  }
});

Deno.test("the total rate, shared by two sessions that both move bytes, never passes its limit (+10%)", async () => {
  const limit = 4 * MIB;
  const relay = testRelay({ totalRate: limit });
  const floods: { stop(): Promise<void> }[] = [];
  const open: Deno.TcpConn[] = [];
  try {
    const receivers: Deno.TcpConn[] = [];
    for (let i = 0; i < 2; i++) {
      const token = newToken();
      relay.expect(token, { asker: LOCAL, asked: LOCAL });
      const [asker, asked] = await pair(relay.at(), token);
      open.push(asker, asked);
      receivers.push(asked);
    }
    floods.push(...open.filter((_, i) => i % 2 === 0).map(flood));
    const rates = await bounded(
      Promise.all(receivers.map((conn) => measureRate(conn, 2_500))),
    );
    assert(rates.every((rate) => rate > 0), `rates ${rates}`);
    assertUnder(rates[0] + rates[1], limit, "two sessions together");
  } finally {
    await Promise.all(floods.map((flooding) => flooding.stop()));
    for (const conn of open) closeQuietly(conn);
    await relay.close();
  }
});

Deno.test("expected tokens expire when no peer comes in time", async () => {
  let clock = 1_000;
  const relay = testRelay({ now: () => clock });
  try {
    const late = newToken();
    relay.expect(late, { asker: LOCAL, asked: LOCAL });
    const onTime = newToken();
    clock += 1;
    relay.expect(onTime, { asker: LOCAL, asked: LOCAL });
    clock += EXPECT_TTL_MS - 1;
    await assertRelayError(
      openRelayed({ relay: relay.at(), token: late, role: "asker" }),
      "unknown",
    );
    const [asker, asked] = await pair(relay.at(), onTime);
    asker.close();
    asked.close();
  } finally {
    await relay.close();
  }
});

Deno.test("close() ends sessions, waiting connections and hellos alike", async () => {
  const relay = testRelay();
  const token = newToken();
  relay.expect(token, { asker: LOCAL, asked: LOCAL });
  const [asker, asked] = await pair(relay.at(), token);
  const alone = newToken();
  relay.expect(alone, { asker: LOCAL, asked: LOCAL });
  const waiting = openRelayed({
    relay: relay.at(),
    token: alone,
    role: "asker",
  });
  const greeting = await Deno.connect(relay.at());
  try {
    await writeAllAsync(greeting, hello(newToken()).subarray(0, 5));
    await waitFor(() => relay.stats().waiting === 1);
    await bounded(relay.close());
    await assertRelayError(waiting, "closed");
    for (const conn of [asker, asked, greeting]) {
      assertEquals((await readToEnd(conn)).length, 0);
    }
    const message = await assertRelayError(
      openRelayed({ relay: relay.at(), token, role: "asker" }),
      "closed",
    );
    assert(message.startsWith(`Cannot reach the relay at ${LOCAL}:`), message);
  } finally {
    for (const conn of [asker, asked, greeting]) closeQuietly(conn);
    await relay.close();
  }
});

Deno.test("openRelayed() gives up as 'timed-out' after its own time-out, and at once when aborted; the token stays good", async () => {
  const relay = testRelay();
  try {
    const token = newToken();
    relay.expect(token, { asker: LOCAL, asked: LOCAL });
    await assertRelayError(
      openRelayed({ relay: relay.at(), token, role: "asker", timeoutMs: 200 }),
      "timed-out",
    );
    const abort = new AbortController();
    const opening = openRelayed({
      relay: relay.at(),
      token,
      role: "asker",
      signal: abort.signal,
    });
    await waitFor(() => relay.stats().waiting === 1);
    abort.abort(new Error("Stopped"));
    await assertRejects(() => bounded(opening), Error, "Stopped");
    // A peer that gave up waiting frees its place; the pair can still meet.
    await waitFor(() => relay.stats().waiting === 0);
    const [asker, asked] = await pair(relay.at(), token);
    asker.close();
    asked.close();
  } finally {
    await relay.close();
  }
});

/** Resolves once `ready()` holds, checking every few ms; throws after `ms`. */
async function waitFor(ready: () => boolean, ms = WAIT_MS): Promise<void> {
  const until = performance.now() + ms;
  while (!ready()) {
    if (performance.now() > until) throw new Error(`Not ready after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
