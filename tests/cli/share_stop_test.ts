/**
 * How `peer share` ends, with real processes: stopped while it is still
 * hashing (it says so, and exits as `get` does: 130, 143 for SIGTERM);
 * a shared file that grows (the reason, then the stop line); and a file it
 * may not read, refused like one that is not there (exit 2).
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, tempDir } from "../fixtures.ts";
import {
  Child,
  PERMISSIONS,
  ROOT,
  runEntry,
  shareArgs,
  spawnEntry,
  spawnTracker,
} from "../../scripts/_child.ts";
import { assertOneLine, freePort } from "./_cli.ts";

/**
 * A TCP port that accepts connections and never says a word; `accepted`
 * resolves at the first connection (a share connects to its tracker just
 * before it hashes).
 */
function silentTracker(): Disposable & {
  address: string;
  accepted: Promise<void>;
} {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const { promise, resolve } = Promise.withResolvers<void>();
  (async () => {
    for await (const conn of listener) {
      held.push(conn);
      resolve();
    }
  })().catch(() => {});
  return {
    address: `127.0.0.1:${listener.addr.port}`,
    accepted: promise,
    [Symbol.dispose]() {
      for (const conn of held) conn.close();
      listener.close();
    },
  };
}

/** A sparse file of `size` bytes: seconds to hash, nothing on disk. */
async function sparseFile(dir: string, size: number): Promise<string> {
  const path = join(dir, "big.bin");
  using file = await Deno.open(path, { write: true, createNew: true });
  await file.truncate(size);
  return path;
}

for (
  const { signal, code, json } of [
    { signal: "SIGINT", code: 130, json: false },
    { signal: "SIGTERM", code: 143, json: false },
    { signal: "SIGINT", code: 130, json: true },
  ] as const
) {
  Deno.test(
    `peer share${
      json ? " --json" : ""
    } stopped by ${signal} while hashing says nothing was shared and exits ${code}`,
    async () => {
      await using dir = await tempDir();
      const big = await sparseFile(dir.path, 8 * 1024 ** 3);
      using tracker = silentTracker();
      await using sharer = spawnEntry("peer.ts", [
        "share",
        big,
        "--tracker",
        tracker.address,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        ...(json ? ["--json"] : []),
      ]);
      await tracker.accepted;
      const status = await sharer.stop(signal, 20_000);
      const said = `stdout: ${sharer.stdout.join("\n")} stderr: ${
        sharer.stderr.join("\n")
      }`;
      assertEquals(status.code, code, said);
      assertEquals(
        assertOneLine(sharer.stderr.join("\n")),
        "Stopped before anything was shared.",
      );
      if (json) {
        const last = JSON.parse(sharer.stdout.at(-1) ?? "null");
        assertEquals(last?.error, "Stopped before anything was shared.", said);
        assertEquals(last?.exitCode, code);
        assert(typeof last?.version === "string", said);
      } else {
        assertEquals(sharer.stdout.join(""), "", said);
      }
    },
  );
}

Deno.test("peer share of a file that grows says why before it says it stops, and exits 1", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "grow.bin", 100_000);
  const tracker = await spawnTracker();
  try {
    await using sharer = spawnEntry(
      "peer.ts",
      shareArgs(file, tracker.address, [], { json: false }),
    );
    await sharer.waitForLine(/^Serving on /, 30_000);
    using handle = await Deno.open(file, { append: true });
    await handle.write(new Uint8Array(1_000));
    // The idle check (every 10 s) finds it.
    const status = await sharer.stop("SIGCONT", 30_000);
    const stderr = sharer.stderr;
    assertEquals(status.code, 1, stderr.join("\n"));
    assertEquals(stderr.length, 2, stderr.join("\n"));
    assert(
      /^Stopped sharing grow\.bin: .*changed size .*\. Share it again once it stops changing\.$/
        .test(stderr[0]),
      stderr.join("\n"),
    );
    assertEquals(stderr[1], "Stopping: unregistering from the tracker.");
  } finally {
    await tracker.child.stop();
  }
});

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
