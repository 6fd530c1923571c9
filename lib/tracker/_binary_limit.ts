/**
 * How large a binary part the tracker waits for, decided from a frame's
 * JSON part alone.
 *
 * @module
 */

import {
  HASH_BYTES,
  MAX_PIECES,
  MAX_SEALED_BLOB_BYTES,
  MAX_WIRE_MANIFEST_BYTES,
  MIN_PIECE_SIZE,
} from "../protocol/limits.ts";
import { pieceCount } from "../protocol/messages.ts";

/**
 * Fewest bytes a file entry of a folder manifest takes (`manifest.ts`: kind,
 * depth, name length, a 1-byte name, size, ID): bounds how many files, so
 * how many pieces beyond `size / pieceSize`, a manifest of some length has.
 */
const MIN_MANIFEST_FILE_BYTES = 3 + 1 + 8 + HASH_BYTES;

/**
 * The binary part a tracker accepts, from the JSON part alone: only a
 * `register` carries one, exactly its piece-hash list (a folder's: its
 * `manifestBytes` of manifest and at most a piece per file more than
 * `size / pieceSize`, as no piece spans two files), and a
 * `register-sealed`, its blob (at most MAX_SEALED_BLOB_BYTES), so a client
 * cannot make the tracker wait for (and buffer) bytes no message will use.
 */
export function trackerBinaryLimit(header: Record<string, unknown>): number {
  if (header.type === "register-sealed") return MAX_SEALED_BLOB_BYTES;
  if (header.type !== "register") return 0;
  const { size, pieceSize, manifestBytes } = header;
  if (
    !Number.isSafeInteger(size) || !Number.isSafeInteger(pieceSize) ||
    (size as number) < 0 || (pieceSize as number) < MIN_PIECE_SIZE
  ) {
    return 0;
  }
  const pieces = pieceCount(size as number, pieceSize as number);
  if (manifestBytes === undefined) {
    return Math.min(pieces, MAX_PIECES) * HASH_BYTES;
  }
  if (
    !Number.isSafeInteger(manifestBytes) || (manifestBytes as number) < 1 ||
    (manifestBytes as number) > MAX_WIRE_MANIFEST_BYTES
  ) {
    return 0;
  }
  const files = Math.floor(
    (manifestBytes as number) / MIN_MANIFEST_FILE_BYTES,
  );
  return Math.min(pieces + files, MAX_PIECES) * HASH_BYTES +
    (manifestBytes as number);
}
