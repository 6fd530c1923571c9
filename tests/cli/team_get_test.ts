/**
 * `peer get` against a team tracker without its secret, or with another
 * (or with one, against an open tracker):
 * the refusal never clears up, so the get does not wait out `--wait` but
 * takes one short look on the local network (if on) and exits 1 with the
 * tracker's sentence.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { tempDir } from "../fixtures.ts";
import {
  READY_TIMEOUT_MS,
  runEntry,
  spawnEntry,
} from "../../scripts/_child.ts";

/** An ID nobody shares. */
const ID = "ab".repeat(32);
/** Longest a refused get may take: one short LAN look and a process start. */
const REFUSED_WITHIN_MS = 15_000;

Deno.test("peer get refused by a team tracker (no secret, a wrong one) exits 1 with the tracker's sentence after one short look, not after --wait", async () => {
  await using dir = await tempDir();
  const home = {
    HOME: dir.path,
    P2P_HOME: dir.path,
    XDG_DATA_HOME: dir.path,
    XDG_CONFIG_HOME: dir.path,
  };
  await using tracker = spawnEntry("tracker.ts", [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--secret-file",
    join(dir.path, "team.key"),
  ], { env: home });
  const line = await tracker.waitForLine(/listening on/, READY_TIMEOUT_MS);
  const address = line.slice(line.lastIndexOf(" ") + 1);
  await using open = spawnEntry("tracker.ts", [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ], { env: home });
  const openLine = await open.waitForLine(/listening on/, READY_TIMEOUT_MS);
  const openAddress = openLine.slice(openLine.lastIndexOf(" ") + 1);
  const takesNone =
    `Cannot use tracker at ${openAddress}: it is an open tracker and takes no team secret: leave out --secret-file (or unset P2P_TEAM_SECRET) for it.`;
  const needs =
    `Cannot use tracker at ${address}: it is a team tracker and needs the team's secret (--secret-file or P2P_TEAM_SECRET).`;
  const mismatch =
    `Cannot use tracker at ${address}: the team secret given does not match this tracker's.`;
  for (
    const [at, secret, sentence, lan] of [
      [address, "", needs, true],
      [address, "not the team's secret at all", mismatch, true],
      [
        openAddress,
        "a team secret this tracker takes none of",
        takesNone,
        true,
      ],
      [address, "", needs, false],
      [address, "not the team's secret at all", mismatch, false],
    ] as const
  ) {
    const started = performance.now();
    const run = await runEntry("peer.ts", [
      "get",
      ID,
      "--tracker",
      at,
      "--wait",
      "60s",
      "--out",
      join(dir.path, "out"),
    ], {
      env: { ...home, P2P_TEAM_SECRET: secret, P2P_NO_LAN: lan ? "" : "1" },
      timeoutMs: 30_000,
    });
    const tookMs = performance.now() - started;
    const where = `${at}, ${lan ? "LAN on" : "LAN off"}, secret "${secret}"`;
    assertEquals(run.code, 1, `${where}: ${run.stderr}`);
    assert(tookMs < REFUSED_WITHIN_MS, `${where}: took ${tookMs} ms`);
    const lines = run.stderr.trim().split("\n");
    assert(lines[0].startsWith(sentence), `${where}: ${run.stderr}`);
    assert(lines.at(-1)!.startsWith(sentence), `${where}: ${run.stderr}`);
    assert(!/1m 00s|--wait/.test(run.stderr), `${where}: ${run.stderr}`);
    if (lan) {
      // The note says the look is as short as it is.
      assertEquals(
        lines[0],
        `${sentence} Looking on the local network instead, for 3s.`,
      );
      assertEquals(
        lines.at(-1),
        `${sentence} Nobody on the local network has the file.`,
      );
    } else {
      assertEquals(lines, [sentence]);
    }
  }
});
