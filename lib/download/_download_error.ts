/**
 * The one error a download fails with ({@linkcode DownloadError}), and the
 * sentence a disk failure in the download folder becomes. Kept apart from
 * `download.ts` so the files carved out of it can throw it without importing
 * their importer.
 *
 * @module
 */

/** A download that could not complete; the message is for the user. */
export class DownloadError extends Error {
  /** True if another metadata variant of the file may succeed. */
  readonly retryable: boolean;
  /** True if the tracker knows no file with the ID (nobody shares it yet). */
  readonly unknownId: boolean;
  /** Creates an error with a message for the user. */
  constructor(
    message: string,
    options: { retryable?: boolean; unknownId?: boolean } = {},
  ) {
    super(message);
    this.name = "DownloadError";
    this.retryable = options.retryable ?? false;
    this.unknownId = options.unknownId ?? false;
  }
}

/** A write or open failure in the download folder, as one sentence. */
export function diskError(dir: string, error: unknown): DownloadError {
  const reason = (error as { code?: string }).code === "ENOSPC" ||
      /no space left/i.test(String(error))
    ? "the disk is full"
    : error instanceof Deno.errors.PermissionDenied ||
        /permission denied/i.test(String(error))
    ? "permission denied"
    : (error as Error).message ?? String(error);
  return new DownloadError(
    `Cannot write to ${dir}: ${reason}. The partial download is kept; free some space or pick another --out, then run the same get again to resume.`,
  );
}
