/**
 * Why a file or folder cannot be shared, in one sentence for the user.
 *
 * @module
 */

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
      `Cannot share "${path}": it changed while it was being hashed. Share it again once it stops changing.`,
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
    : error instanceof Deno.errors.IsADirectory
    ? "it is a folder. Share the files inside it one by one"
    : error instanceof TypeError
    ? "it is not a regular file. Share a regular file"
    : error instanceof RangeError
    ? "it has too many pieces. Choose a larger --piece-size"
    : `${(error as Error).message ?? error}`.replace(/[.\s]+$/, "") +
      ". Fix that and share it again";
  return new ShareError(`Cannot share "${path}": ${reason}.`, {
    cause: error,
  });
}
