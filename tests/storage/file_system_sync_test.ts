import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { pollUntil, tempDir } from "../fixtures.ts";
import {
  deviceMajor,
  FS_SYNC_COMMANDS,
  syncFileSystem,
} from "../../lib/storage/file_system_sync.ts";

/** True if the system's sync is there to run. */
function syncRuns(): boolean {
  return (FS_SYNC_COMMANDS[Deno.build.os] ?? []).some((command) => {
    try {
      return Deno.statSync(command).isFile;
    } catch {
      return false;
    }
  });
}

Deno.test("syncFileSystem flushes the file system of a folder where the system's sync runs and it is on a block device, and says false otherwise", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a`, "a");
  const block = deviceMajor(Deno.statSync(dir.path).dev) !== 0;
  assertEquals(await syncFileSystem(dir.path), syncRuns() && block);
  assertEquals(await syncFileSystem(`${dir.path}/no such folder`), false);
  // A name that looks like an option is still a path.
  const dashed = join(dir.path, "-f.part");
  await Deno.mkdir(dashed);
  const cwd = Deno.cwd();
  Deno.chdir(dir.path);
  try {
    assertEquals(await syncFileSystem("-f.part"), syncRuns() && block);
  } finally {
    Deno.chdir(cwd);
  }
});

Deno.test({
  name:
    "syncFileSystem leaves a file system on no block device (tmpfs here, as FUSE and network ones) to per-file flushes",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    let shm = false;
    try {
      shm = Deno.statSync("/dev/shm").isDirectory &&
        deviceMajor(Deno.statSync("/dev/shm").dev) === 0;
    } catch {
      // No /dev/shm: nothing to try.
    }
    if (!shm) return;
    const dir = await Deno.makeTempDir({ dir: "/dev/shm" });
    try {
      assertEquals(await syncFileSystem(dir), false);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("deviceMajor reads the major number of a device number as glibc encodes it", () => {
  assertEquals(deviceMajor(254 * 256), 254); // 254:0, /dev/vda
  assertEquals(deviceMajor(8 * 256 + 1), 8); // 8:1, /dev/sda1
  assertEquals(deviceMajor(33), 0); // 0:33, an anonymous device
  // 259:70000 (a large minor: its high bits sit above bit 20).
  const dev = (70000 & 0xff) + 259 * 256 + (70000 >>> 8) * 2 ** 20;
  assertEquals(deviceMajor(dev), 259);
});

Deno.test("syncFileSystem gives up on a sync that takes longer than its timeout, even one that ignores being stopped, and says false", async () => {
  await using dir = await tempDir();
  if (deviceMajor(Deno.statSync(dir.path).dev) === 0) {
    console.log("SKIPPED: the temp folder is on no block device here");
    return;
  }
  // A sync that hangs (behind another program's gigabytes, say) and, as a
  // syncfs waiting on the disk, does not stop when asked to.
  const hang = join(dir.path, "slow-sync");
  const pidFile = join(dir.path, "pid");
  await Deno.writeTextFile(
    hang,
    `#!/bin/sh\ntrap '' TERM INT\necho $$ > '${pidFile}'\nexec sleep 30\n`,
  );
  await Deno.chmod(hang, 0o755);
  const started = performance.now();
  assertEquals(
    await syncFileSystem(dir.path, { commands: [hang], timeoutMs: 200 }),
    false,
  );
  // Given up on at its timeout, not waited out (30 s).
  const elapsed = performance.now() - started;
  assert(elapsed < 10_000, `${elapsed} ms`);
  // And killed: it is gone soon after (SIGKILL cannot be ignored).
  const pid = Number(await Deno.readTextFile(pidFile));
  await pollUntil(5_000, () => Promise.resolve(!alive(pid)));
});

/** True while process `pid` exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}
