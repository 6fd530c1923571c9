/**
 * The bench's floor (bench/floor.ts, bench/floor_sink.ts): a real sink
 * process on 127.0.0.1, in clear and through the product's secret stream.
 *
 * @module
 */

import { join } from "node:path";
import {
  floorBaseline,
  floorSinkArgs,
  sendToFloorSink,
} from "../../bench/floor.ts";
import {
  type ByteStream,
  openSecretStream,
} from "../../lib/secure/secret_stream.ts";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, sha256File, tempDir } from "../fixtures.ts";

/** Bytes of the test file: several runs of pieces and a short last piece. */
const FILE_BYTES = 5 * 1024 * 1024 + 12_345;
/** Writes at least this long are records of the file, not the handshake. */
const RECORD_WRITE_BYTES = 64 * 1024;

Deno.test("the encrypted floor gives the same whole-file hash as the plain one", async () => {
  await using dir = await tempDir();
  const path = await randomFile(dir.path, "file.bin", FILE_BYTES);
  const hex = await sha256File(path);
  // Each throws unless its sink got every byte and this hash.
  const plain = await floorBaseline(path, 1, { work: dir.path, hex });
  const sealed = await floorBaseline(path, 1, {
    work: dir.path,
    hex,
    encrypted: true,
  });
  assertEquals(plain.bytes, FILE_BYTES);
  assertEquals(sealed.bytes, FILE_BYTES);
});

Deno.test("the encrypted floor sink refuses a tampered record", async () => {
  await using dir = await tempDir();
  const path = await randomFile(dir.path, "file.bin", FILE_BYTES);
  const sink = new Deno.Command(Deno.execPath(), {
    args: floorSinkArgs(join(dir.path, "out.bin"), true),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = sink.stdout.pipeThrough(new TextDecoderStream());
  const stderr = new Response(sink.stderr).text();
  let printed = "";
  const reader = stdout.getReader();
  while (!printed.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    printed += value;
  }
  const port = Number(/^port (\d+)/.exec(printed)?.[1]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const stream = await openSecretStream(tampering(conn));
    // The sink closes the connection at the bad record: writing may fail.
    await sendToFloorSink(stream, path).catch(() => {});
  } finally {
    conn.close();
  }
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    printed += value;
  }
  const status = await sink.status;
  assert(!status.success, "the sink exited with success");
  assert(!printed.includes("{"), `the sink printed a result: ${printed}`);
  const errors = await stderr;
  assert(errors.includes("failed authentication"), errors);
});

/** `conn`, with one bit flipped in the middle of each record it writes. */
function tampering(conn: Deno.Conn): ByteStream {
  return {
    read: (into) => conn.read(into),
    write: (data) => {
      if (data.length < RECORD_WRITE_BYTES) return conn.write(data);
      const altered = data.slice();
      altered[altered.length >> 1] ^= 1;
      return conn.write(altered);
    },
    close: () => conn.close(),
  };
}
