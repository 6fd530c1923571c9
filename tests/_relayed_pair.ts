/**
 * Sockets joined by a real relay on 127.0.0.1, as a getter and a sharer
 * get them from `openRelayed` (the sharer's marked as relayed), for tests
 * of what serves such a socket.
 */

import { type Relay, startRelay } from "../lib/nat/relay_server.ts";
import { openRelayed } from "../lib/nat/relay_client.ts";
import { RELAY_TOKEN_BYTES } from "../lib/protocol/limits.ts";
import { closeQuietly } from "../lib/util/close_quietly.ts";

const LOCAL = "127.0.0.1";

/** A relay on 127.0.0.1; closed on dispose. */
export function localRelay(): Relay & AsyncDisposable {
  const relay = startRelay({ host: LOCAL, port: 0 });
  return Object.assign(relay, {
    [Symbol.asyncDispose]: () => relay.close(),
  });
}

/**
 * Two sockets `relay` joined: the asker's (a getter's), closed on dispose,
 * and the asked one's (a sharer's), for a server to adopt: it is the
 * server's to close from then on.
 */
export async function relayedPair(relay: Relay): Promise<
  { asker: Deno.TcpConn; asked: Deno.TcpConn } & Disposable
> {
  const token = crypto.getRandomValues(new Uint8Array(RELAY_TOKEN_BYTES));
  relay.expect(token, { asker: LOCAL, asked: LOCAL });
  const ends = await Promise.allSettled([
    openRelayed({ relay: relay.address, token, role: "asker" }),
    openRelayed({ relay: relay.address, token, role: "asked" }),
  ]);
  const [asker, asked] = ends.map((end) =>
    end.status === "fulfilled" ? end.value : undefined
  );
  if (!asker || !asked) {
    for (const conn of [asker, asked]) if (conn) closeQuietly(conn);
    throw ends.find((end) => end.status === "rejected")?.reason;
  }
  return {
    asker,
    asked,
    [Symbol.dispose]: () => closeQuietly(asker),
  };
}
