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
