/**
 * Things that are not regular files, to put in a file's place after a
 * folder walk found it: what a hasher or server must refuse without
 * following or waiting on them.
 *
 * @module
 */

import { createServer } from "node:net";
import { assert } from "../assert.ts";

/** Makes one at `path` (nothing there); resolves to what removes it. */
export type NotFileMaker = (path: string) => Promise<() => Promise<void>>;

/**
 * A FIFO (a blocking open of it waits for a writer for good) and a Unix
 * socket; Linux and macOS only.
 */
export const NOT_FILES: readonly (readonly [string, NotFileMaker])[] = [
  ["a FIFO", async (path) => {
    const made = await new Deno.Command("mkfifo", { args: [path] }).output();
    assert(made.success, "mkfifo failed");
    return () => Deno.remove(path);
  }],
  ["a socket", async (path) => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    return () => new Promise<void>((resolve) => server.close(() => resolve()));
  }],
];
