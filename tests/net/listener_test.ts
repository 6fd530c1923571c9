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
} from "../../lib/net/connection.ts";

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
