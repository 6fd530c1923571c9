/**
 * The rules for one name of a manifest (`manifest.ts`), a path component
 * or the top folder's name, and the two ways names are shown and compared:
 * quoted safely for a message, and folded as a case-insensitive file
 * system folds them.
 *
 * @module
 */

import { MAX_NAME_BYTES } from "./limits.ts";
import { quoteSafe } from "../util/terminal_safe.ts";

/** Longest name (one component, or the top folder's) in UTF-8 bytes. */
export const MAX_COMPONENT_BYTES = MAX_NAME_BYTES;

// C0 controls (ESC included), DEL, C1 controls.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Bidirectional embeddings, overrides and isolates: they reorder how a name
// is shown ("txt.exe" shown as "exe.txt").
const BIDI = /[\u202a-\u202e\u2066-\u2069]/;
// Characters Windows cannot store in a name; ":" also names a drive ("C:")
// or an NTFS stream ("a.txt:hidden").
const WINDOWS_FORBIDDEN = /[<>:"|?*]/;
const SEPARATOR = /[\/\\]/;
// Device names, also with an extension ("con.txt") or spaces before it.
const RESERVED =
  /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³]) *(\.|$)/i;
// Characters HFS+ ignores when it compares names; the fold drops them too.
const IGNORABLE = /[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/g;
/** Characters of a name or path `quote` shows before cutting it. */
const SHOWN_CHARS = 120;
// Printable ASCII but for the characters refused above: most names, which
// need none of the slower checks.
const PLAIN = /^[0-9A-Za-z _\-+=,;.@#$%&'()[\]{}!~^`]*$/;
const ASCII = /^\p{ASCII}*$/u;

/** What is wrong with one name, or null if nothing is. */
export function nameProblem(name: string): string | null {
  if (!PLAIN.test(name)) {
    const problem = characterProblem(name);
    if (problem) return problem;
  }
  if (name === "") return "a name is empty";
  if (name === "..") return `".." would point outside the download folder`;
  if (name === ".") return `"." is not a name of its own`;
  if (/[. ]$/.test(name)) {
    return `the name ${
      quote(name)
    } ends in a dot or a space, which Windows drops`;
  }
  const reserved = RESERVED.exec(name);
  if (reserved) {
    return `${
      quote(reserved[1].toUpperCase())
    } is a device name on Windows, even with an extension`;
  }
  const bytes = bytesOf(name);
  if (bytes > MAX_COMPONENT_BYTES) {
    return `a name is ${bytes} bytes long, more than ${MAX_COMPONENT_BYTES}`;
  }
  return null;
}

/** What is wrong with the characters of a name that is not plain ASCII. */
function characterProblem(name: string): string | null {
  if (!name.isWellFormed()) {
    return "a name is not valid Unicode (it has a lone surrogate)";
  }
  if (SEPARATOR.test(name)) {
    return `the name ${
      quote(name)
    } contains "/" or "\\", which separate folders`;
  }
  const control = CONTROL.exec(name) ?? BIDI.exec(name);
  if (control) {
    return `the name ${quote(name)} contains the control character ${
      codePoint(control[0])
    }`;
  }
  if (name.includes(":")) {
    return `the name ${
      quote(name)
    } contains ":", which Windows reads as a drive letter or a file stream`;
  }
  const forbidden = WINDOWS_FORBIDDEN.exec(name);
  if (forbidden) {
    return `the name ${quote(name)} contains ${
      quote(forbidden[0])
    }, which Windows does not allow in names`;
  }
  if (name !== name.normalize("NFC")) {
    return `the name ${quote(name)} is not in Unicode normalization form NFC`;
  }
  return null;
}

function codePoint(char: string): string {
  const hex = char.charCodeAt(0).toString(16).toUpperCase();
  return `U+${hex.padStart(4, "0")}`;
}

/**
 * The key two names collide under on a case-insensitive file system:
 * upper then lower case (so `ß` meets `ss`, `ı` meets `i`), final sigma as
 * sigma, ignorable characters dropped, NFC. It errs towards calling names
 * equal; no fold matches every file system's exactly.
 */
export function fold(name: string): string {
  if (ASCII.test(name)) return name.toLowerCase();
  return name.normalize("NFC").toUpperCase().toLowerCase()
    .replace(/ς/g, "σ").replace(IGNORABLE, "").normalize("NFC");
}

/**
 * `text` in double quotes, safe to print: control, invisible and
 * bidirectional characters, lone surrogates, `"` and `\` escaped as every
 * message escapes them (`quoteSafe`), and cut after
 * {@linkcode SHOWN_CHARS} characters.
 */
export function quote(text: string): string {
  return quoteSafe(
    text.length > SHOWN_CHARS ? text.slice(0, SHOWN_CHARS) + "…" : text,
  );
}

/** UTF-8 bytes of `text` (a lone surrogate counts as U+FFFD's 3). */
export function bytesOf(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (
      unit >= 0xd800 && unit < 0xdc00 &&
      (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
