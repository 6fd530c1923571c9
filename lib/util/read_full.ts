/**
 * Reading a file until a buffer is full: one `read` may return fewer bytes
 * than asked for, so every piece-sized read loops.
 *
 * @module
 */

/** Reads until `buffer` is full or the file ends; returns bytes read. */
export function readFull(
  file: Pick<Deno.FsFile, "readSync">,
  buffer: Uint8Array,
): number {
  let filled = 0;
  while (filled < buffer.length) {
    const got = file.readSync(buffer.subarray(filled));
    if (got === null || got === 0) break;
    filled += got;
  }
  return filled;
}

/**
 * {@linkcode readFull}, waiting for the reads instead of blocking; also
 * reads a socket until the buffer is full or the stream ends.
 */
export async function readFullAsync(
  file: Pick<Deno.FsFile, "read">,
  buffer: Uint8Array,
): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const got = await file.read(buffer.subarray(filled));
    if (got === null || got === 0) break;
    filled += got;
  }
  return filled;
}
