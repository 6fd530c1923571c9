import net from "node:net";
import { assert, assertEquals } from "../assert.ts";
import { within } from "../fixtures.ts";
import { secureAccept } from "../../lib/net/secure_transport.ts";
import { PeerLink } from "../../lib/swarm/peer_link.ts";
import { PieceScheduler } from "../../lib/swarm/piece_scheduler.ts";
import { NodeSocketConn } from "../../lib/nat/_node_socket.ts";

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
