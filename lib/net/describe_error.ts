/**
 * One short phrase for a log line about a connection that failed, so every
 * server words the same failure the same way.
 *
 * @module
 */

/**
 * Describes `error` for a log line: a timeout (as a `Connection` throws it)
 * reads "timed out", any other error its message.
 *
 * @example
 * ```ts
 * describeError(new Deno.errors.TimedOut("Timed out")); // "timed out"
 * describeError(new Error("Connection reset")); // "Connection reset"
 * ```
 */
export function describeError(error: unknown): string {
  if (error instanceof Deno.errors.TimedOut) return "timed out";
  if (error instanceof Error) return error.message;
  return String(error);
}
