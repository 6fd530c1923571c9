/**
 * The one error a download fails with ({@linkcode DownloadError}), and the
 * sentence a disk failure in the download folder becomes. Kept apart from
 * `download.ts` so the files carved out of it can throw it without importing
 * their importer.
 *
 * @module
 */

import { isDenied } from "../util/denied.ts";

/** Options for {@linkcode DownloadError}. */
export interface DownloadErrorOptions {
  /** Another metadata variant of the file may succeed. @default {false} */
  retryable?: boolean;
  /** The tracker knows no file with the ID. @default {false} */
  unknownId?: boolean;
  /** The file's name, when the download knew it. @default {unknown} */
  fileName?: string;
  /** What caused it. @default {none} */
  cause?: unknown;
}

/** A download that could not complete; the message is for the user. */
export class DownloadError extends Error {
  /** True if another metadata variant of the file may succeed. */
  readonly retryable: boolean;
  /** True if the tracker knows no file with the ID (nobody shares it yet). */
  readonly unknownId: boolean;
  /**
   * The name of the file it could not download, when known: what a get
   * started by ID is titled by (never read back out of the message).
   */
  readonly fileName?: string;
  /** Creates an error with a message for the user. */
  constructor(message: string, options: DownloadErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "DownloadError";
    this.retryable = options.retryable ?? false;
    this.unknownId = options.unknownId ?? false;
    this.fileName = options.fileName;
  }
}

/**
 * Where a download's `.part` (file or folder) is, as far as known, for the
 * words of a disk error: only a `.part` that is there is said to be kept.
 */
export interface PartPlace {
  /** The `.part`'s path; unknown when nothing names it. */
  path?: string;
  /** True if it is there now. @default {false} */
  kept?: boolean;
  /** True while the `.part` is opened (nothing was downloaded yet). @default {false} */
  opening?: boolean;
  /**
   * The name the file is saved under, for the error's `fileName` (a get
   * started by ID knows no other before its first piece). @default {unknown}
   */
  fileName?: string;
}

/** A failure to write a download's `.part`, with where that `.part` is. */
export class PartFailure extends Error {
  /** Where the `.part` is. */
  readonly place: PartPlace;
  /** Wraps `cause`, the system's error. */
  constructor(cause: unknown, place: PartPlace) {
    super((cause as Error)?.message ?? String(cause), { cause });
    this.name = "PartFailure";
    this.place = place;
  }
}

/** A {@linkcode DownloadError} for a disk failure; `cause` is the system's error. */
export class DiskError extends DownloadError {
  /** The download folder. */
  readonly dir: string;
  /**
   * Creates the error for `dir` with the sentence `message`, and the
   * file's name when known.
   */
  constructor(
    dir: string,
    message: string,
    options: { cause: unknown; fileName?: string },
  ) {
    super(message, options);
    this.dir = dir;
  }
}

/**
 * A write or open failure in the download folder `dir`, as a sentence that
 * says why and what to do: a full disk, a read-only file system, a folder
 * the user may not write to, a `.part` removed while downloading. It says
 * the partial download is kept only when `place` (or a
 * {@linkcode PartFailure}'s) says that it is there; the file's name (the
 * error's `fileName`) is `place`'s, or else the one `error` carries.
 */
export function diskError(
  dir: string,
  error: unknown,
  place?: PartPlace,
): DiskError {
  // The file's name, once known, stays with the error however it is
  // wrapped again.
  let fileName = place?.fileName;
  if (error instanceof DiskError) {
    fileName ??= error.fileName;
    error = error.cause;
  }
  if (error instanceof PartFailure) {
    place ??= error.place;
    fileName ??= error.place.fileName;
    error = error.cause;
  }
  const message = sentence(dir, error, place ?? {});
  return new DiskError(dir, message, { cause: error, fileName });
}

/** What {@linkcode diskError} says. */
function sentence(dir: string, error: unknown, place: PartPlace): string {
  const { path, kept } = place;
  const where = `Cannot write to ${dir}`;
  const keptThere = kept ? ` The partial download ${path} is kept.` : "";
  switch (causeOf(error)) {
    case "full":
      return kept
        ? `${where}: the disk is full. Free some space and run the same get again to resume from the partial download ${path}, or pick another --out.`
        : `${where}: the disk is full. Free some space or pick another --out, then run the same get again.`;
    case "read-only":
      return `${where}: it is on a read-only file system; pick another --out.${keptThere}`;
    case "denied":
      return `${where}: you may not write there; pick another --out.${keptThere}`;
    case "missing":
      if (place.opening) {
        // Only a special file system (such as /proc) refuses a new file so.
        return `${where}: the system does not allow new files there; pick another --out.`;
      }
      if (kept) {
        return `Part of the partial download ${path} was removed while downloading; nothing was saved. Run the same get again to download what is missing.`;
      }
      return `The partial download ${
        path ?? `in ${dir}`
      } was removed while downloading; nothing was saved. Run the same get again to start over.`;
  }
  const reason = plainReason(error);
  return kept
    ? `${where}: ${reason}. The partial download ${path} is kept: run the same get again to resume, or pick another --out.`
    : `${where}: ${reason}. Run the same get again, or pick another --out.`;
}

/** The kind of disk failure `error` is, from its code or else its text. */
function causeOf(
  error: unknown,
): "full" | "read-only" | "denied" | "missing" | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const text = String((error as Error)?.message ?? error);
  if (code === "ENOSPC" || /no space left/i.test(text)) return "full";
  if (code === "EROFS" || /read-only file system/i.test(text)) {
    return "read-only";
  }
  if (
    isDenied(error) ||
    /permission denied|operation not permitted/i.test(text)
  ) return "denied";
  if (
    error instanceof Deno.errors.NotFound ||
    /no such file or directory/i.test(text)
  ) return "missing";
  return undefined;
}

/**
 * The system's reason in plain words: "Input/output error (os error 5):
 * write" → "input/output error".
 */
function plainReason(error: unknown): string {
  const text = String((error as Error)?.message ?? error);
  const plain = text.replace(/\s*\(os error \d+\).*$/s, "").trim() ||
    "the system refused";
  return plain.charAt(0).toLowerCase() + plain.slice(1).replace(/\.$/, "");
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
 * pieces; each one's failure). The partial file is said to be kept only
 * when it holds a verified piece: a new one that got none is taken away
 * again (`_part_use.ts`).
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
  const kept = what.missing < what.pieces
    ? " The partial file is kept for a retry."
    : "";
  return new DownloadError(
    `Could not download ${what.name}: ${what.missing} of ${what.pieces} pieces missing and ${why}${waited}.${kept}`,
    { retryable: true, fileName: what.name },
  );
}
