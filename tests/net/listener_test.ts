import { assert, assertEquals } from "../assert.ts";
import {
  ListenError,
  listenOn,
  startListener,
} from "../../lib/net/listener.ts";
import {
  connect,
  type Connection,
  formatAddress,
  openSecure,
} from "../../lib/net/connection.ts";
import { closeQuietly } from "../../lib/util/close_quietly.ts";
import { pollUntil } from "../fixtures.ts";
import { localRelay, relayedPair } from "../_relayed_pair.ts";

/** An echo server: every message goes back as it came, until the peer closes. */
async function echo(conn: Connection): Promise<void> {
  let message;
  while ((message = await conn.receive()) !== null) await conn.send(message);
}

Deno.test("startListener() serves connections with the server's function and closes them all on close()", async () => {
  const listener = startListener({ host: "127.0.0.1", port: 0, serve: echo });
  const conns: Connection[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const conn = await connect(listener.address);
      conns.push(conn);
      await conn.send({ type: "list" });
      assertEquals((await conn.receive())?.type, "list");
    }
    assertEquals(listener.connections, 3);
  } finally {
    await listener.close();
  }
  for (const conn of conns) {
    assertEquals(await conn.receive().catch(() => null), null);
    conn.close();
  }
});

Deno.test("startListener() refuses connections over the per-address and total caps, telling them why", async () => {
  const refused: string[] = [];
  const listener = startListener({
    host: "127.0.0.1",
    port: 0,
    serve: echo,
    maxConnectionsPerAddress: 2,
    maxConnections: 3,
    refuse: async (conn) => {
      refused.push(formatAddress(conn.remote));
      await conn.send({ type: "error", code: "busy", message: "Full" });
    },
  });
  const conns: Connection[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const conn = await connect(listener.address);
      conns.push(conn);
      await conn.send({ type: "list" });
      await conn.receive();
    }
    const third = await connect(listener.address);
    conns.push(third);
    const answer = await third.receive();
    assertEquals(answer?.type, "error");
    assertEquals(refused.length, 1);
    assertEquals(listener.connections, 2);
    // Another address still gets in, up to the total cap.
    const other = await connect({
      host: "127.0.0.2",
      port: listener.address.port,
    })
      .catch(() => undefined);
    if (other) {
      conns.push(other);
      await other.send({ type: "list" });
      assertEquals((await other.receive())?.type, "list");
      assertEquals(listener.connections, 3);
    }
  } finally {
    for (const conn of conns) conn.close();
    await listener.close();
  }
});

Deno.test("a throw in serve() ends only that connection and is logged", async () => {
  const lines: string[] = [];
  let calls = 0;
  const listener = startListener({
    host: "127.0.0.1",
    port: 0,
    log: (line) => lines.push(line),
    serve: async (conn) => {
      if (calls++ === 0) throw new Error("bad input");
      await echo(conn);
    },
  });
  try {
    const bad = await connect(listener.address);
    assertEquals(await bad.receive().catch(() => null), null);
    bad.close();
    const good = await connect(listener.address);
    await good.send({ type: "list" });
    assertEquals((await good.receive())?.type, "list");
    good.close();
    assert(lines.some((line) => line.includes("bad input")), lines.join("\n"));
  } finally {
    await listener.close();
  }
});

/**
 * Adopts `raw` (from a peer at `remote`, as the tracker named it) into a
 * listener that logs into `lines`; one message goes over it, from `peer`
 * and back, then the peer closes. Resolves once the listener logged it closed.
 */
async function adoptOnce(
  raw: Deno.Conn,
  remote: { host: string; port: number },
  peer: Deno.Conn,
): Promise<string[]> {
  const lines: string[] = [];
  const listener = startListener({
    host: "127.0.0.1",
    port: 0,
    log: (line) => lines.push(line),
    serve: echo,
  });
  try {
    listener.adopt(raw, remote);
    const conn = await openSecure(peer);
    await conn.send({ type: "list" });
    assertEquals((await conn.receive())?.type, "list");
    conn.close();
    await pollUntil(5_000, () => Promise.resolve(listener.connections === 0));
    return lines;
  } finally {
    await listener.close();
  }
}

Deno.test("an adopted socket a relay joined is logged as its peer's host via the relay, not as port 0 or the relay's port", async () => {
  await using relay = localRelay();
  using pair = await relayedPair(relay);
  // The tracker's word for the downloader's host; the socket's other end
  // is the relay.
  const lines = await adoptOnce(
    pair.asked,
    { host: "198.51.100.4", port: 0 },
    pair.asker,
  );
  const who = `198.51.100.4 via the relay at ${formatAddress(relay.address)}`;
  assertEquals(lines, [
    `Connection from ${who} accepted (1 open).`,
    `Connection from ${who} closed (0 open).`,
  ]);
});

Deno.test("an adopted socket straight to its peer (a hole punch) is logged with the socket's own port, not port 0", async () => {
  using server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const peer = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  const raw = await server.accept();
  try {
    const lines = await adoptOnce(raw, { host: "127.0.0.1", port: 0 }, peer);
    const who = `127.0.0.1:${(peer.localAddr as Deno.NetAddr).port}`;
    assertEquals(lines, [
      `Connection from ${who} accepted (1 open).`,
      `Connection from ${who} closed (0 open).`,
    ]);
  } finally {
    closeQuietly(peer);
  }
});

Deno.test("listenOn() a port in use throws a ListenError naming the address, with the system error as cause", () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    listenOn({ host: "127.0.0.1", port: busy.addr.port });
    throw new Error("listened twice on one port");
  } catch (error) {
    assert(error instanceof ListenError, String(error));
    assertEquals(error.address.port, busy.addr.port);
    assert(error.cause instanceof Deno.errors.AddrInUse, String(error.cause));
  }
});
