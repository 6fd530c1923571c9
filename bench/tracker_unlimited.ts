/**
 * Child process for the tracker capacity measurement: the real tracker
 * server (lib/tracker_server.ts) with its per-address query rate limit
 * lifted, so the load shows what the server itself can answer. Prints
 * `Tracker listening on 127.0.0.1:PORT` like tracker.ts, runs until SIGTERM.
 *
 * ```sh
 * deno run --allow-net bench/tracker_unlimited.ts
 * ```
 *
 * @module
 */

import { startTracker } from "../lib/tracker/server.ts";

/** Query rate and burst per address high enough never to bind. */
export const UNLIMITED_QUERIES = 1e9;

async function main(): Promise<void> {
  const tracker = startTracker({
    host: "127.0.0.1",
    port: 0,
    queriesPerSecond: UNLIMITED_QUERIES,
    queryBurst: UNLIMITED_QUERIES,
  });
  console.log(`Tracker listening on 127.0.0.1:${tracker.address.port}`);
  const { promise, resolve } = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGTERM", resolve);
  await promise;
  await tracker.close();
}

if (import.meta.main) await main();
