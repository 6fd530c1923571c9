/**
 * Closing what may be closed already: a socket the other side reset, or
 * one a deadline or an abort closed first.
 *
 * @module
 */

/** Closes `resource` unless it is closed already. */
export function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Already closed.
  }
}
