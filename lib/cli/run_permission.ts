/**
 * The programs the peer may run, as one `--allow-run` flag: the desktop's
 * browser opener (`peer ui`, `open_browser.ts`) and the file-system flush
 * that ends a folder download of many small files (`file_system_sync.ts`).
 * Each by absolute path, so nothing else of the same name can be run.
 *
 * @module
 */

import { FS_SYNC_COMMANDS } from "../storage/file_system_sync.ts";
import { OPENERS } from "./open_browser.ts";

/** `--allow-run` for the peer on operating system `os` (`Deno.build.os`). */
export function runPermission(os: string): string {
  const programs = [...(OPENERS[os] ?? []), ...(FS_SYNC_COMMANDS[os] ?? [])];
  return `--allow-run=${programs.join(",")}`;
}
