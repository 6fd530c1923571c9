/**
 * Writing a whole buffer to a file: one `write` may take fewer bytes than
 * given, so every piece-sized write loops (the counterpart of
 * `read_full.ts`).
 *
 * @module
 */

/** Writes all of `bytes` at the file's position, blocking. */
export function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
}

/** {@linkcode writeAll}, waiting for the writes; also writes to a socket. */
export async function writeAllAsync(
  file: Pick<Deno.FsFile, "write">,
  bytes: Uint8Array,
): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}
