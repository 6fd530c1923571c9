/**
 * IPv4 addresses as text.
 *
 * @module
 */

const DOTTED_QUAD =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * True if `text` is an IPv4 address written as four numbers from 0 to 255
 * (no leading zeros).
 *
 * @example
 * ```ts
 * isIpv4("192.168.1.20"); // true
 * isIpv4("999.1.1.1"); // false
 * ```
 */
export function isIpv4(text: string): boolean {
  return DOTTED_QUAD.test(text);
}
