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

import { acceptOne } from "./_accept_one.ts";

/** Bytes per read: the same as the writer's write size. */
export const SINK_READ_BYTES = 256 * 1024;

async function main(): Promise<void> {
  using conn = await acceptOne();
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
