/**
 * The few assertions the tests need (`@std/assert` lives on JSR, which these
 * machines cannot reach).
 *
 * @module
 */

/** Throws unless `actual` and `expected` are deeply equal. */
export function assertEquals<T>(
  actual: T,
  expected: T,
  message?: string,
): void {
  const a = JSON.stringify(actual, replacer);
  const b = JSON.stringify(expected, replacer);
  if (a !== b) {
    throw new Error(`${message ? message + ": " : ""}expected ${b}, got ${a}`);
  }
}

/** Throws unless `value` is truthy. */
export function assert(
  value: unknown,
  message = "Assertion failed",
): asserts value {
  if (!value) throw new Error(message);
}

/** Resolves to the error `fn` rejects with; throws if it does not. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  ErrorClass?: new (...args: never[]) => Error,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    if (ErrorClass && !(error instanceof ErrorClass)) {
      throw new Error(`Expected ${ErrorClass.name}, got ${error}`);
    }
    if (includes && !String((error as Error).message).includes(includes)) {
      throw new Error(
        `Expected message to include "${includes}", got "${
          (error as Error).message
        }"`,
      );
    }
    return error as Error;
  }
  throw new Error("Expected the promise to reject");
}

/** Throws unless `fn` throws. */
export function assertThrows(
  fn: () => unknown,
  ErrorClass?: new (...args: never[]) => Error,
): Error {
  try {
    fn();
  } catch (error) {
    if (ErrorClass && !(error instanceof ErrorClass)) {
      throw new Error(`Expected ${ErrorClass.name}, got ${error}`);
    }
    return error as Error;
  }
  throw new Error("Expected the function to throw");
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Array.from(value);
  if (typeof value === "bigint") return value.toString();
  return value;
}
