/**
 * Listening to several process signals at once, on every system: a signal
 * the system lacks (Windows has no SIGTERM) is skipped.
 *
 * @module
 */

/**
 * Adds each handler for its signal; disposing removes them all.
 *
 * @example
 * ```ts
 * using _signals = addSignalListeners({ SIGTERM: () => console.log("bye") });
 * ```
 */
export function addSignalListeners(
  handlers: Partial<Record<Deno.Signal, () => void>>,
): Disposable {
  const added: [Deno.Signal, () => void][] = [];
  for (const [name, handler] of Object.entries(handlers)) {
    if (!handler) continue;
    try {
      Deno.addSignalListener(name as Deno.Signal, handler);
      added.push([name as Deno.Signal, handler]);
    } catch {
      // This system has no such signal.
    }
  }
  return {
    [Symbol.dispose]() {
      for (const [name, handler] of added) {
        Deno.removeSignalListener(name, handler);
      }
    },
  };
}
