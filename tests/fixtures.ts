/**
 * Shared set-up for tests: temporary folders, files of random bytes, and a
 * tracker with sharing peers on 127.0.0.1 port 0.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Address } from "../lib/net/connection.ts";
import { PeerNode } from "../lib/app/peer_node.ts";
import { startTracker, type TrackerServer } from "../lib/tracker/server.ts";
import { type Listener, startListener } from "../lib/net/listener.ts";
import type { FileMeta, PeerAddress } from "../lib/protocol/messages.ts";

/** A temporary folder removed on dispose. */
export async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "p2p-test-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** Writes `size` random bytes to `dir/name`, in chunks; returns the path. */
export async function randomFile(
  dir: string,
  name: string,
  size: number,
): Promise<string> {
  const path = join(dir, name);
  using file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  const chunk = new Uint8Array(Math.min(size, 1 << 20));
  for (let done = 0; done < size;) {
    const n = Math.min(chunk.length, size - done);
    for (let i = 0; i < n; i += 65536) {
      crypto.getRandomValues(chunk.subarray(i, Math.min(n, i + 65536)));
    }
    let written = 0;
    while (written < n) written += await file.write(chunk.subarray(written, n));
    done += n;
  }
  return path;
}

/** SHA-256 of a file's contents as hex, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  const buffer = new Uint8Array(1 << 20);
  for (;;) {
    const n = await file.read(buffer);
    if (n === null) break;
    hash.update(buffer.subarray(0, n));
  }
  return hash.digest("hex");
}

/**
 * The SHA-256 of a file as the system's `sha256sum` prints it: an
 * independent check on our own hashing.
 */
export async function sha256sum(path: string): Promise<string> {
  const { code, stdout } = await new Deno.Command("sha256sum", {
    args: [path],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (code !== 0) throw new Error(`sha256sum exited with ${code}`);
  return new TextDecoder().decode(stdout).split(" ")[0];
}

/** A tracker on `host` (127.0.0.1) port 0, closed on dispose. */
export function testTracker(
  host = "127.0.0.1",
): TrackerServer & AsyncDisposable {
  const tracker = startTracker({ host, port: 0 });
  return Object.assign(tracker, {
    [Symbol.asyncDispose]: () => tracker.close(),
  });
}

/** A peer node on 127.0.0.1 port 0 sharing `paths`, closed on dispose. */
export async function sharer(
  tracker: Address,
  paths: string[],
): Promise<PeerNode & AsyncDisposable> {
  const node = await PeerNode.start({ tracker, host: "127.0.0.1", port: 0 });
  for (const path of paths) await node.share(path);
  return Object.assign(node, {
    [Symbol.asyncDispose]: () => node.close(),
  });
}

/**
 * `promise`, or a failure naming `what` once `ms` have passed: a bound on
 * every wait in a test.
 */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
  what = "it",
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} took over ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every 10 ms until true; resolves to the ms it took, or fails after `ms`. */
export async function pollUntil(
  ms: number,
  check: () => Promise<boolean>,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > ms) {
      throw new Error(`Condition not met within ${ms} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A tracker on 127.0.0.1 that answers every query, whatever the ID, with
 * `meta` and `peers`, and refuses everything else: a liar.
 */
export function lyingTracker(
  meta: FileMeta,
  peers: PeerAddress[],
): Listener & AsyncDisposable {
  const listener = startListener({
    host: "127.0.0.1",
    port: 0,
    serve: async (conn) => {
      for (let m; (m = await conn.receive()) !== null;) {
        await conn.send(
          m.type === "query"
            ? { type: "file", meta, peers }
            : { type: "error", code: "bad-request", message: "no" },
        );
      }
    },
  });
  return Object.assign(listener, {
    [Symbol.asyncDispose]: () => listener.close(),
  });
}

/**
 * Registers tests that need something this machine may lack (a network
 * lab, a router daemon): when `missing` says why it is absent, each test is
 * ignored with that reason in its name.
 */
export function requiring(
  missing: string | undefined,
): (name: string, fn: () => Promise<void>) => void {
  return (name, fn) =>
    Deno.test({
      name: missing ? `${name} (skipped: ${missing})` : name,
      ignore: missing !== undefined,
      fn,
    });
}

/**
 * Writes an unfinished download at `part` as a get leaves it: a `.part` of
 * `size` zero bytes (or, with `kind: "folder"`, a folder holding one file)
 * and its resume record beside it, for a file whose ID is `ab…ab`.
 */
export async function unfinishedPart(
  part: string,
  options: { size?: number; kind?: "folder" } = {},
): Promise<void> {
  const size = options.size ?? 1000;
  if (options.kind === "folder") {
    await Deno.mkdir(part);
    await Deno.writeTextFile(join(part, "one.txt"), "1");
  } else {
    await Deno.writeFile(part, new Uint8Array(size));
  }
  await Deno.writeTextFile(
    `${part}.json`,
    JSON.stringify({
      version: 1,
      ...(options.kind ? { kind: options.kind } : {}),
      id: "ab".repeat(32),
      size,
      pieceSize: 262144,
      hashesDigest: "cd".repeat(32),
    }),
  );
}

/**
 * Writes another file's unfinished download as `NAME.part` in folder `out`
 * (made if missing), with its resume record: a get of a different file
 * named `name` must leave it alone. Resolves to its path.
 */
export async function otherFilesPart(
  out: string,
  name: string,
): Promise<string> {
  await Deno.mkdir(out, { recursive: true });
  const part = join(out, `${name}.part`);
  await unfinishedPart(part);
  return part;
}

/** Runs `command` with `args`, its output discarded; true if it succeeded. */
export async function runQuietly(
  command: string,
  args: string[],
): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(command, {
      args,
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}
