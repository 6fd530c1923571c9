/**
 * One TCP stream, the baseline of the emulated-link rows: `sink` listens on
 * all addresses, prints its port, reads one connection to the end and
 * closes; `send HOST PORT FILE` connects, writes the file in 256 KiB writes,
 * waits for the sink to close, and prints `{"bytes":N,"ms":T}` timed from
 * before the connect to the close (a connect's round trip included, as a
 * download's own would be).
 *
 * ```sh
 * deno run --allow-net bench/link_stream.ts sink
 * deno run --allow-net --allow-read bench/link_stream.ts send 10.77.1.2 4000 file.bin
 * ```
 *
 * @module
 */

/** Bytes per read and write. */
export const STREAM_CHUNK_BYTES = 256 * 1024;

async function sink(): Promise<void> {
  using listener = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  console.log(`listening on ${(listener.addr as Deno.NetAddr).port}`);
  using conn = await listener.accept();
  const buffer = new Uint8Array(STREAM_CHUNK_BYTES);
  while (await conn.read(buffer) !== null);
}

async function send(host: string, port: number, path: string): Promise<void> {
  const started = performance.now();
  using conn = await Deno.connect({ hostname: host, port });
  using file = await Deno.open(path);
  const buffer = new Uint8Array(STREAM_CHUNK_BYTES);
  let bytes = 0;
  for (let n; (n = await file.read(buffer)) !== null;) {
    for (let done = 0; done < n;) {
      done += await conn.write(buffer.subarray(done, n));
    }
    bytes += n;
  }
  await conn.closeWrite();
  // The sink closes once it has read everything.
  while (await conn.read(buffer) !== null);
  console.log(JSON.stringify({ bytes, ms: performance.now() - started }));
}

if (import.meta.main) {
  const [mode, ...rest] = Deno.args;
  if (mode === "sink") await sink();
  else if (mode === "send") await send(rest[0], Number(rest[1]), rest[2]);
  else {
    console.error("Usage: link_stream.ts sink | send HOST PORT FILE");
    Deno.exit(2);
  }
}
