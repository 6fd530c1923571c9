/**
 * A tracker with a relay, and a sharer that getters reach only through it:
 * the sharer listens on 127.0.0.2 while the tracker sees it at 127.0.0.1,
 * so its registered address refuses connections, as an address behind a
 * router would drop them (as in relayed_get_test.ts).
 */

import { assertEquals } from "../assert.ts";
import { startTracker } from "../../lib/tracker/server.ts";
import { type RelayOptions, startRelay } from "../../lib/nat/relay_server.ts";
import { PeerNode } from "../../lib/app/peer_node.ts";
import type { Reachability } from "../../lib/discovery/tracker_client.ts";
import type { Address } from "../../lib/net/connection.ts";

/** Where the tracker, the relay and the getters are. */
export const LOCAL = "127.0.0.1";
/** Where the sharer really listens: not where the tracker sees it. */
export const HIDDEN = "127.0.0.2";
/** Longest wait for the tracker's answer about reachability. */
const REACH_WAIT_MS = 10_000;

/** A tracker whose relay takes `relay`'s options; all closed on dispose. */
export function trackerWithRelay(relay: Partial<RelayOptions> = {}) {
  const lines: string[] = [];
  const server = startRelay({
    host: LOCAL,
    port: 0,
    log: (line) => lines.push(line),
    ...relay,
  });
  const tracker = startTracker({
    host: LOCAL,
    port: 0,
    relay: {
      port: server.address.port,
      expect: (token, ends) => server.expect(token, ends),
    },
  });
  return {
    tracker,
    relay: server,
    /** The relay's log lines. */
    lines,
    async [Symbol.asyncDispose]() {
      await tracker.close();
      await server.close();
    },
  };
}

/**
 * A node listening on HIDDEN, sharing `file`, once the tracker said it
 * cannot reach it; closed on dispose.
 */
export async function hiddenSharer(
  tracker: Address,
  file: string,
  log?: (line: string) => void,
) {
  const verdict = Promise.withResolvers<Reachability>();
  const node = await PeerNode.start({
    tracker,
    host: HIDDEN,
    port: 0,
    onReachability: verdict.resolve,
    // Never ask this machine's real router for anything.
    portMapping: false,
    log,
  });
  const meta = await node.share(file);
  const timer = setTimeout(
    () => verdict.reject(new Error("no reachability answer")),
    REACH_WAIT_MS,
  );
  try {
    assertEquals((await verdict.promise).reachable, false);
  } finally {
    clearTimeout(timer);
  }
  return Object.assign(node, { meta });
}
