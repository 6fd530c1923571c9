/**
 * Ctrl-C and SIGTERM as an `AbortSignal`, so long-running commands stop
 * the same way whatever asked them to.
 *
 * @module
 */

const STOP_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM"];

/** A signal that aborts on Ctrl-C or SIGTERM, and how to stop listening. */
export interface StopSignal extends Disposable {
  /** Aborted when the process is asked to stop. */
  readonly signal: AbortSignal;
  /** Resolves when the process is asked to stop. */
  readonly stopped: Promise<void>;
}

/**
 * Listens for SIGINT and SIGTERM (SIGINT only where SIGTERM does not exist)
 * until disposed.
 *
 * @example
 * ```ts
 * using stop = listenForStop();
 * await stop.stopped; // Ctrl-C
 * ```
 */
export function listenForStop(): StopSignal {
  const controller = new AbortController();
  const { promise, resolve } = Promise.withResolvers<void>();
  const handler = () => {
    controller.abort(new DOMException("Stopped by signal.", "AbortError"));
    resolve();
  };
  const added: Deno.Signal[] = [];
  for (const name of STOP_SIGNALS) {
    try {
      Deno.addSignalListener(name, handler);
      added.push(name);
    } catch {
      // Windows has no SIGTERM.
    }
  }
  return {
    signal: controller.signal,
    stopped: promise,
    [Symbol.dispose]() {
      for (const name of added) Deno.removeSignalListener(name, handler);
    },
  };
}
