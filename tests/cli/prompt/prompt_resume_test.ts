/**
 * The prompt's get says once when it resumes a `.part` an earlier get left,
 * and how much was there, in `peer get`'s words; a get that starts afresh
 * says nothing of the kind, a file of one piece (whose first report comes
 * with its piece in and its peer gone) too. Real processes: a tracker, two
 * sharers, a prompt; the `.part` is left by a get cancelled in-process.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../../assert.ts";
import { randomFile, sha256File, tempDir } from "../../fixtures.ts";
import { spawnSharer } from "../../../scripts/_child.ts";
import {
  isolatedEnv,
  PromptProcess,
  sleep,
  startTracker,
} from "../../_prompt_process.ts";
import { startPeerSession } from "../../../lib/cli/peer_session.ts";
import { DEFAULT_PIECE_SIZE } from "../../../lib/protocol/limits.ts";

/** Six pieces: three seconds at SLOW_UPLOAD, so the first get is cut. */
const SIZE = 6 * DEFAULT_PIECE_SIZE;
const SLOW_UPLOAD = "512K";

/**
 * Leaves `out/NAME.part` with some of file `id` in it: a get in `out`,
 * cancelled once a piece is in.
 */
async function leavePart(id: string, tracker: string, out: string) {
  const [host, port] = tracker.split(":");
  await using getter = await startPeerSession({
    tracker: { host, port: Number(port) },
    host: "127.0.0.1",
    port: 0,
    outDir: out,
    note: () => {},
  });
  const { session } = getter;
  const getting = session.get(id);
  const deadline = performance.now() + 15_000;
  while (
    (session.transfers()[0]?.done ?? 0) === 0 && performance.now() < deadline
  ) {
    await sleep(20);
  }
  const running = session.transfers()[0];
  assert(running && running.done > 0 && running.done < SIZE, "cut part way");
  running.cancel();
  assertEquals(await getting, undefined);
}

Deno.test("the prompt's get says once how much a resumed .part held, and nothing of resuming for a fresh get of one piece", async () => {
  await using dir = await tempDir();
  const big = await randomFile(dir.path, "big.bin", SIZE);
  const small = await randomFile(dir.path, "small.bin", 100_000);
  await using tracker = await startTracker();
  const slow = await spawnSharer(big, tracker.address, [
    "--upload-limit",
    SLOW_UPLOAD,
  ]);
  await using _slow = slow.child;
  const quick = await spawnSharer(small, tracker.address);
  await using _quick = quick.child;
  const out = join(dir.path, "out");
  await leavePart(slow.id, tracker.address, out);

  const home = join(dir.path, "home");
  await Deno.mkdir(home);
  await using prompt = new PromptProcess(
    ["--host", "127.0.0.1", "--port", "0", "--out", out],
    await isolatedEnv(home, tracker.address),
  );
  await prompt.type(`get ${quick.id}\nget ${slow.id}\nquit\n`);
  const status = await prompt.end(30_000);
  assertEquals(status.code, 0, prompt.output + prompt.stderr);
  assertEquals(await sha256File(join(out, "small.bin")), quick.id);
  assertEquals(await sha256File(join(out, "big.bin")), slow.id);
  const resuming = prompt.lines.filter((line) => line.includes("Resum"));
  assertEquals(resuming.length, 1, prompt.output);
  assert(
    /^Resuming big\.bin: [\d.]+ [KM]iB of 1\.5 MiB already here, checked\.$/
      .test(resuming[0]),
    prompt.output,
  );
});
