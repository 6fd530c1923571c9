import net from "node:net";
import { assert, assertEquals } from "../assert.ts";
import { within } from "../fixtures.ts";
import { secureAccept } from "../../lib/net/secure_transport.ts";
import { PeerLink } from "../../lib/swarm/peer_link.ts";
import { PieceScheduler } from "../../lib/swarm/piece_scheduler.ts";
import { NodeSocketConn } from "../../lib/nat/_node_socket.ts";
import { startPeerServer } from "../../lib/swarm/peer_server.ts";

const ID = "ab".repeat(32);

/** Raw text of the system's errors, as they must never be shown. */
const OS_ERROR = /os error|\bby peer\b/i;

/**
 * A peer on 127.0.0.1 that takes one connection and resets it (TCP RST),
 * after the encryption handshake when `handshake`.
 */
async function resettingPeer(handshake: boolean) {
  const { promise: done, resolve, reject } = Promise.withResolvers<void>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    server.close();
    (async () => {
      if (handshake) await secureAccept(new NodeSocketConn(socket));
      // What the link sent next (its hello) arrives, unread.
      await new Promise((wait) => setTimeout(wait, 200));
      socket.resetAndDestroy();
    })().then(resolve, reject);
  });
  await new Promise<void>((listening) =>
    server.listen(0, "127.0.0.1", listening)
  );
  const { port } = server.address() as net.AddressInfo;
  return { address: { host: "127.0.0.1", port }, done };
}

/** The failure a link to `address` ends with. */
async function linkFailure(address: { host: string; port: number }) {
  const link = new PeerLink(address, {
    id: ID,
    pieces: 4,
    pieceSize: 1024,
    scheduler: new PieceScheduler(4),
    stallMs: 5_000,
    connectMs: 5_000,
    onPiece: () => true,
  });
  try {
    await within(link.run(), 10_000, "PeerLink.run()");
  } finally {
    link.close();
  }
  return link.failure ?? "";
}

Deno.test("a peer that resets the connection during the handshake is said to, in plain words", async () => {
  const peer = await resettingPeer(false);
  const failure = await linkFailure(peer.address);
  await peer.done;
  assert(!OS_ERROR.test(failure), failure);
  assert(failure.includes("the connection was reset"), failure);
});

Deno.test("a peer that resets the connection after the handshake is said to, in plain words", async () => {
  const peer = await resettingPeer(true);
  const failure = await linkFailure(peer.address);
  await peer.done;
  assert(!OS_ERROR.test(failure), failure);
  assertEquals(failure, "reset the connection");
});

/**
 * A server on 127.0.0.1 that takes one connection and runs `serve` on it:
 * a sharer stopping, something that is not a p2p peer.
 */
async function oneConnection(serve: (socket: net.Socket) => Promise<void>) {
  const { promise: done, resolve, reject } = Promise.withResolvers<void>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    server.close();
    serve(socket).then(resolve, reject).finally(() => socket.destroy());
  });
  await new Promise<void>((listening) =>
    server.listen(0, "127.0.0.1", listening)
  );
  const { port } = server.address() as net.AddressInfo;
  return { address: { host: "127.0.0.1", port }, done };
}

/** Resolves once `socket` has received some bytes. */
function firstBytes(socket: net.Socket): Promise<void> {
  return new Promise((arrived) => socket.once("data", () => arrived()));
}

Deno.test("a peer that hangs up during the encryption handshake is said to have closed the connection, not 'Connection closed inside a record'", async () => {
  const peer = await oneConnection(async (socket) => {
    await firstBytes(socket);
    // Half an answer, then gone: a sharer stopping.
    socket.end(new Uint8Array([0, 64, 1, 2, 3]));
    await new Promise((wait) => setTimeout(wait, 100));
  });
  const failure = await linkFailure(peer.address);
  await peer.done;
  assertEquals(
    failure,
    "closed the connection during the encryption handshake (the sharer may have stopped)",
  );
});

Deno.test("a peer address where something else answers is said not to be a p2p peer, not 'Not a p2p secure connection'", async () => {
  const peer = await oneConnection(async (socket) => {
    socket.write("SSH-2.0-OpenSSH_9.6\r\n");
    await new Promise((wait) => setTimeout(wait, 300));
  });
  const failure = await linkFailure(peer.address);
  await peer.done;
  assertEquals(
    failure,
    "is not a p2p peer (something else answers on that port)",
  );
});

Deno.test("a peer that hangs up in the middle of a message after the handshake is said to have closed the connection", async () => {
  const peer = await oneConnection(async (socket) => {
    await secureAccept(new NodeSocketConn(socket));
    // The start of a record of 64 bytes (its length in 4 bytes), then gone.
    socket.end(new Uint8Array([0, 0, 0, 64, 1, 2, 3]));
    await new Promise((wait) => setTimeout(wait, 100));
  });
  const failure = await linkFailure(peer.address);
  await peer.done;
  assertEquals(failure, "closed the connection");
});

Deno.test("a peer that sends a record of a size no record has, after the handshake, is said to send data that is not p2p's", async () => {
  const peer = await oneConnection(async (socket) => {
    await secureAccept(new NodeSocketConn(socket));
    // A length prefix of 4 GiB - 1: past any record.
    socket.write(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    await new Promise((wait) => setTimeout(wait, 300));
  });
  const failure = await linkFailure(peer.address);
  await peer.done;
  assertEquals(
    failure,
    "sent data that is not p2p's (a damaged connection, or not a p2p peer)",
  );
});

Deno.test("a peer whose record fails authentication, after the handshake, is said to send data that failed its integrity check", async () => {
  const peer = await oneConnection(async (socket) => {
    await secureAccept(new NodeSocketConn(socket));
    // A record of 48 bytes that no key sealed: it cannot open.
    const record = new Uint8Array(4 + 48);
    record[3] = 48;
    record.fill(7, 4);
    socket.write(record);
    await new Promise((wait) => setTimeout(wait, 300));
  });
  const failure = await linkFailure(peer.address);
  await peer.done;
  assertEquals(
    failure,
    "sent data that failed its integrity check (damaged or altered on the way)",
  );
});

Deno.test("a peer that does not share the file is said not to have it, not 'peer refused: File … is not shared here'", async () => {
  const server = startPeerServer({
    host: "127.0.0.1",
    port: 0,
    lookup: () => undefined,
  });
  try {
    const failure = await linkFailure(server.address);
    assertEquals(
      failure,
      "does not have this file (yet), or no longer shares it",
    );
  } finally {
    await server.close();
  }
});
