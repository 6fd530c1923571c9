/**
 * Ctrl-C and SIGTERM as an `AbortSignal`, so long-running commands stop
 * the same way whatever asked them to.
 *
 * @module
 */

import { addSignalListeners } from "../util/signals.ts";

const STOP_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM"];

/** A signal that aborts on Ctrl-C or SIGTERM, and how to stop listening. */
export interface StopSignal extends Disposable {
  /** Aborted when the process is asked to stop. */
  readonly signal: AbortSignal;
  /** Resolves when the process is asked to stop. */
  readonly stopped: Promise<void>;
  /** The signal that asked, once one did. */
  readonly by?: Deno.Signal;
}

/**
 * The exit code of a process stopped by `signal`, as shells report it:
 * 128 + the signal's number (Ctrl-C 130, SIGTERM 143).
 */
export function stoppedExitCode(signal: Deno.Signal | undefined): number {
  return signal === "SIGTERM" ? 128 + 15 : 128 + 2;
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
  let by: Deno.Signal | undefined;
  const stop = (name: Deno.Signal) => () => {
    by ??= name;
    controller.abort(new DOMException("Stopped by signal.", "AbortError"));
    resolve();
  };
  const listeners = addSignalListeners(
    Object.fromEntries(STOP_SIGNALS.map((name) => [name, stop(name)])),
  );
  return {
    signal: controller.signal,
    stopped: promise,
    get by() {
      return by;
    },
    [Symbol.dispose]: () => listeners[Symbol.dispose](),
  };
}
