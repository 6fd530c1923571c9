/**
 * Text from the network made safe to show: control characters, escape
 * sequences and invisible reordering marks become visible escapes.
 *
 * @module
 */

// C0 and C1 controls, DEL, and the invisible marks that reorder or hide text.
const UNSAFE =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * Makes text safe to print: control characters, escape sequences and
 * invisible reordering marks become visible `\xNN` / `\uNNNN` escapes.
 *
 * @example
 * ```ts
 * terminalSafe("evil\u001b[2Jname"); // "evil\\x1b[2Jname"
 * ```
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (char) => {
    const code = char.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
