import { assertEquals } from "../assert.ts";
import { tempDir } from "../fixtures.ts";
import {
  FS_SYNC_COMMANDS,
  syncFileSystem,
} from "../../lib/storage/file_system_sync.ts";

Deno.test("syncFileSystem flushes the file system of a folder where the system's sync runs, and says false otherwise", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a`, "a");
  const runs = (FS_SYNC_COMMANDS[Deno.build.os] ?? []).some((command) => {
    try {
      return Deno.statSync(command).isFile;
    } catch {
      return false;
    }
  });
  assertEquals(await syncFileSystem(dir.path), runs);
  assertEquals(await syncFileSystem(`${dir.path}/no such folder`), false);
});
