/**
 * A file arriving as a stream (dropped on the web page), written into a
 * folder under a safe, free name: it appears under that name only once
 * every byte is on disk, and never replaces a file that is there.
 *
 * @module
 */

import { join } from "node:path";
import { writeAllAsync } from "../util/write_all.ts";
import { moveToFreeFileName } from "./free_name.ts";
import { safeFileName, truncateUtf8 } from "./safe_name.ts";

/** Bytes of the name kept in the hidden file a stream is written to first. */
const RECEIVING_NAME_BYTES = 100;

/** Options for {@linkcode receiveFile}. */
export interface ReceiveOptions {
  /** Called with the bytes written so far after each chunk. @default {none} */
  onProgress?: (done: number) => void;
}

/**
 * Writes `body` into `dir` (created if missing) as the file `name`, made
 * safe by `safeFileName` (no path separators: nothing lands outside `dir`)
 * and numbered if taken (`name (1).ext`); resolves with its path. The bytes
 * go to a hidden `.NAME.UUID.receiving` first, removed if the stream fails
 * or ends early.
 */
export async function receiveFile(
  body: ReadableStream<Uint8Array>,
  dir: string,
  name: string,
  options: ReceiveOptions = {},
): Promise<string> {
  const safe = safeFileName(name);
  await Deno.mkdir(dir, { recursive: true });
  const hidden = join(
    dir,
    `.${
      truncateUtf8(safe, RECEIVING_NAME_BYTES)
    }.${crypto.randomUUID()}.receiving`,
  );
  const file = await Deno.open(hidden, { write: true, createNew: true });
  let done = 0;
  try {
    try {
      for await (const chunk of body) {
        await writeAllAsync(file, chunk);
        done += chunk.byteLength;
        options.onProgress?.(done);
      }
      await file.sync();
    } finally {
      file.close();
    }
    return await moveToFreeFileName(hidden, dir, safe);
  } catch (error) {
    await Deno.remove(hidden).catch(() => {});
    throw error;
  }
}
