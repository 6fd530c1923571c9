/**
 * One side of a hole punch, run by hole_punch_test.ts: on the loopback
 * beside the test, or on a NAT lab's LAN host.
 *
 * ```sh
 * deno run --allow-net _punch_probe.ts LOCAL_PORT REMOTE_HOST REMOTE_PORT \
 *   START_AT [TIMEOUT_MS] [--secure]
 *   # punches from LOCAL_PORT to REMOTE_HOST:REMOTE_PORT at START_AT
 *   # (Date.now() ms), trying for TIMEOUT_MS (punch()'s default), then
 *   # prints one JSON line:
 *   #   {"connectMs","lateMs","local","remote","got","ms"}: it wrote the
 *   #   line "hello from IP:PORT" and read the other side's line (`got`);
 *   #   with --secure, {"connectMs","lateMs","local","remote","echoed"}: it
 *   #   took the encryption handshake as the accepting side and echoed each
 *   #   message until the other side closed;
 *   #   {"error":"PunchError","reason","message","lateMs","ms"} if the
 *   #   punch failed.
 *   # connectMs and ms count from START_AT; lateMs is how late it started.
 * ```
 *
 * @module
 */

import { punch, PunchError } from "../../lib/nat/hole_punch.ts";
import { Connection } from "../../lib/net/connection.ts";
import { secureAccept } from "../../lib/net/secure_transport.ts";
import { closeQuietly } from "../../lib/util/close_quietly.ts";
import { writeAllAsync } from "../../lib/util/write_all.ts";

/** Most bytes of the other side's line read. */
const MAX_LINE = 256;
/** Ms to wait for the other side's line, or its messages, once connected. */
const EXCHANGE_MS = 10_000;

/** Reads one line (without its newline) within {@linkcode EXCHANGE_MS}. */
async function readLine(conn: Deno.Conn): Promise<string> {
  const timer = setTimeout(() => closeQuietly(conn), EXCHANGE_MS);
  try {
    const buffer = new Uint8Array(MAX_LINE);
    let filled = 0;
    while (filled < MAX_LINE) {
      const got = await conn.read(buffer.subarray(filled));
      if (got === null) break;
      filled += got;
      if (buffer.subarray(0, filled).includes(0x0a)) break;
    }
    return new TextDecoder().decode(buffer.subarray(0, filled)).split("\n")[0];
  } finally {
    clearTimeout(timer);
  }
}

/** Echoes messages until the other side closes; how many. */
async function echo(conn: Deno.Conn): Promise<number> {
  const secure = await secureAccept(conn);
  using connection = new Connection(conn, {}, secure);
  let echoed = 0;
  for (;;) {
    const message = await connection.receive({ idleMs: EXCHANGE_MS });
    if (message === null) return echoed;
    await connection.send(message);
    echoed++;
  }
}

function show(addr: Deno.NetAddr): string {
  return `${addr.hostname}:${addr.port}`;
}

const args = Deno.args.filter((arg) => arg !== "--secure");
const secure = args.length < Deno.args.length;
const [localPort, remoteHost, remotePort, startAt, timeoutMs] = args;
if (startAt === undefined) {
  console.error(
    "Usage: _punch_probe.ts LOCAL_PORT REMOTE_HOST REMOTE_PORT START_AT [TIMEOUT_MS] [--secure]",
  );
  Deno.exit(2);
}
const start = Number(startAt);
const lateMs = Math.max(0, Date.now() - start);
let conn: Deno.TcpConn;
try {
  conn = await punch({
    localPort: Number(localPort),
    remote: { host: remoteHost, port: Number(remotePort) },
    startAt: start,
    timeoutMs: timeoutMs === undefined ? undefined : Number(timeoutMs),
  });
} catch (error) {
  if (!(error instanceof PunchError)) throw error;
  console.log(JSON.stringify({
    error: error.name,
    reason: error.reason,
    message: error.message,
    lateMs,
    ms: Date.now() - start,
  }));
  Deno.exit(0);
}
const connected = {
  connectMs: Date.now() - start,
  lateMs,
  local: show(conn.localAddr),
  remote: show(conn.remoteAddr),
};
if (secure) {
  console.log(JSON.stringify({ ...connected, echoed: await echo(conn) }));
} else {
  try {
    await writeAllAsync(
      conn,
      new TextEncoder().encode(`hello from ${connected.local}\n`),
    );
    const got = await readLine(conn);
    console.log(JSON.stringify({ ...connected, got, ms: Date.now() - start }));
  } finally {
    conn.close();
  }
}
