/**
 * The page's share of a path this program is not allowed to read (Deno
 * keeps `/proc` and `/sys` to programs run with every permission) says so,
 * as `peer share` does: not that nothing is there. Run against a real
 * `peer ui` with the product's permissions, since a test process with all
 * permissions could read the path.
 *
 * @module
 */

import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import { tempDir } from "../fixtures.ts";
import { readyLine, spawnEntry } from "../../scripts/_child.ts";
import { spawnUiPeer } from "../../scripts/_browser.ts";
import { tokenOf } from "./_page.ts";

Deno.test({
  name:
    "the page's share of a path the peer may not read says so; a missing one says nothing is there",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = await tempDir();
    const tracker = spawnEntry("tracker.ts", [
      "--host",
      "127.0.0.1",
      "--port",
      "0",
    ]);
    try {
      const line = await readyLine(tracker, /listening on/);
      const address = line.slice(line.lastIndexOf(" ") + 1);
      await using ui = await spawnUiPeer(address, join(dir.path, "home"));
      const share = async (path: string) => {
        const response = await fetch(`${ui.origin}/api/share`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${tokenOf(ui.url)}`,
            "content-type": "application/json",
          },
          body: JSON.stringify({ path }),
        });
        return { status: response.status, body: await response.json() };
      };
      assertEquals(await share("/proc/self/status"), {
        status: 400,
        body: {
          error:
            "Cannot share /proc/self/status: this program is not allowed to read it.",
        },
      });
      const missing = join(dir.path, "no-such-file");
      assertEquals(await share(missing), {
        status: 400,
        body: { error: `There is no file or folder at ${missing}.` },
      });
    } finally {
      await tracker.stop();
    }
  },
});
