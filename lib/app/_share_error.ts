/**
 * Why a file or folder cannot be shared, in one sentence for the user.
 *
 * @module
 */

import { FileChangedError } from "../storage/file_hash.ts";
import {
  progressOf,
  unfinishedDownload,
} from "../storage/unfinished_download.ts";
import { UsageError } from "./usage_error.ts";
import { MAX_NAME_BYTES } from "../protocol/limits.ts";

/** What to do about a file that changed while it was being hashed. */
export const CHANGED_ADVICE = "Share it again once it stops changing";

/** A file that cannot be shared; the message is one sentence for the user. */
export class ShareError extends Error {
  /** Creates an error with a message for the user. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ShareError";
  }
}

/**
 * Throws a {@linkcode ShareError} if `path` changed (size, time, inode)
 * since `before` was taken: it changed while it was being hashed.
 */
export async function checkUnchanged(
  path: string,
  before: Deno.FileInfo,
): Promise<void> {
  const after = await Deno.stat(path);
  if (
    after.size !== before.size ||
    after.mtime?.getTime() !== before.mtime?.getTime() ||
    after.ino !== before.ino
  ) {
    throw new ShareError(
      `Cannot share "${path}": it changed while it was being hashed. ${CHANGED_ADVICE}.`,
    );
  }
}

/** Words a file-system failure while hashing as a {@linkcode ShareError}. */
export function shareError(
  path: string,
  error: unknown,
  signal?: AbortSignal,
): unknown {
  if (signal?.aborted || error instanceof ShareError) return error;
  const reason = error instanceof Deno.errors.NotFound
    ? "there is no such file. Check the path"
    : error instanceof Deno.errors.PermissionDenied
    ? "permission denied. Check that you can read it"
    // Deno keeps some paths (/proc, /sys) to programs with every permission.
    : error instanceof Deno.errors.NotCapable
    ? "this program is not allowed to read it"
    : error instanceof Deno.errors.IsADirectory
    ? "it is a folder. Share the files inside it one by one"
    : error instanceof TypeError
    ? "it is not a regular file. Share a regular file"
    : error instanceof FileChangedError
    ? `it changed while it was being hashed. ${CHANGED_ADVICE}`
    : error instanceof RangeError
    ? "it has too many pieces. Choose a larger --piece-size"
    : `${(error as Error).message ?? error}`.replace(/[.\s]+$/, "") +
      ". Fix that and share it again";
  return new ShareError(`Cannot share "${path}": ${reason}.`, {
    cause: error,
  });
}

/**
 * Throws if the file at `path`, named `name`, cannot be shared whatever it
 * holds: a {@linkcode ShareError} for a name over MAX_NAME_BYTES, a
 * `UsageError` for an unfinished download (see {@linkcode refuseUnfinished}).
 */
export async function refuseUnshareable(
  path: string,
  name: string,
): Promise<void> {
  if (new TextEncoder().encode(name).length > MAX_NAME_BYTES) {
    throw new ShareError(
      `Cannot share "${path}": its name is over ${MAX_NAME_BYTES} bytes. Rename it first.`,
    );
  }
  await refuseUnfinished(path);
}

/**
 * Throws a `UsageError` if `path` is an unfinished download (`NAME.part`
 * with its record beside it): what it holds is not the file yet.
 */
export async function refuseUnfinished(path: string): Promise<void> {
  const download = await unfinishedDownload(path);
  if (!download) return;
  throw new UsageError(
    `Cannot share "${path}": it is an unfinished download of ${download.name}${
      progressOf(download)
    }; finish it with peer get, or share the finished file.`,
  );
}
