/**
 * Waiting for clean-up that must not hang an exit.
 *
 * @module
 */

/**
 * Waits for `promise` to settle, or `ms` milliseconds, whichever is first;
 * never throws (a failed or slow clean-up must not stop the exit).
 */
export async function settleWithin(
  promise: Promise<unknown>,
  ms: number,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) =>
    timer = setTimeout(resolve, ms)
  );
  try {
    await Promise.race([promise.catch(() => {}), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
