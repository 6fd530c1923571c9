/**
 * How `peer get` ends when asked to stop, with real processes (a tracker, a
 * slow sharer, the getter): stopped mid-download it says where the partial
 * file is kept, on stderr with or without `--json`, and exits 130 (143 for
 * SIGTERM); stopped while seeding what it saved (`--seed`) it says it stopped
 * seeding, and exits 0.
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { pollUntil, randomFile, tempDir } from "../fixtures.ts";
import {
  READY_TIMEOUT_MS,
  spawnEntry,
  spawnSharer,
  spawnTracker,
} from "../../scripts/_child.ts";
import { loopbackGetArgs } from "./_cli.ts";

/** Slow enough that the file below is a few seconds' download. */
const SLOW_UPLOAD = "256K";
/** A file that takes several seconds at SLOW_UPLOAD. */
const LARGE_BYTES = 3_000_000;
/** How long a stopped get may take to end. */
const STOP_TIMEOUT_MS = 15_000;

/** Output of a child, for assertion messages. */
function said(child: { stdout: readonly string[]; stderr: readonly string[] }) {
  return `stdout: ${child.stdout.join(" | ")} stderr: ${
    child.stderr.join(" | ")
  }`;
}

for (
  const { signal, code, json } of [
    { signal: "SIGINT", code: 130, json: false },
    { signal: "SIGINT", code: 130, json: true },
    { signal: "SIGTERM", code: 143, json: true },
  ] as const
) {
  Deno.test(
    `peer get${
      json ? " --json" : ""
    } stopped by ${signal} mid-download says on stderr where the partial file is kept, and exits ${code}`,
    async () => {
      await using dir = await tempDir();
      const file = await randomFile(dir.path, "big.bin", LARGE_BYTES);
      const tracker = await spawnTracker();
      const sharer = await spawnSharer(file, tracker.address, [
        "--upload-limit",
        SLOW_UPLOAD,
      ]);
      try {
        const out = join(dir.path, "out");
        await using getter = spawnEntry("peer.ts", [
          "get",
          sharer.link,
          "--out",
          out,
          "--port",
          "0",
          ...(json ? ["--json"] : []),
        ], { env: { P2P_HOME: join(dir.path, "home") } });
        const part = join(out, "big.bin.part");
        await pollUntil(
          READY_TIMEOUT_MS,
          async () =>
            ((await Deno.stat(part).catch(() => undefined))?.size ?? 0) > 0,
        );
        const status = await getter.stop(signal, STOP_TIMEOUT_MS);
        assertEquals(status.code, code, said(getter));
        const sentence =
          `Download stopped; the partial file is kept in ${part}: run the same get again to resume.`;
        assertEquals(getter.stderr.at(-1), sentence, said(getter));
        if (json) {
          assertEquals(getter.stderr.length, 1, said(getter));
          const last = JSON.parse(getter.stdout.at(-1) ?? "null");
          assertEquals(last?.error, sentence, said(getter));
          assertEquals(last?.exitCode, code, said(getter));
        } else {
          assertEquals(getter.stdout.join(""), "", said(getter));
        }
      } finally {
        await sharer.child.stop();
        await tracker.child.stop();
      }
    },
  );
}

Deno.test("peer get --seed stopped while seeding says it stopped seeding the file, and exits 0", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "small.bin", 100_000);
  const tracker = await spawnTracker();
  const sharer = await spawnSharer(file, tracker.address);
  try {
    await using getter = spawnEntry("peer.ts", [
      "get",
      sharer.link,
      "--out",
      join(dir.path, "out"),
      "--port",
      "0",
      "--seed",
    ], { env: { P2P_HOME: join(dir.path, "home") } });
    await getter.waitForLine(/^Seeding on /, READY_TIMEOUT_MS, "stderr");
    const status = await getter.stop("SIGINT", STOP_TIMEOUT_MS);
    assertEquals(status.code, 0, said(getter));
    assert(getter.stdout[0]?.startsWith("Saved "), said(getter));
    assertEquals(
      getter.stderr.at(-1),
      "Stopped seeding small.bin: unregistering from the tracker.",
      said(getter),
    );
    assertEquals(getter.stderr.length, 2, said(getter));
  } finally {
    await sharer.child.stop();
    await tracker.child.stop();
  }
});

Deno.test("peer get --seed --json prints, after its result, a seeding line with the link and address, and a stopped line when stopped", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "seeded.bin", 100_000);
  const tracker = await spawnTracker();
  const sharer = await spawnSharer(file, tracker.address);
  try {
    await using getter = spawnEntry(
      "peer.ts",
      loopbackGetArgs(
        sharer.id,
        tracker.address,
        join(dir.path, "out"),
        "--seed",
        "--json",
      ),
      { env: { P2P_HOME: join(dir.path, "home") } },
    );
    await getter.waitForLine(/"event":"seeding"/, READY_TIMEOUT_MS);
    const [result, seeding] = getter.stdout.map((line) => JSON.parse(line));
    assertEquals(result.id, sharer.id, said(getter));
    assertEquals(result.event, undefined, said(getter));
    assertEquals(seeding.event, "seeding", said(getter));
    assertEquals(seeding.id, sharer.id);
    assertEquals(seeding.name, "seeded.bin");
    assertEquals(seeding.link, `p2p://${tracker.address}/v1/pub/${sharer.id}`);
    assertEquals(seeding.private, false);
    assert(/^127\.0\.0\.1:\d+$/.test(seeding.address), seeding.address);
    assertEquals(seeding.registeredWith, [tracker.address]);
    const status = await getter.stop("SIGINT", STOP_TIMEOUT_MS);
    assertEquals(status.code, 0, said(getter));
    assertEquals(getter.stdout.length, 3, said(getter));
    assertEquals(JSON.parse(getter.stdout[2]), {
      event: "stopped",
      id: sharer.id,
      name: "seeded.bin",
      unregisteringFrom: [tracker.address],
    });
    assertEquals(getter.stderr.join(""), "", said(getter));
  } finally {
    await sharer.child.stop();
    await tracker.child.stop();
  }
});
