/**
 * One plain DHT node on 127.0.0.1 for the DHT tests and bench: joins
 * through `--bootstrap HOST:PORT` (none: it is the first), prints
 * `node 127.0.0.1:PORT` once bound, and runs until killed.
 *
 * ```sh
 * deno run --allow-net --allow-env scripts/dht_node.ts --bootstrap 127.0.0.1:40001
 * ```
 *
 * @module
 */

import { DhtDiscovery } from "../lib/discovery/dht.ts";

if (import.meta.main) {
  const at = Deno.args.indexOf("--bootstrap");
  const bootstrap = at >= 0 ? [Deno.args[at + 1]] : [];
  // The TCP port is never used: this node shares nothing.
  const node = await DhtDiscovery.start({
    port: 1,
    udpPort: 0,
    host: "127.0.0.1",
    bootstrap,
  });
  if (!node) Deno.exit(1);
  console.log(`node 127.0.0.1:${node.udpPort}`);
  const stop = () => node.close().then(() => Deno.exit(0));
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
}
