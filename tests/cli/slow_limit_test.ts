import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { freePort, runWithInput } from "./_cli.ts";
import { randomFile, tempDir } from "../fixtures.ts";
import { runEntry, spawnEntry } from "../../scripts/_child.ts";
import {
  SLOW_DOWNLOAD_LIMIT,
  SLOW_UPLOAD_LIMIT,
  slowDownloadWarning,
  slowUploadWarning,
} from "../../lib/cli/args.ts";

const ID = "ab".repeat(32);

Deno.test("slowUploadWarning() warns in one sentence under SLOW_UPLOAD_LIMIT, in proportion to the piece size", () => {
  assertEquals(
    slowUploadWarning(8 * 1024),
    "Warning: --upload-limit 8.0 KiB/s is very low: a 256 KiB piece takes 32 s to send at that rate, so downloaders get each piece from this peer that slowly; give at least 64K for steady progress.",
  );
  assertEquals(slowUploadWarning(SLOW_UPLOAD_LIMIT), undefined);
  assertEquals(slowUploadWarning(128 * 1024), undefined);
  assert(
    slowUploadWarning(128 * 1024, 1024 * 1024)?.includes(
      "a 1.0 MiB piece takes 8 s",
    ),
  );
});

Deno.test("slowDownloadWarning() warns in one sentence under SLOW_DOWNLOAD_LIMIT", () => {
  assertEquals(
    slowDownloadWarning(10 * 1024),
    "Warning: --download-limit 10.0 KiB/s is very low: a 256 KiB piece (the usual size) takes 26 s to arrive at that rate, so the download moves a piece at a time, that far apart; give at least 64K for steady progress.",
  );
  assertEquals(slowDownloadWarning(SLOW_DOWNLOAD_LIMIT), undefined);
  assertEquals(slowDownloadWarning(16 * 1024 ** 2), undefined);
});

Deno.test("peer get and the prompt take a very low --upload-limit or --download-limit with a one-sentence warning each; -q silences them", async () => {
  const tracker = `127.0.0.1:${freePort()}`;
  await using dir = await tempDir();
  const out = join(dir.path, "out");
  const get = (...flags: string[]) =>
    runEntry("peer.ts", [
      "get",
      ID,
      "--tracker",
      tracker,
      "--wait",
      "0",
      "--out",
      out,
      ...flags,
    ]);
  const warned = await get("--upload-limit", "8K");
  // Taken: the get goes on to the tracker (which is not there).
  assertEquals(warned.code, 1, warned.stderr);
  const lines = warned.stderr.trim().split("\n");
  assertEquals(lines.length, 2, warned.stderr);
  assert(
    lines[0].startsWith("Warning: --upload-limit 8.0 KiB/s is very low:"),
    lines[0],
  );
  assert(lines[1].startsWith("Cannot reach tracker"), lines[1]);
  const slowGet = await get("--upload-limit", "64K", "--download-limit", "10K");
  assertEquals(slowGet.code, 1, slowGet.stderr);
  const [warning, ...rest] = slowGet.stderr.trim().split("\n");
  assertEquals(warning, slowDownloadWarning(10 * 1024));
  assertEquals(rest.length, 1, slowGet.stderr);
  for (
    const quiet of [
      await get("--upload-limit", "8K", "-q"),
      await get("--download-limit", "8K", "-q"),
      await get("--upload-limit", "64K", "--download-limit", "64K"),
    ]
  ) {
    assertEquals(quiet.code, 1, quiet.stderr);
    assert(!quiet.stderr.includes("Warning"), quiet.stderr);
  }
  const prompt = await runWithInput(
    "peer.ts",
    [
      "--tracker",
      tracker,
      "--port",
      "0",
      "--upload-limit",
      "2K",
      "--download-limit",
      "2K",
    ],
    "quit\n",
  );
  assert(
    prompt.stderr.includes("Warning: --upload-limit 2.0 KiB/s is very low:"),
    prompt.stderr,
  );
  assert(
    prompt.stderr.includes("Warning: --download-limit 2.0 KiB/s is very low:"),
    prompt.stderr,
  );
});

Deno.test("peer share, which receives nothing, does not warn of a low --download-limit", async () => {
  await using dir = await tempDir();
  const result = await runEntry("peer.ts", [
    "share",
    join(dir.path, "missing.bin"),
    "--tracker",
    `127.0.0.1:${freePort()}`,
    "--download-limit",
    "8K",
  ]);
  assertEquals(result.code, 2, result.stderr);
  assert(!result.stderr.includes("Warning"), result.stderr);
});

Deno.test("peer share warns of an --upload-limit too low for its --piece-size", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "a.bin", 1024);
  await using sharer = spawnEntry("peer.ts", [
    "share",
    file,
    "--tracker",
    `127.0.0.1:${freePort()}`,
    "--port",
    "0",
    "--piece-size",
    "1M",
    "--upload-limit",
    "128K",
  ]);
  const line = await sharer.waitForLine(/Warning/, 20_000, "stderr");
  assert(line.includes("a 1.0 MiB piece takes 8 s"), line);
});
