/**
 * Work that ends as soon as its signal aborts, even while it waits on
 * something that looks at the signal only later.
 *
 * @module
 */

/**
 * `work`, or a rejection with the signal's reason as soon as it aborts: a
 * read stuck on a slow disk looks at the signal only once it returns. What
 * `work` still resolves with after that goes to `late`.
 */
export function untilCancelled<T>(
  work: Promise<T>,
  signal: AbortSignal,
  late: (value: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(signal.reason);
    if (signal.aborted) stop();
    else signal.addEventListener("abort", stop, { once: true });
    work.then((value) => signal.aborted ? late(value) : resolve(value), reject)
      .finally(() => signal.removeEventListener("abort", stop));
  });
}
