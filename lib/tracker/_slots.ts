/**
 * What the registry's typed-array tables (`FileTable`, `PeerTable`)
 * share: rows are small slot numbers, `NONE` is "no
 * row" (so links fit in an Int32Array), and a full table grows by copying
 * into arrays twice the size.
 *
 * @module
 */

/** No file, variant or registration. */
export const NONE = -1;
/** Slots each table starts with before it first grows. */
export const INITIAL_SLOTS = 1024;

type TypedArray =
  | Uint8Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float64Array;

/** A copy of `array`, `length` long. */
export function grown<T extends TypedArray>(array: T, length: number): T {
  const next = new (array.constructor as new (length: number) => T)(length);
  next.set(array);
  return next;
}
