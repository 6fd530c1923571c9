import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, sharer, tempDir, testTracker } from "../fixtures.ts";
import { download } from "../../lib/download/download.ts";
import { hashFile } from "../../lib/storage/file_hash.ts";
import {
  describe,
  ProgressLine,
  type ProgressWriter,
} from "../../lib/cli/progress.ts";

/** A terminal that keeps what was written. */
function terminal(): ProgressWriter & { text: () => string } {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  return {
    writeSync(bytes: Uint8Array) {
      chunks.push(decoder.decode(bytes));
      return bytes.length;
    },
    isTerminal: () => true,
    text: () => chunks.join(""),
  };
}

Deno.test("the last live line of a finished download does not say 0 peers: its peers leave once the last piece is in", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "a.bin", 3_000_000);
  const { id } = await hashFile(source);
  await using _node = await sharer(tracker.address, [source]);
  const writer = terminal();
  const line = new ProgressLine({ writer, color: false, columns: () => 200 });
  let lastPeers: number | undefined;
  await download(id, {
    tracker: tracker.address,
    outDir: join(dir.path, "out"),
    onProgress: (p) => {
      lastPeers = p.peers;
      line.update({
        label: p.name,
        done: p.received,
        total: p.size,
        bytesPerSecond: p.bytesPerSecond,
        peers: p.peers,
      });
    },
  });
  const last = writer.text().split("\r\x1b[2K").at(-1)!;
  assert(last.includes("a.bin  100.0%"), last);
  assert(
    !/\bpeers?\b/.test(last),
    `${last} (the last report had ${lastPeers} peers)`,
  );
});

Deno.test("describe() leaves out the peers of a finished transfer only when none is left", () => {
  const done = { label: "a.bin", done: 1024, total: 1024 };
  assertEquals(
    describe({ ...done, peers: 0 }, 0),
    "a.bin  100.0%  1.0 KiB / 1.0 KiB  0 B/s  ETA 0s",
  );
  assert(describe({ ...done, peers: 2 }, 0).endsWith("  2 peers"));
  assert(describe({ ...done, done: 512, peers: 0 }, 0).endsWith("  0 peers"));
});
