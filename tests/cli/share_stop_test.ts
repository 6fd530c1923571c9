/**
 * How `peer share` ends, with real processes: a file it may not read is
 * refused like one that is not there (exit 2).
 */

import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import { randomFile, tempDir } from "../fixtures.ts";
import { Child, PERMISSIONS, ROOT, runEntry } from "../../scripts/_child.ts";
import { assertOneLine, freePort } from "./_cli.ts";

/** Whether this process may drop the capability to read any file (root). */
const canDropRead = Deno.uid() === 0 &&
  (await Deno.stat("/usr/bin/setpriv").then(() => true, () => false));

/**
 * Runs `peer.ts ARGS` as root without the capabilities that read any file,
 * so that a file of mode 000 is as unreadable to it as to a user.
 */
async function runWithoutReadAll(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Child(
    new Deno.Command("setpriv", {
      args: [
        "--bounding-set",
        "-dac_override,-dac_read_search",
        Deno.execPath(),
        "run",
        ...PERMISSIONS["peer.ts"],
        `${ROOT}peer.ts`,
        ...args,
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1", P2P_NO_LAN: "1", P2P_NO_DHT: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
  const status = await child.finished();
  return {
    code: status.code,
    stdout: child.stdout.join("\n"),
    stderr: child.stderr.join("\n"),
  };
}

Deno.test({
  name:
    "peer share of a file or folder it may not read exits 2 with one sentence, as for one that is not there",
  ignore: !canDropRead,
  async fn() {
    await using dir = await tempDir();
    const file = await randomFile(dir.path, "secret.bin", 1_000);
    const folder = join(dir.path, "closed");
    await Deno.mkdir(folder);
    await Deno.chmod(file, 0o000);
    await Deno.chmod(folder, 0o000);
    const tracker = `127.0.0.1:${freePort()}`;
    for (const path of [file, folder]) {
      const run = await runWithoutReadAll([
        "share",
        path,
        "--tracker",
        tracker,
        "--port",
        "0",
      ]);
      assertEquals(run.code, 2, run.stderr);
      assertEquals(
        assertOneLine(run.stderr),
        `Cannot share "${path}": permission denied. Check that you can read it.`,
      );
    }
    const missing = await runEntry("peer.ts", [
      "share",
      join(dir.path, "nothing.bin"),
      "--tracker",
      tracker,
    ]);
    assertEquals(missing.code, 2, missing.stderr);
  },
});
