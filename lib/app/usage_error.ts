/**
 * The error for a mistake in what the user typed or clicked: its message is
 * one sentence for the user, shown as it is by the prompt, the command line
 * and the web page.
 *
 * @module
 */

/** A mistake in what the user typed; the message is for the user. */
export class UsageError extends Error {
  /** Creates an error with a message for the user. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * The error for sharing what is neither a regular file nor a folder (a
 * FIFO, socket or device): the command line and the prompt word it alike.
 */
export function notFileOrFolder(path: string): UsageError {
  return new UsageError(
    `Cannot share "${path}": it is not a regular file or a folder.`,
  );
}

/**
 * The error for sharing an empty path (`share ""`), which would otherwise
 * be an unexpected error, or be read as the current folder.
 */
export function emptySharePath(): UsageError {
  return new UsageError("Cannot share an empty path: give a file or folder.");
}
