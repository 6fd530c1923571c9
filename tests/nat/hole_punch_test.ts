/**
 * The hole punch: first its `node:net` socket as a `Deno.Conn` over real
 * sockets on the loopback (bytes, end of stream, a slow reader, close), and
 * punches between two ports of 127.0.0.1, the plain bytes and the encrypted
 * protocol over them; then two peers behind NAT routers in a NAT lab
 * (scripts/natlab.ts), punching to each other at an agreed moment. The far
 * side of every punch is `_punch_probe.ts` in a process of its own: where
 * nothing drops the SYNs, a simultaneous open needs two connects at once,
 * which one thread never makes. The lab part is skipped, with the reason,
 * where labs cannot be made (not root, tools missing).
 *
 * @module
 */

import { connect as nodeConnect, createServer, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { Child, completion } from "../../scripts/_child.ts";
import { NatLab, natlabAvailable } from "../../scripts/natlab.ts";
import {
  MAX_BUFFERED_BYTES,
  NodeSocketConn,
  SOCKET_CHUNK_BYTES,
} from "../../lib/nat/_node_socket.ts";
import {
  choosePunchPort,
  punch,
  PUNCH_TIMEOUT_MS,
  PunchError,
} from "../../lib/nat/hole_punch.ts";
import { openSecure } from "../../lib/net/connection.ts";
import type { Message } from "../../lib/protocol/message_types.ts";
import { readFullAsync } from "../../lib/util/read_full.ts";
import { writeAllAsync } from "../../lib/util/write_all.ts";
import { sleep } from "../../lib/util/sleep.ts";
import { requiring, within } from "../fixtures.ts";

const MIB = 1024 * 1024;
const LOCAL = "127.0.0.1";
const PROBE = fileURLToPath(new URL("./_punch_probe.ts", import.meta.url));
/** Longest any one wait on the loopback may take before the test fails. */
const WAIT_MS = 10_000;

/** `promise`, failing after `ms` (WAIT_MS unless said). */
const bounded = <T>(promise: Promise<T>, ms = WAIT_MS) => within(promise, ms);
/** Ms a probe process may take to start and print, on top of its waits. */
const STARTUP_MS = 20_000;
/** Ms from now to the agreed start: time for the probes to start. */
const START_DELAY_MS = 1_500;
/**
 * Ms a loopback punch keeps trying: more than the default, since where
 * nothing drops SYNs only attempts that happen to overlap connect, and a
 * busy machine (tests run in parallel) may start the probe late.
 */
const LOOPBACK_PUNCH_MS = 15_000;
/** The LAN hosts' punch ports (each NAT keeps them, or not). */
const PORTS = { a: 40001, b: 40002 };

// ── the socket as a Deno.Conn ────────────────────────────────────────────

/** Both ends of a loopback TCP connection, each as a Deno.Conn; closes all on dispose. */
async function socketPair(): Promise<
  [NodeSocketConn, NodeSocketConn] & AsyncDisposable
> {
  const server = createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => server.listen(0, LOCAL, resolve));
  const { port } = server.address() as { port: number };
  const accepted = new Promise<Socket>((resolve) =>
    server.once("connection", resolve)
  );
  const client = nodeConnect({ host: LOCAL, port, allowHalfOpen: true });
  await new Promise((resolve) => client.once("connect", resolve));
  const serverSide = await accepted;
  const sockets = [client, serverSide];
  const conns = sockets.map((socket) => new NodeSocketConn(socket));
  return Object.assign(conns as [NodeSocketConn, NodeSocketConn], {
    async [Symbol.asyncDispose]() {
      for (const conn of conns) conn.close();
      await Promise.all([
        ...sockets.map((socket) =>
          socket.closed
            ? undefined
            : new Promise((resolve) => socket.once("close", resolve))
        ),
        new Promise((resolve) => server.close(resolve)),
      ]);
    },
  });
}

function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += 65_536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65_536)));
  }
  return bytes;
}

/** Writes `bytes` in pieces of varied sizes (1 byte to ~200 KiB). */
async function writeVaried(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = [1, 1_000, 65_536, 200_003, 4_097][i % 5];
    await writeAllAsync(conn, bytes.subarray(at, at + size));
    at += size;
  }
}

