/**
 * Flushing a whole file system to disk at once: `sync -f PATH`, which is
 * `syncfs(2)` on Linux. A folder download of many small files otherwise
 * flushes each file on its own (`fdatasync`), and each of those is a
 * synchronous disk write: measured here, 10,000 files of 4 KiB took 1.3-1.9
 * s of flushes one file at a time (16 at once) against 0.11-0.13 s for one
 * `sync -f` after writing them all. Deno has no `syncfs`, so the peer runs
 * the system's `sync`, by absolute path, allowed by `--allow-run`; where it
 * is missing, not allowed or fails, the caller flushes file by file.
 *
 * Only on a file system kept on a block device (its device number has a
 * major number): `syncfs` then writes every file's data to that device. On
 * FUSE and network file systems (anonymous devices, major 0) it need not
 * reach the storage where `fsync` does, so files there are flushed one by
 * one, as on tmpfs, overlayfs, btrfs and ZFS, whose devices are anonymous
 * too (slower, never less safe). `/proc/self/mountinfo` would name the
 * type, but Deno lets only `--allow-all` read it. Not handled: kernels
 * before 5.8, whose `syncfs` does not report a failed write-back that an
 * `fdatasync` would.
 *
 * `syncfs` writes back every program's unwritten data on that file system,
 * not only ours: behind another program's copy of many gigabytes it could
 * take minutes. After {@linkcode FS_SYNC_TIMEOUT_MS} the `sync` is stopped
 * and the caller flushes its own files one by one instead.
 *
 * @module
 */

import { resolve } from "node:path";
import { settleWithin } from "../util/settle_within.ts";

/**
 * Programs that flush the file system holding a path (`sync -f PATH`), by
 * operating system, by absolute path: `--allow-run` names them. Only Linux
 * has `syncfs`; elsewhere files are flushed one by one.
 */
export const FS_SYNC_COMMANDS: Readonly<Record<string, readonly string[]>> = {
  linux: ["/usr/bin/sync", "/bin/sync"],
};

/**
 * Most ms a `sync -f` may take before it is stopped (and the caller
 * flushes file by file): 10,000 small files took 0.11-0.13 s here, one by
 * one 1.3-1.9 s.
 */
export const FS_SYNC_TIMEOUT_MS = 10_000;

/** Options for {@linkcode syncFileSystem}. */
export interface SyncFileSystemOptions {
  /** Most ms it may take. @default {FS_SYNC_TIMEOUT_MS} */
  timeoutMs?: number;
  /** Programs to try, in order. @default {FS_SYNC_COMMANDS for this system} */
  commands?: readonly string[];
}

/**
 * Flushes every file of the file system that holds `path` to disk; resolves
 * to true once done, false if it could not be done here (no such program,
 * not allowed to run it, not on a block device, it failed, or it took more
 * than `options.timeoutMs`: then it is stopped). Never throws.
 */
export async function syncFileSystem(
  path: string,
  options: SyncFileSystemOptions = {},
): Promise<boolean> {
  const commands = options.commands ?? FS_SYNC_COMMANDS[Deno.build.os] ?? [];
  const command = commands.find(usable);
  if (!command) return false;
  try {
    if (deviceMajor(Deno.statSync(path).dev) === 0) return false;
    const child = new Deno.Command(command, {
      // Absolute, and after `--`: a path starting with `-` is no option.
      args: ["-f", "--", resolve(path)],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let status: Deno.CommandStatus | undefined;
    await settleWithin(
      child.status.then((done) => status = done),
      options.timeoutMs ?? FS_SYNC_TIMEOUT_MS,
    );
    if (status) return status.success;
    // Killed, but not waited for: a `syncfs` waiting on the disk takes a
    // signal only once it returns.
    try {
      child.kill("SIGKILL");
    } catch {
      // Gone meanwhile.
    }
    child.unref();
    return false;
  } catch {
    return false;
  }
}

/** True if `command` may be run and is there. */
function usable(command: string): boolean {
  try {
    const allowed =
      Deno.permissions.querySync({ name: "run", command }).state === "granted";
    return allowed && Deno.statSync(command).isFile;
  } catch {
    return false;
  }
}

/**
 * The major number of the device number `dev` (as `stat` gives it, glibc's
 * encoding): 0 for an anonymous device (FUSE, NFS, tmpfs, ...).
 */
export function deviceMajor(dev: number): number {
  const high = Math.floor(dev / 2 ** 32);
  return (((dev >>> 8) & 0xfff) | (high & 0xfffff000)) >>> 0;
}
