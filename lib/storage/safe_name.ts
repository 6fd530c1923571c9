/**
 * File names from the network made safe to create inside a download folder
 * on any common file system. Ordinary names (spaces, accents, emoji) pass
 * through unchanged; anything that could name another folder, a device or
 * hide from the user is replaced.
 *
 * @module
 */

import { MAX_NAME_BYTES } from "../protocol/limits.ts";

/** Name used when nothing usable is left of the one received. */
export const FALLBACK_NAME = "download";

// Path separators, characters Windows forbids, C0 and C1 controls, DEL.
// deno-lint-ignore no-control-regex
const UNSAFE_CHARS = /[\/\\:*?"<>|\u0000-\u001f\u007f-\u009f]/g;
// Bidirectional overrides and zero-width marks that disguise an extension.
const INVISIBLE_CHARS = /[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
const encoder = new TextEncoder();

/**
 * Turns a name received from the network into one safe file name: no path
 * separators, no control characters, no reserved device names, no trailing
 * dots or spaces, at most 255 UTF-8 bytes (the extension is kept).
 *
 * @example
 * ```ts
 * safeFileName("../../etc/passwd"); // ".._.._etc_passwd"
 * safeFileName("holiday photo.jpg"); // "holiday photo.jpg"
 * ```
 */
export function safeFileName(name: string): string {
  let safe = name.normalize("NFC")
    .replace(INVISIBLE_CHARS, "")
    .replace(UNSAFE_CHARS, "_")
    .trim()
    .replace(/[. ]+$/, "");
  if (safe === "" || /^\.+$/.test(safe)) return FALLBACK_NAME;
  if (RESERVED.test(safe)) safe = `_${safe}`;
  return truncateUtf8(safe, MAX_NAME_BYTES);
}

/** Shortens `name` to at most `maxBytes` UTF-8 bytes, keeping a short extension. */
export function truncateUtf8(name: string, maxBytes: number): string {
  if (encoder.encode(name).length <= maxBytes) return name;
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : "";
  const stem = [...name.slice(0, name.length - ext.length)];
  while (encoder.encode(stem.join("") + ext).length > maxBytes) stem.pop();
  return stem.join("").replace(/[. ]+$/, "") + ext || FALLBACK_NAME;
}

/**
 * The `n`th alternative for a name that is taken: `name (n).ext`, shortened
 * to stay within the byte limit.
 */
export function numberedName(
  name: string,
  n: number,
  maxBytes = MAX_NAME_BYTES,
): string {
  let dot = name.lastIndexOf(".");
  // "x.tar.gz" is "x (1).tar.gz", as browsers number it, not "x.tar (1).gz".
  const inner = name.lastIndexOf(".", dot - 1);
  if (inner > 0 && name.slice(inner, dot).toLowerCase() === ".tar") {
    dot = inner;
  }
  const hasExt = dot > 0;
  const stem = hasExt ? name.slice(0, dot) : name;
  const ext = hasExt ? name.slice(dot) : "";
  const suffix = ` (${n})${ext}`;
  return truncateUtf8(stem, maxBytes - encoder.encode(suffix).length) +
    suffix;
}
