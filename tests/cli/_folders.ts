/**
 * What the folder end-to-end tests share: a tracker with a sharer of a
 * folder as child processes, `peer get --json` of it, an interrupted get,
 * and walking a folder on disk to compare it with another.
 *
 * @module
 */

import { join, relative } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { sha256File } from "../fixtures.ts";
import {
  type Child,
  READY_TIMEOUT_MS,
  runEntry,
  type RunResult,
  shareArgs,
  spawnEntry,
  spawnTracker,
} from "../../scripts/_child.ts";

/** Longest a whole folder get may run in these tests. */
export const GET_TIMEOUT_MS = 60_000;

/** A tracker child and sharers of it, all stopped on dispose. */
export interface Swarm extends AsyncDisposable {
  /** The tracker's address (`127.0.0.1:PORT`). */
  tracker: string;
  /** Starts a `peer share --json` child of `paths` with `extra` arguments. */
  share(
    paths: string | string[],
    extra?: string[],
  ): Promise<{ child: Child; id: string; address: string; ready: Shared }>;
}

/** What `peer share --json` prints once a share is served. */
export interface Shared {
  id: string;
  name: string;
  size: number;
  address: string;
  folder?: boolean;
  files?: number;
  skipped?: { path: string; reason: string }[];
}

/** A tracker child; sharers started through it are stopped with it. */
export async function startSwarm(): Promise<Swarm> {
  const tracker = await spawnTracker();
  const children: Child[] = [tracker.child];
  return {
    tracker: tracker.address,
    async share(paths, extra = []) {
      const list = typeof paths === "string" ? [paths] : paths;
      const args = shareArgs(list[0], tracker.address, extra);
      args.splice(2, 0, ...list.slice(1));
      const child = spawnEntry("peer.ts", args);
      children.push(child);
      const ready: Shared = JSON.parse(
        await child.waitForLine(/^\{/, READY_TIMEOUT_MS),
      );
      return { child, id: ready.id, address: ready.address, ready };
    },
    async [Symbol.asyncDispose]() {
      // Sharers first, then the tracker.
      for (const child of children.reverse()) await child.stop();
    },
  };
}

/** `peer get ID --json` arguments into `out` through `tracker`. */
export function getArgs(
  id: string,
  tracker: string,
  out: string,
  extra: string[] = [],
): string[] {
  return ["get", id, "--json", "--tracker", tracker, "--out", out, ...extra];
}

/** One peer's part of a get, as `--json` reports it. */
export interface PeerBytes {
  address: string;
  bytes: number;
}

/** What `peer get --json` prints once a folder is saved. */
export interface GotFolder {
  id: string;
  name: string;
  size: number;
  path: string;
  peers: PeerBytes[];
  alreadyHere: boolean;
  files?: { path: string; size: number; id: string; executable?: true }[];
}

/** Runs `peer get ID --json` to completion; asserts exit 0 and parses it. */
export async function getFolder(
  id: string,
  tracker: string,
  out: string,
  extra: string[] = [],
): Promise<GotFolder> {
  const result = await runEntry("peer.ts", getArgs(id, tracker, out, extra), {
    timeoutMs: GET_TIMEOUT_MS,
  });
  return parseGot(result);
}

/** The last JSON line of a successful `peer get --json`. */
export function parseGot(result: RunResult): GotFolder {
  assertEquals(result.code, 0, `stderr: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split("\n").pop()!);
}

/** Bytes all peers sent, from a get's `peers`. */
export function received(peers: PeerBytes[]): number {
  return peers.reduce((total, peer) => total + peer.bytes, 0);
}

/** True if something (even a dangling link) is at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** One entry of a folder on disk, from `lstat`. */
export interface Entry {
  /** Path below the walked folder, with `/`. */
  path: string;
  kind: "file" | "folder" | "link";
  /** Permission bits (files and folders). */
  mode: number;
  size: number;
}

/** Every entry below `root` (links not followed), sorted by path. */
export async function walk(root: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    for await (const { name } of Deno.readDir(dir)) {
      const full = join(dir, name);
      const info = await Deno.lstat(full);
      const kind = info.isSymlink
        ? "link"
        : info.isDirectory
        ? "folder"
        : "file";
      if (kind === "folder") pending.push(full);
      entries.push({
        path: relative(root, full),
        kind,
        mode: (info.mode ?? 0) & 0o777,
        size: info.size,
      });
    }
  }
  return entries.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

/**
 * Asserts `got` holds exactly the files and folders of `source` (links in
 * `source` left out), each file byte-identical with the same mode.
 */
export async function assertSameTree(
  source: string,
  got: string,
): Promise<void> {
  const want = (await walk(source)).filter((entry) => entry.kind !== "link");
  const have = await walk(got);
  assertEquals(
    have.map(({ path, kind }) => ({ path, kind })),
    want.map(({ path, kind }) => ({ path, kind })),
  );
  for (const entry of want) {
    if (entry.kind !== "file") continue;
    const [a, b] = [join(source, entry.path), join(got, entry.path)];
    assertEquals(await sha256File(b), await sha256File(a), entry.path);
    const mode = have.find((e) => e.path === entry.path)!.mode;
    assertEquals(mode.toString(8), entry.mode.toString(8), entry.path);
  }
}

/** Bytes actually stored (blocks allocated) in the files below `root`. */
export async function storedBytes(root: string): Promise<number> {
  let total = 0;
  for (const entry of await walk(root).catch(() => [])) {
    if (entry.kind !== "file") continue;
    const info = await Deno.lstat(join(root, entry.path)).catch(() => null);
    total += (info?.blocks ?? 0) * 512;
  }
  return total;
}

/**
 * Starts `peer get ID --json` into `out` and stops it with SIGINT once
 * `NAME.part/` stores at least `bytes`; asserts it stopped without saving.
 * Resolves to the bytes `NAME.part/` stored when it was stopped.
 */
export async function interruptedGet(
  options: {
    id: string;
    tracker: string;
    out: string;
    name: string;
    bytes: number;
  },
): Promise<number> {
  const { id, tracker, out, name, bytes } = options;
  const part = join(out, `${name}.part`);
  const get = spawnEntry("peer.ts", getArgs(id, tracker, out));
  let stored = 0;
  try {
    const deadline = Date.now() + GET_TIMEOUT_MS;
    while (get.stdout.length === 0 && Date.now() < deadline) {
      stored = await storedBytes(part);
      if (stored >= bytes) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await get.stop("SIGINT", 10_000);
  }
  assert(
    stored >= bytes,
    `${part} held ${stored} bytes, not ${bytes}, before the get ended: ${
      get.stdout.join("\n")
    } ${get.stderr.join("\n")}`,
  );
  const status = await get.finished();
  assertEquals(status.code, 130, get.stderr.join("\n"));
  assert(await exists(part), "NAME.part/ is kept");
  assert(await exists(`${part}.json`), "its record is kept");
  assert(!await exists(join(out, name)), "nothing under the real name");
  return stored;
}

/** Runs a program to completion (not an entry file): its code and output. */
export async function runProgram(
  program: string,
  args: string[],
): Promise<RunResult> {
  const { code, stdout, stderr } = await new Deno.Command(program, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}
