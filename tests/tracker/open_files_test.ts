/**
 * A tracker at its open-file limit (#22): every sharer holds a connection,
 * one file descriptor each, so the limit is the tracker's real capacity.
 * Past it the tracker says so on stderr at any verbosity (once a minute),
 * counts it in `stats` and `/metrics`, and serves again once peers leave.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import { readyLine, spawnEntry } from "../../scripts/_child.ts";
import { TrackerClient } from "../../lib/discovery/tracker_client.ts";
import {
  OUT_OF_FILES_WARN_MS,
  outOfFilesLine,
  OutOfFilesWarning,
} from "../../lib/tracker/_out_of_files.ts";

const LOCAL = "127.0.0.1";
/** The open-file limit the tracker child runs with: room for ~100 peers. */
const OPEN_FILES = 120;
/** Most clients tried: more than the limit allows. */
const MAX_CLIENTS = 200;
/** Ms each client may take to connect before the tracker counts as full. */
const CONNECT_MS = 1_500;

/** True where `prlimit` (util-linux) can lower a child's limit. */
function canLimit(): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    return new Deno.Command("prlimit", { args: ["--version"], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const limitable = canLimit();
if (!limitable) {
  console.log(
    "open_files_test: skipping the child-tracker case (needs Linux and prlimit)",
  );
}

Deno.test({
  name:
    "a tracker out of file descriptors warns once on stderr, counts it, and serves again once peers leave",
  ignore: !limitable,
  async fn() {
    await using child = spawnEntry("tracker.ts", [
      "--host",
      LOCAL,
      "--port",
      "0",
      "--no-relay",
    ], { openFiles: OPEN_FILES });
    const line = await readyLine(child, /listening on/);
    const port = Number(line.slice(line.lastIndexOf(":") + 1));
    const address = { host: LOCAL, port };
    const clients: TrackerClient[] = [];
    try {
      // Fill it: each client holds one of its descriptors.
      for (let i = 0; i < MAX_CLIENTS; i++) {
        try {
          clients.push(
            await TrackerClient.connect(address, { timeoutMs: CONNECT_MS }),
          );
        } catch {
          break;
        }
      }
      assert(
        clients.length > OPEN_FILES / 2 && clients.length < OPEN_FILES,
        `${clients.length} clients got in`,
      );
      const warning = await child.waitForLine(
        /out of open files/,
        10_000,
        "stderr",
      );
      assert(
        warning.includes(`at ${clients.length} connections`) &&
          warning.includes("LimitNOFILE"),
        warning,
      );

      // Half leave: the next one is served, and sees the count.
      for (const client of clients.splice(0, clients.length / 2)) {
        client.close();
      }
      const late = await TrackerClient.connect(address, { timeoutMs: 10_000 });
      clients.push(late);
      const stats = await late.stats();
      assert((stats.outOfFiles ?? 0) > 0, JSON.stringify(stats));
      assertEquals(stats.connections, clients.length);
    } finally {
      for (const client of clients) client.close();
    }
    await child.stop();
    // Said once: the next warning would come a minute later.
    const said = child.stderr.filter((text) =>
      text.includes("out of open files")
    );
    assertEquals(said.length, 1, child.stderr.join("\n"));
  },
});

Deno.test("the out-of-files warning comes at most once a minute, as one line", () => {
  let now = 0;
  const lines: string[] = [];
  const warning = new OutOfFilesWarning({
    warn: (line) => lines.push(line),
    now: () => now,
  });
  warning.note(19_996);
  now += OUT_OF_FILES_WARN_MS - 1;
  warning.note(19_996);
  assertEquals(lines, [outOfFilesLine(19_996)]);
  now += 1;
  warning.note(20_001);
  assertEquals(lines.length, 2);
  assert(lines[1].includes("at 20,001 connections"), lines[1]);
  for (const line of lines) assert(!line.includes("\n"), line);
});
