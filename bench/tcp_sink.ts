/**
 * Child process for the TCP loopback baseline: listens on 127.0.0.1 port 0,
 * prints the port, accepts one connection, reads it to the end into one
 * 256 KiB buffer (discarding the bytes), then prints
 * `{"bytes":N,"ms":T}` timed from the first byte to the end.
 *
 * ```sh
 * deno run --allow-net bench/tcp_sink.ts
 * ```
 *
 * @module
 */

/** Bytes per read: the same as the writer's write size. */
export const SINK_READ_BYTES = 256 * 1024;
/** Longest the sink waits for its one connection. */
export const SINK_ACCEPT_TIMEOUT_MS = 30_000;

async function main(): Promise<void> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(`port ${listener.addr.port}`);
  const timer = setTimeout(() => {
    console.error("No connection arrived; giving up.");
    Deno.exit(1);
  }, SINK_ACCEPT_TIMEOUT_MS);
  using conn = await listener.accept();
  clearTimeout(timer);
  const buffer = new Uint8Array(SINK_READ_BYTES);
  let bytes = 0;
  let first = 0;
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    if (bytes === 0) first = performance.now();
    bytes += n;
  }
  const ms = performance.now() - first;
  console.log(JSON.stringify({ bytes, ms }));
}

if (import.meta.main) await main();
