/**
 * The folder floor (issue #23): a bare Deno copier of a folder over one
 * TCP connection (`folder_floor_copy.ts`: no hashing, encryption, flush or
 * link checks), timed like the folder get — its sender already listening
 * as a sharer would be, its receiver from spawn to exit, Deno's start-up
 * included — once with the peer's own permissions and V8 flags, once with
 * `--allow-all` (Deno then skips resolving every path it opens, its
 * permission check's cost). It shows what a get of many small files can
 * cost at best on this machine beside `tar`, in the same run.
 *
 * @module
 */

import { PEER_V8_FLAGS } from "../scripts/compile.ts";
import { spawnDeno } from "./_process.ts";
import { PEER_PERMISSIONS } from "./transfer.ts";

/** The floor's program. */
const COPIER = new URL("./folder_floor_copy.ts", import.meta.url).pathname;

/** Which permissions the floor runs with. */
export type FloorPermissions = "peer" | "all";

/** Options for {@linkcode floorCopy}. */
export interface FloorCopyOptions {
  /** The peer's permissions, or `--allow-all`. */
  permissions: FloorPermissions;
  /** Longest either side may take. */
  timeoutMs: number;
}

/**
 * Copies `dir` into `dest` (which must not exist) with the floor's program;
 * ms from the receiver's spawn to its exit. Throws if a side fails or
 * takes longer than `options.timeoutMs`.
 */
export async function floorCopy(
  dir: string,
  dest: string,
  options: FloorCopyOptions,
): Promise<number> {
  const flags = options.permissions === "all"
    ? ["--allow-all", ...PEER_V8_FLAGS]
    : [...PEER_PERMISSIONS];
  const sender = spawnDeno(["run", ...flags, COPIER, "send", dir]);
  try {
    const { line } = await sender.waitForLine(
      (text) => text.startsWith("ready "),
      options.timeoutMs,
    );
    const port = line.slice("ready ".length);
    const receiver = spawnDeno(["run", ...flags, COPIER, "recv", dest, port]);
    const status = await receiver.waitForExit(options.timeoutMs);
    if (!status.success) {
      throw new Error(`The floor's receiver failed: ${receiver.stderrTail}`);
    }
    // It sent everything before the receiver could finish.
    const sent = await sender.waitForExit(options.timeoutMs);
    if (!sent.success) {
      throw new Error(`The floor's sender failed: ${sender.stderrTail}`);
    }
    return receiver.wallMs ?? 0;
  } finally {
    await sender.stop();
  }
}
