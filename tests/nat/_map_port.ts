/**
 * A LAN host's side of port_mapping_test.ts, run inside a NAT lab
 * namespace: a TCP server that answers each connection with the line
 * "IP:PORT" it came from (as `_probe.ts serve` does), and a port mapping
 * for it, closed on SIGUSR1 while the server goes on.
 *
 * ```sh
 * deno run --allow-net --allow-sys=networkInterfaces _map_port.ts \
 *   HOST METHODS LIFETIME_S TIMEOUT_MS
 *   # METHODS: "pcp,nat-pmp,upnp" or a part of it
 *   # prints "listening on HOST:PORT", "log: …" lines, then one JSON line
 *   # {"mapped":{"host","port","method"},"ms"} or {"mapped":null,"ms"};
 *   # on SIGUSR1, "closed" once the mapping is deleted
 * ```
 *
 * @module
 */

import { mapPort, type PortMappingMethod } from "../../lib/nat/port_mapping.ts";

async function serve(listener: Deno.Listener): Promise<void> {
  for await (const conn of listener) {
    const from = conn.remoteAddr as Deno.NetAddr;
    const line = new TextEncoder().encode(`${from.hostname}:${from.port}\n`);
    conn.write(line).catch(() => {}).finally(() => conn.close());
  }
}

const [hostname, methods, lifetime, timeout] = Deno.args;
const listener = Deno.listen({ hostname, port: 0 });
const { port } = listener.addr as Deno.NetAddr;
console.log(`listening on ${hostname}:${port}`);
const serving = serve(listener);
const started = performance.now();
const mapping = await mapPort({
  port,
  methods: methods.split(",") as PortMappingMethod[],
  lifetimeSeconds: Number(lifetime),
  timeoutMs: Number(timeout),
  log: (line) => console.log(`log: ${line}`),
});
const ms = Math.round(performance.now() - started);
console.log(JSON.stringify({
  mapped: mapping ? { ...mapping.external, method: mapping.method } : null,
  ms,
}));
Deno.addSignalListener("SIGUSR1", () => {
  mapping?.close().then(() => console.log("closed"));
});
await serving;
