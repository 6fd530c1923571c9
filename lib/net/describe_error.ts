/**
 * One short phrase for a log line about a connection that failed, so every
 * server words the same failure the same way, and the system's own text
 * ("Connection reset by peer (os error 104)") never reaches the user raw.
 *
 * @module
 */

/** The system's socket errors in plain words, by Deno's class for them. */
const WORDS_BY_CLASS: readonly [new (message?: string) => Error, string][] = [
  [Deno.errors.TimedOut, "timed out"],
  [Deno.errors.ConnectionReset, "the connection was reset"],
  [Deno.errors.ConnectionAborted, "the connection was aborted"],
  [Deno.errors.ConnectionRefused, "connection refused"],
  [Deno.errors.BrokenPipe, "the connection was closed"],
  // "Connection closed inside a record": cut off in the middle of a message.
  [Deno.errors.UnexpectedEof, "the connection was closed"],
  [Deno.errors.NotConnected, "the connection is not open"],
  [Deno.errors.AddrInUse, "the address is in use"],
  [Deno.errors.AddrNotAvailable, "the address is not one of this machine's"],
];

/**
 * The system's texts (Linux, macOS, Windows) in plain words, lower case;
 * one not listed is kept, without its "(os error N)".
 */
const WORDS_BY_TEXT: Readonly<Record<string, string>> = {
  "connection reset by peer": "the connection was reset",
  "an existing connection was forcibly closed by the remote host":
    "the connection was reset",
  "broken pipe": "the connection was closed",
  "connection aborted": "the connection was aborted",
  "software caused connection abort": "the connection was aborted",
  "connection refused": "connection refused",
  "connection timed out": "timed out",
  "operation timed out": "timed out",
  "no route to host": "no route to the host",
  "host is unreachable": "the host is unreachable",
  "network is unreachable": "the network is unreachable",
  "network is down": "the network is down",
  "host is down": "the host is down",
  "address already in use": "the address is in use",
};

// "Connection reset by peer (os error 104)", wherever it is in a message:
// the text from the last punctuation before it.
const SYSTEM_TEXT = /(\s*)([^():;,.]+?)\.? \(os error -?\d+\)/g;

/**
 * `text` with every piece of the system's own wording ("Connection reset
 * by peer (os error 104)") put in plain words ("the connection was reset").
 *
 * @example
 * ```ts
 * plainSystemText("Relay closed: Broken pipe (os error 32)");
 * // "Relay closed: the connection was closed"
 * ```
 */
export function plainSystemText(text: string): string {
  return text.replace(SYSTEM_TEXT, (_, space: string, words: string) => {
    const key = words.trim().toLowerCase();
    return `${space}${WORDS_BY_TEXT[key] ?? key}`;
  });
}

/**
 * Describes `error` for a log line: the system's socket errors in plain
 * words, in lower case ("timed out", "the connection was reset"); any other
 * error its message, with any of the system's wording in it made plain.
 *
 * @example
 * ```ts
 * describeError(new Deno.errors.TimedOut("Timed out")); // "timed out"
 * describeError(
 *   new Deno.errors.ConnectionReset("Connection reset by peer (os error 104)"),
 * ); // "the connection was reset"
 * describeError(new Error("peer closed the connection")); // as it is
 * ```
 */
export function describeError(error: unknown): string {
  for (const [type, words] of WORDS_BY_CLASS) {
    if (error instanceof type) return words;
  }
  if (isLookupFailure(error)) return "the host name cannot be found";
  return plainSystemText(
    error instanceof Error ? error.message : String(error),
  );
}

/**
 * True for the error a failed host name lookup throws, which has no class
 * of its own ("failed to lookup address information: Name or service not
 * known" on Linux; macOS and Windows say it their way).
 */
export function isLookupFailure(error: unknown): boolean {
  return error instanceof Error &&
    /failed to lookup address|name or service not known|nodename nor servname|no such host/i
      .test(error.message);
}
