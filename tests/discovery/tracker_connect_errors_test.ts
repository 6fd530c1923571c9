/**
 * What a tracker connect that failed says, in plain words, and whether
 * asking again may help: nothing there (it may be restarting) against
 * something there that is not a p2p tracker, or a host name that cannot
 * be found.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  TrackerClient,
  TrackerUnreachableError,
} from "../../lib/discovery/tracker_client.ts";
import { startRelay } from "../../lib/nat/relay_server.ts";
import { freePort } from "../cli/_cli.ts";
import type { Address } from "../../lib/net/connection.ts";

/** The error of a connect to `address`. */
async function failedConnect(
  address: Address,
): Promise<TrackerUnreachableError> {
  const error = await assertRejects(
    () => TrackerClient.connect(address, { timeoutMs: 5_000 }),
    TrackerUnreachableError,
  );
  return error as TrackerUnreachableError;
}

/** A server on 127.0.0.1 that greets each connection with `banner`, as SSH does. */
function bannerServer(banner: string) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const serving = (async () => {
    for await (const conn of listener) {
      open.add(conn);
      conn.write(new TextEncoder().encode(banner)).catch(() => {});
    }
  })();
  return {
    address: { host: "127.0.0.1", port: listener.addr.port },
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // Closed by the client already.
        }
      }
      await serving.catch(() => {});
    },
  };
}

Deno.test("a tracker that is not running: connection refused, is it running, and worth asking again", async () => {
  const address = { host: "127.0.0.1", port: freePort() };
  const error = await failedConnect(address);
  assertEquals(
    error.message,
    `Cannot reach tracker at 127.0.0.1:${address.port}: connection refused. Is it running? Set --tracker or P2P_TRACKER.`,
  );
  assert(error.transient);
});

Deno.test("a tracker address where something else answers says it is not a p2p tracker, in plain words, not worth asking again", async () => {
  await using server = bannerServer("SSH-2.0-OpenSSH_9.6\r\n");
  const error = await failedConnect(server.address);
  assertEquals(
    error.message,
    `Cannot use tracker at 127.0.0.1:${server.address.port}: it is not a p2p tracker; something else answers on that port.`,
  );
  assert(!error.transient);
});

Deno.test("a tracker address that is a tracker's relay port says it closed the connection during the handshake, not 'Connection closed inside a record'", async () => {
  const relay = startRelay({ host: "127.0.0.1", port: 0 });
  try {
    const error = await failedConnect(relay.address);
    assertEquals(
      error.message,
      `Cannot use tracker at 127.0.0.1:${relay.address.port}: it closed the connection during the encryption handshake, as something other than a p2p tracker would, such as a tracker's relay port.`,
    );
    assert(!error.transient);
  } finally {
    await relay.close();
  }
});

Deno.test("a tracker host name that cannot be found says so, naming it, without the system's words", async () => {
  const error = await failedConnect({ host: "nosuchhost.invalid", port: 5000 });
  assertEquals(
    error.message,
    'Cannot reach tracker at nosuchhost.invalid:5000: cannot find the host name "nosuchhost.invalid".',
  );
  assert(!error.transient);
});
