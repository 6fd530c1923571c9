/**
 * Plain DHT nodes on 127.0.0.1 for the DHT tests and bench: `--count N`
 * of them (default 1) in this process, joining through `--bootstrap
 * HOST:PORT` (none: the first is the bootstrap of the others); prints
 * `node 127.0.0.1:PORT` for each once bound, and runs until killed.
 *
 * ```sh
 * deno run --allow-net --allow-env scripts/dht_node.ts --bootstrap 127.0.0.1:40001 --count 10
 * ```
 *
 * @module
 */

import { DhtDiscovery } from "../lib/discovery/dht.ts";

/** The value after `flag` in the arguments, if given. */
function option(flag: string): string | undefined {
  const at = Deno.args.indexOf(flag);
  return at >= 0 ? Deno.args[at + 1] : undefined;
}

if (import.meta.main) {
  const count = Number(option("--count") ?? 1);
  let bootstrap = option("--bootstrap");
  const nodes: DhtDiscovery[] = [];
  for (let i = 0; i < count; i++) {
    // The TCP port is never used: these nodes share nothing.
    const node = await DhtDiscovery.start({
      port: 1,
      udpPort: 0,
      host: "127.0.0.1",
      bootstrap: bootstrap ? [bootstrap] : [],
    });
    if (!node) Deno.exit(1);
    nodes.push(node);
    bootstrap ??= `127.0.0.1:${node.udpPort}`;
    console.log(`node 127.0.0.1:${node.udpPort}`);
  }
  const stop = () =>
    Promise.all(nodes.map((node) => node.close())).then(() => Deno.exit(0));
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
}
