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
    options: { retryable?: boolean; unknownId?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
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

/** What {@linkcode incompleteError} says about a download that stopped short. */
export interface Incomplete {
  /** The file's name. */
  name: string;
  /** Pieces in the file. */
  pieces: number;
  /** Pieces not verified. */
  missing: number;
  /** Every link the download made, with why each ended. */
  links: readonly { label: string; failure?: string }[];
  /** Ms it waited for a peer at the end, if it did. */
  waitedMs?: number;
}

/**
 * The error of a download that ended with pieces missing: how many, and
 * why each peer is no help (nobody shares it; the connected ones lack the
 * pieces; each one's failure).
 */
export function incompleteError(what: Incomplete): DownloadError {
  const { links } = what;
  const reasons = [
    ...new Map(links.map((link) => [link.label, link.failure ?? "gave up"])),
  ].map(([label, reason]) => `${label} ${reason}`).join("; ");
  const why = links.length === 0
    ? "nobody is sharing it"
    : links.some((link) => !link.failure)
    ? `no connected peer has them (${reasons})`
    : `no good peer left (${reasons})`;
  const waited = what.waitedMs === undefined
    ? ""
    : ` after waiting ${Math.round(what.waitedMs / 1000)} s for a peer`;
  return new DownloadError(
    `Could not download ${what.name}: ${what.missing} of ${what.pieces} pieces missing and ${why}${waited}. The partial file is kept for a retry.`,
    { retryable: true },
  );
}
