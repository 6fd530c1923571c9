/**
 * Waiting that a cancel cuts short.
 *
 * @module
 */

/**
 * Resolves after `ms`, or rejects with the abort reason as soon as `signal`
 * aborts; the timer never keeps the process alive on its own account once
 * cancelled.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const abort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", abort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", abort, { once: true });
  });
}
