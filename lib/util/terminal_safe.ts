/**
 * Text from the network made safe to show: control characters, escape
 * sequences and invisible reordering marks become visible escapes. Every
 * message escapes names this one way (a tab is `\x09` wherever it is
 * shown), quoted or not.
 *
 * @module
 */

// What is escaped: control characters (C0, DEL, C1), line and paragraph
// separators, every format character (Cf): the bidi controls that reorder
// text (U+202A-202E, U+2066-2069, U+200E/200F, U+061C), zero-width and
// invisible characters (U+200B, U+2060-2064, U+FEFF, U+00AD, tags), and
// lone surrogates (shown as U+FFFD, which would hide what they were).
// A zero-width joiner right after an emoji (👩‍💻) is kept: it only joins
// emoji into one picture.
const UNSAFE =
  /[\p{Cc}\p{Zl}\p{Zp}\p{Cs}]|(?<!\p{Extended_Pictographic}[\u{fe0f}\u{1f3fb}-\u{1f3ff}]?)\u200d|(?!\u200d)\p{Cf}/gu;

/** The largest code point written as `\xNN`. */
const MAX_BYTE_ESCAPE = 0xff;
/** The largest code point written as `\uNNNN`; above it, `\u{NNNNN}`. */
const MAX_SHORT_ESCAPE = 0xffff;

/**
 * Makes text safe to print or show: control characters, escape sequences
 * and invisible or reordering characters (bidi controls such as U+202E)
 * become visible `\xNN` / `\uNNNN` / `\u{NNNNN}` escapes; ordinary text
 * (accents, CJK, emoji) is kept as it is. A string already made safe comes
 * back unchanged.
 *
 * @example
 * ```ts
 * terminalSafe("evil\u001b[2Jname"); // "evil\\x1b[2Jname"
 * terminalSafe("\u202etxt.exe"); // "\\u202etxt.exe"
 * ```
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (char) => {
    const code = char.codePointAt(0)!;
    const hex = code.toString(16);
    if (code <= MAX_BYTE_ESCAPE) return `\\x${hex.padStart(2, "0")}`;
    return code <= MAX_SHORT_ESCAPE
      ? `\\u${hex.padStart(4, "0")}`
      : `\\u{${hex}}`;
  });
}

/**
 * `text` in double quotes for a message, escaped as {@linkcode terminalSafe}
 * escapes it, with `"` and `\` escaped too so that where the quotes end
 * stays plain.
 *
 * @example
 * ```ts
 * quoteSafe("a\tb"); // '"a\\x09b"'
 * quoteSafe('say "hi"'); // '"say \\"hi\\""'
 * ```
 */
export function quoteSafe(text: string): string {
  return `"${terminalSafe(text.replace(/["\\]/g, "\\$&"))}"`;
}