/** Reads `size` bytes with reads of varied sizes. */
async function readVaried(conn: Deno.Conn, size: number): Promise<Uint8Array> {
  const into = new Uint8Array(size);
  for (let at = 0, i = 0; at < size; i++) {
    const got = await conn.read(
      into.subarray(at, at + [7, 70_000, 1_000_000, 513][i % 4]),
    );
    if (got === null) throw new Error(`The stream ended after ${at} bytes`);
    at += got;
  }
  return into;
}

function assertSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  assertEquals(actual.length, expected.length, "length");
  const at = actual.findIndex((byte, i) => byte !== expected[i]);
  assertEquals(at, -1, "first differing byte");
}

Deno.test("a node:net socket as a Deno.Conn carries 16 MiB each way at once, byte for byte", async () => {
  await using pair = await socketPair();
  const [a, b] = pair;
  const aToB = randomBytes(16 * MIB);
  const bToA = randomBytes(16 * MIB);
  const [, , atB, atA] = await bounded(Promise.all([
    writeVaried(a, aToB),
    writeVaried(b, bToA),
    readVaried(b, aToB.length),
    readVaried(a, bToA.length),
  ]));
  assertSameBytes(atB, aToB);
  assertSameBytes(atA, bToA);
  assertEquals(a.remoteAddr, { ...b.localAddr });
  assertEquals(a.localAddr.transport, "tcp");
  assertEquals(a.localAddr.hostname, LOCAL);
});

Deno.test("a read resolves to null once the other side ends its stream, which leaves it writable", async () => {
  await using pair = await socketPair();
  const [a, b] = pair;
  await a.write(new TextEncoder().encode("last words"));
  await a.closeWrite();
  const into = new Uint8Array(64);
  const got = await bounded(readFullAsync(b, into));
  assertEquals(new TextDecoder().decode(into.subarray(0, got)), "last words");
  assertEquals(await bounded(b.read(into)), null);
  assertEquals(await bounded(b.read(into)), null);
  await b.write(new TextEncoder().encode("answer"));
  const answered = await bounded(a.read(into));
  assertEquals(
    new TextDecoder().decode(into.subarray(0, answered ?? 0)),
    "answer",
  );
});

Deno.test("a slow reader pauses the socket: under 1 MiB waits in memory and the sender is held back", async () => {
  await using pair = await socketPair();
  const [a, b] = pair;
  // More than the kernel's buffers on both sides can hold.
  const bytes = randomBytes(48 * MIB);
  let written = false;
  const writing = writeAllAsync(a, bytes).then(() => written = true);
  const pauseAt = MAX_BUFFERED_BYTES - SOCKET_CHUNK_BYTES;
  await bounded((async () => {
    while (b.bufferedBytes < pauseAt) await sleep(10);
  })());
  await sleep(300);
  assert(
    b.bufferedBytes <= MAX_BUFFERED_BYTES,
    `${b.bufferedBytes} bytes buffered`,
  );
  assert(!written, "the write finished while no one read");
  const into = new Uint8Array(bytes.length);
  let most = 0;
  for (let at = 0; at < into.length;) {
    most = Math.max(most, b.bufferedBytes);
    at += await bounded(b.read(into.subarray(at, at + 256 * 1024))) ?? 0;
  }
  await bounded(writing);
  assert(most <= MAX_BUFFERED_BYTES, `${most} bytes buffered at most`);
  assertSameBytes(into, bytes);
});

Deno.test("closing twice is harmless; a pending read rejects with Interrupted, later reads and writes with BadResource", async () => {
  await using pair = await socketPair();
  const [a, b] = pair;
  const pending = a.read(new Uint8Array(16));
  a.close();
  a.close();
  await assertRejects(() => pending, Deno.errors.Interrupted);
  await assertRejects(
    () => a.read(new Uint8Array(16)),
    Deno.errors.BadResource,
  );
  await assertRejects(
    () => a.write(new Uint8Array(16)),
    Deno.errors.BadResource,
  );
  assertEquals(await bounded(b.read(new Uint8Array(16))), null);
});

Deno.test("the readable and writable streams of a node:net socket carry bytes like a Deno.Conn's", async () => {
  await using pair = await socketPair();
  const [a, b] = pair;
  const bytes = randomBytes(3 * MIB + 17);
  const received = new Response(b.readable).bytes();
  await bounded(new Blob([bytes]).stream().pipeTo(a.writable));
  assertSameBytes(await bounded(received), bytes);
});

// ── punching on the loopback ─────────────────────────────────────────────

/** Two different free ports. */
function twoPorts(): [number, number] {
  const first = choosePunchPort();
  for (;;) {
    const second = choosePunchPort();
    if (second !== first) return [first, second];
  }
}

