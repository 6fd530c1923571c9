import { join } from "node:path";
import { assert } from "../assert.ts";
import { randomFile, tempDir, testTracker } from "../fixtures.ts";
import { download } from "../../lib/download/download.ts";
import { PeerNode } from "../../lib/app/peer_node.ts";
import { ProgressLine, type ProgressWriter } from "../../lib/cli/progress.ts";
import { Transfers } from "../../lib/app/transfers.ts";
import { describeTransfer } from "../../lib/cli/prompt/transfer_lines.ts";

const KIB = 1024;

Deno.test("the speed a download shows never starts with the burst a bandwidth limit lets through at once", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "slow.bin", 1024 * KIB);
  const limit = 512 * KIB;
  const node = await PeerNode.start({
    tracker: tracker.address,
    host: "127.0.0.1",
    port: 0,
    uploadLimit: limit,
  });
  try {
    const meta = await node.share(source);
    const speeds: number[] = [];
    await download(meta.id, {
      tracker: tracker.address,
      outDir: join(dir.path, "out"),
      onProgress: (p) => speeds.push(p.bytesPerSecond),
    });
    const most = Math.max(...speeds);
    // One piece (256 KiB) goes out at once, then the limit holds.
    assert(
      most <= 2 * limit,
      `showed ${Math.round(most / KIB)} KiB/s at most under a ${
        limit / KIB
      } KiB/s limit: ${speeds.map((s) => Math.round(s / KIB)).join(", ")}`,
    );
  } finally {
    await node.close();
  }
});

Deno.test("a download under a 4 KiB/s limit shows about 4 KiB/s between its 16 KiB pieces, not a spike and then 0", async () => {
  await using dir = await tempDir();
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "trickle.bin", 48 * KIB);
  const node = await PeerNode.start({
    tracker: tracker.address,
    host: "127.0.0.1",
    port: 0,
  });
  try {
    // A piece every 4 s: further apart than the 3 s the speed looks back.
    const meta = await node.share(source, { pieceSize: 16 * KIB });
    const speeds: number[] = [];
    await download(meta.id, {
      tracker: tracker.address,
      outDir: join(dir.path, "out"),
      downloadLimit: 4 * KIB,
      onProgress: (p) => {
        if (p.received > 0) speeds.push(p.bytesPerSecond);
      },
    });
    const shown = speeds.map((s) => (s / KIB).toFixed(1)).join(", ");
    assert(speeds.length > 0, "no progress after the first piece");
    for (const speed of speeds) {
      assert(speed >= 2 * KIB && speed <= 6 * KIB, `showed ${shown} KiB/s`);
    }
  } finally {
    await node.close();
  }
});

Deno.test("a ProgressLine given no speed shows the bytes of its first moments over a second at least", () => {
  let now = 0;
  const chunks: string[] = [];
  const writer: ProgressWriter = {
    writeSync(bytes) {
      chunks.push(new TextDecoder().decode(bytes));
      return bytes.length;
    },
    isTerminal: () => true,
  };
  const line = new ProgressLine({ writer, color: false, now: () => now });
  now = 10; // 4 MiB hashed in 10 ms: not 400 MiB/s.
  line.update({ label: "a.bin", done: 4 * 1024 * KIB, total: 64 * 1024 * KIB });
  assert(chunks.join("").includes("4.0 MiB/s"), chunks.join(""));
});

Deno.test("a prompt's hashing shows the bytes of its first moments over a second at least", () => {
  let now = 0;
  const transfers = new Transfers(() => now);
  const hash = transfers.start({ kind: "hash", name: "a.bin" });
  now = 10; // 4 MiB hashed in 10 ms: not 400 MiB/s.
  hash.update({ done: 4 * 1024 * KIB, total: 64 * 1024 * KIB });
  assert(hash.bytesPerSecond <= 4 * 1024 * KIB, `${hash.bytesPerSecond}`);
  assert(describeTransfer(hash).includes("4.0 MiB/s"), describeTransfer(hash));
});
