/**
 * File IDs as users type and see them: checked from typed text, and
 * shortened for display.
 *
 * @module
 */

import { FULL_ID_CHARS, MIN_ID_PREFIX } from "../protocol/limits.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { UsageError } from "./usage_error.ts";

const HEX = /^[0-9a-f]+$/;

/**
 * Checks a file ID typed by the user and returns it in lower case: the full
 * 64-hex SHA-256 or a prefix of at least 16 hex characters.
 *
 * @example
 * ```ts
 * parseFileId("9F86D081884C7D65"); // "9f86d081884c7d65"
 * ```
 */
export function parseFileId(text: string): string {
  const id = text.trim().toLowerCase();
  const shown = terminalSafe(text.length > 80 ? `${text.slice(0, 80)}…` : text);
  if (!HEX.test(id)) {
    throw new UsageError(
      `"${shown}" is not a file ID: use the ${MIN_ID_PREFIX} to ${FULL_ID_CHARS} hex characters (0-9, a-f) that share printed.`,
    );
  }
  if (id.length < MIN_ID_PREFIX || id.length > FULL_ID_CHARS) {
    throw new UsageError(
      `"${shown}" has ${id.length} hex characters; a file ID needs ${MIN_ID_PREFIX} to ${FULL_ID_CHARS}.`,
    );
  }
  return id;
}

/** The short form of a file ID: its first 16 hex characters. */
export function shortId(id: string): string {
  return id.slice(0, MIN_ID_PREFIX);
}