/** `_punch_probe.ts` as a child process with `args`, on this host. */
function spawnProbe(args: (string | number)[]): Child {
  const process = new Deno.Command(Deno.execPath(), {
    args: probeArgv(args).slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return new Child(process);
}

function probeArgv(args: (string | number)[]): string[] {
  return [
    Deno.execPath(),
    "run",
    "--allow-net",
    PROBE,
    ...args.map(String),
  ];
}

/** What `_punch_probe.ts` printed. */
interface ProbeResult {
  connectMs?: number;
  lateMs?: number;
  local?: string;
  remote?: string;
  got?: string;
  echoed?: number;
  ms?: number;
  error?: string;
  reason?: string;
  message?: string;
}

/** The probe's JSON line, once it exits (killed after `timeoutMs`). */
async function probeResult(
  child: Child,
  timeoutMs: number,
): Promise<ProbeResult> {
  const result = await completion(child, timeoutMs);
  assertEquals(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "");
}

/** Punches from `local` to the probe at `remote` (which punches back), with `conn` to use. */
async function withLoopbackPunch(
  probeFlags: string[],
  use: (conn: Deno.TcpConn) => Promise<void>,
): Promise<ProbeResult> {
  const [local, remote] = twoPorts();
  const startAt = Date.now() + START_DELAY_MS;
  const child = spawnProbe([
    remote,
    LOCAL,
    local,
    startAt,
    LOOPBACK_PUNCH_MS,
    ...probeFlags,
  ]);
  const result = probeResult(child, STARTUP_MS + LOOPBACK_PUNCH_MS);
  try {
    const conn = await punch({
      localPort: local,
      remote: { host: LOCAL, port: remote },
      startAt,
      timeoutMs: LOOPBACK_PUNCH_MS,
    });
    try {
      assertEquals(conn.localAddr, {
        transport: "tcp",
        hostname: LOCAL,
        port: local,
      });
      assertEquals(conn.remoteAddr.port, remote);
      await use(conn);
    } finally {
      conn.close();
    }
  } finally {
    // The probe exits by itself once done or failed; this bounds the wait.
    await result.catch(() => child.stop("SIGKILL"));
  }
  return await result;
}

Deno.test("punch() connects two ports of 127.0.0.1 dialing each other at once, and bytes flow both ways", async () => {
  const result = await withLoopbackPunch([], async (conn) => {
    await writeAllAsync(
      conn,
      new TextEncoder().encode("hello from the test\n"),
    );
    const into = new Uint8Array(256);
    let got = 0;
    while (!into.subarray(0, got).includes(0x0a)) {
      const more = await bounded(conn.read(into.subarray(got)));
      assert(more !== null, "the probe closed before its line");
      got += more;
    }
    assert(
      new TextDecoder().decode(into.subarray(0, got)).startsWith(
        "hello from 127.0.0.1:",
      ),
    );
  });
  assertEquals(result.got, "hello from the test");
});

Deno.test("the encrypted protocol runs over a punched connection unchanged", async () => {
  const search: Message = { type: "search", text: "through a punched hole" };
  const piece: Message = { type: "piece", index: 7, data: randomBytes(MIB) };
  const result = await withLoopbackPunch(["--secure"], async (conn) => {
    using connection = await bounded(openSecure(conn));
    for (const message of [search, piece]) {
      await bounded(connection.send(message));
      assertEquals(await bounded(connection.receive()), message);
    }
  });
  assertEquals(result.echoed, 2);
});

Deno.test("punch() refuses bad ports and a start too far ahead, and stops at once when aborted", async () => {
  const remote = { host: LOCAL, port: 9 };
  await assertRejects(() => punch({ localPort: 0, remote }), RangeError);
  await assertRejects(
    () => punch({ localPort: 40_000, remote: { host: LOCAL, port: 70_000 } }),
    RangeError,
  );
  await assertRejects(
    () => punch({ localPort: 40_000, remote, startAt: Date.now() + 3_600_000 }),
    RangeError,
  );
  // A port of this host that nothing listens on refuses every attempt.
  const [local, silent] = twoPorts();
  const controller = new AbortController();
  const started = performance.now();
  setTimeout(() => controller.abort(new Error("Stopped")), 200);
  const error = await assertRejects(() =>
    punch({
      localPort: local,
      remote: { host: LOCAL, port: silent },
      signal: controller.signal,
    })
  );
  assertEquals(error.message, "Stopped");
  assert(performance.now() - started < 1_000, "the abort took a second");
});

Deno.test("punch() gives up with a PunchError sentence when the time runs out", async () => {
  const [local, silent] = twoPorts();
  const remote = { host: LOCAL, port: silent };
  const started = performance.now();
  const error = await assertRejects(
    () => punch({ localPort: local, remote, timeoutMs: 300 }),
    PunchError,
  ) as PunchError;
  const took = performance.now() - started;
  assert(took >= 290 && took < 2_000, `gave up after ${took} ms`);
  assertEquals(error.reason, "timed-out");
  assert(error.attempts > 1, `${error.attempts} attempts`);
  assertEquals(
    error.message,
    `Could not open a direct connection to 127.0.0.1:${silent} through the routers (timed out).`,
  );
});

Deno.test("punch() from a port a listener holds times out saying the port is in use", async () => {
  using listener = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const error = await assertRejects(
    () =>
      punch({
        localPort: port,
        remote: { host: LOCAL, port: 9 },
        timeoutMs: 200,
      }),
    PunchError,
  );
  assertEquals(
    error.message,
    `Could not open a direct connection to 127.0.0.1:9 through the routers (timed out; local port ${port} is in use).`,
  );
});

// ── two NATs ─────────────────────────────────────────────────────────────

const unavailable = await natlabAvailable();

/** A test that needs a NAT lab; ignored, saying why, where there is none. */
const natTest = requiring(unavailable);

/** Both LAN hosts punch to the other's router at the same moment. */
function punchAcross(lab: NatLab): Promise<[ProbeResult, ProbeResult]> {
  const startAt = Date.now() + START_DELAY_MS;
  const run = (from: "a" | "b", to: "a" | "b") =>
    probeResult(
      lab.spawn(
        from,
        probeArgv([PORTS[from], lab.wan(to), PORTS[to], startAt]),
      ),
      STARTUP_MS + PUNCH_TIMEOUT_MS,
    );
  return Promise.all([run("a", "b"), run("b", "a")]);
}

/** Packets router `nat` dropped at its door (its INPUT policy), so far. */
async function droppedAt(lab: NatLab, nat: string): Promise<number> {
  const out = await lab.execOnRouter(nat, ["iptables", "-nvxL", "INPUT"]);
  return Number(/policy DROP (\d+) packets/.exec(out)?.[1]);
}

natTest(
  "two peers behind port-keeping NATs punch through to each other at an agreed moment and exchange a line",
  async () => {
    await using lab = await NatLab.create({
      nats: [{ name: "a" }, { name: "b" }],
    });
    const [a, b] = await punchAcross(lab);
    assertEquals(
      a.got,
      `hello from ${lab.host("b")}:${PORTS.b}`,
      JSON.stringify(a),
    );
    assertEquals(
      b.got,
      `hello from ${lab.host("a")}:${PORTS.a}`,
      JSON.stringify(b),
    );
    // Each saw the other at its router's public address, from its own port.
    assertEquals(a.remote, `${lab.wan("b")}:${PORTS.b}`);
    assertEquals(b.remote, `${lab.wan("a")}:${PORTS.a}`);
    for (const side of [a, b]) {
      assert(
        (side.connectMs ?? Infinity) < PUNCH_TIMEOUT_MS,
        JSON.stringify(side),
      );
    }
    console.log(
      `Punched through two NATs: connected ${a.connectMs} ms (a) and ${b.connectMs} ms (b) after the agreed start (started ${a.lateMs} and ${b.lateMs} ms late); routers dropped ${await droppedAt(
        lab,
        "a",
      )} (a) and ${await droppedAt(lab, "b")} (b) packets at their door.`,
    );
  },
);

natTest(
  "behind a NAT that picks random ports, the punch fails on both sides with a PunchError once its time is up",
  async () => {
    await using lab = await NatLab.create({
      nats: [{ name: "a" }, { name: "b", randomPorts: true }],
    });
    const results = await punchAcross(lab);
    for (const side of results) {
      assertEquals(side.error, "PunchError", JSON.stringify(side));
      assertEquals(side.reason, "timed-out");
      assert(side.message?.endsWith("through the routers (timed out)."));
      const took = (side.ms ?? Infinity) - (side.lateMs ?? 0);
      assert(
        took >= PUNCH_TIMEOUT_MS - 50 && took < PUNCH_TIMEOUT_MS + 1_000,
        JSON.stringify(side),
      );
    }
  },
);
