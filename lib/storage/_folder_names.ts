/**
 * The manifest's name rules (`protocol/manifest.ts`) as the sharing side
 * needs them, one name at a time: why a name on disk cannot go into a
 * manifest, and the key under which two names would land on the same file
 * on a case-insensitive file system.
 *
 * @module
 */

import { checkManifest, ManifestError } from "../protocol/manifest.ts";
import { quoteSafe } from "../util/terminal_safe.ts";

// `Refusing "…": <reason>.` or `Refusing the shared folder's name "…":
// <reason>.`, the quoted path or name with `"` and `\` escaped.
const REFUSAL =
  /^Refusing (?:the shared folder's name )?"(?:[^"\\]|\\.)*": (.*)\.$/s;
// Characters HFS+ ignores when it compares names (as the protocol's fold).
const IGNORABLE = /[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/g;
const ASCII = /^\p{ASCII}*$/u;
const encoder = new TextEncoder();

/**
 * Why `name` (already in NFC) cannot be a name in a manifest, in plain
 * words, or null if it can. The manifest's own check decides, so the two
 * never disagree.
 */
export function nameRefusal(name: string): string | null {
  try {
    checkManifest({ name, entries: [] });
    return null;
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    return refusalReason(error);
  }
}

/** The reason a {@linkcode ManifestError} gives, without what it names. */
export function refusalReason(error: ManifestError): string {
  return REFUSAL.exec(error.message)?.[1] ?? error.message;
}

/**
 * The key two names collide under on a case-insensitive file system: the
 * same fold as the manifest's rules (upper then lower case, final sigma as
 * sigma, ignorable characters dropped, NFC). Should the two ever differ,
 * encoding the manifest still refuses the collision (see `folder_scan.ts`).
 */
export function foldName(name: string): string {
  if (ASCII.test(name)) return name.toLowerCase();
  return name.normalize("NFC").toUpperCase().toLowerCase()
    .replace(/ς/g, "σ").replace(IGNORABLE, "").normalize("NFC");
}

/**
 * Why `name` is left out next to `kept`, a name already kept in the same
 * folder under the same {@linkcode foldName} key.
 */
export function collisionReason(name: string, kept: string): string {
  const shown = quoteSafe(kept);
  return name.normalize("NFC") === kept.normalize("NFC")
    ? `same name as ${shown} once written in Unicode's standard form (NFC)`
    : `same name as ${shown} except for letter case or invisible characters, which Windows and macOS ignore`;
}

/** `name`'s UTF-8 bytes. */
export function nameBytes(name: string): Uint8Array {
  return encoder.encode(name);
}

/** Orders names by their UTF-8 bytes, as the manifest orders entries. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}
