/**
 * A private file's metadata as the bytes that get sealed (with
 * `lib/secure/share_keys.ts`'s `sealMetadata`) into the blob the tracker
 * stores without reading:
 *
 * ```text
 * [4-byte big-endian JSON length][JSON {id, name, size, pieceSize}][piece hashes]
 * ```
 *
 * A folder's adds its manifest after the hashes, and its length to the
 * JSON as `manifestBytes`, as a `register` does:
 *
 * ```text
 * [length][JSON {id, name, size, pieceSize, manifestBytes}][piece hashes][manifest]
 * ```
 *
 * Whoever opens the blob trusts it no more than a tracker trusts a
 * `register`: decoding runs the very checks `messages.ts` runs on a
 * registered file's metadata, and throws `TypeError` or `RangeError` on
 * anything malformed.
 *
 * @module
 */

import { parseFrameJson } from "./frame.ts";
import { MAX_JSON_BYTES } from "./limits.ts";
import { type FileMeta, fromFrame } from "./messages.ts";
import { metaParts } from "./_fields.ts";

/** Bytes of the JSON length prefix. */
export const SEALED_META_LENGTH_BYTES = 4;

const encoder = new TextEncoder();

/**
 * Encodes `meta` as sealed-metadata bytes. Throws `TypeError`/`RangeError`
 * if `meta` would not pass {@linkcode decodeSealedMeta} (or a tracker's
 * `register`).
 */
export function encodeSealedMeta(meta: FileMeta): Uint8Array {
  const parts = metaParts(meta);
  const { fields, binary } = metaParts(checked(parts.fields, parts.binary));
  const json = encoder.encode(JSON.stringify(fields));
  const out = new Uint8Array(
    SEALED_META_LENGTH_BYTES + json.length + binary.length,
  );
  new DataView(out.buffer).setUint32(0, json.length);
  out.set(json, SEALED_META_LENGTH_BYTES);
  out.set(binary, SEALED_META_LENGTH_BYTES + json.length);
  return out;
}

/**
 * Decodes sealed-metadata bytes into a {@linkcode FileMeta} (its piece
 * hashes and manifest a copy). Throws `TypeError`/`RangeError` on a bad
 * length, JSON that is not an object, or any field a tracker would refuse
 * (a folder's manifest included: its SHA-256 the ID, its layout the hashes
 * and the size).
 */
export function decodeSealedMeta(bytes: Uint8Array): FileMeta {
  if (bytes.length < SEALED_META_LENGTH_BYTES) {
    throw new RangeError(
      `Sealed metadata is ${bytes.length} bytes, shorter than its length prefix`,
    );
  }
  const jsonLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
    .getUint32(0);
  if (jsonLength > MAX_JSON_BYTES) {
    throw new RangeError(
      `Sealed metadata JSON is ${jsonLength} bytes, over ${MAX_JSON_BYTES}`,
    );
  }
  const hashesAt = SEALED_META_LENGTH_BYTES + jsonLength;
  if (hashesAt > bytes.length) {
    throw new RangeError(
      `Sealed metadata is cut short: its JSON needs ${jsonLength} bytes, ${
        bytes.length - SEALED_META_LENGTH_BYTES
      } remain`,
    );
  }
  // Copied before the checks, so that the layout they leave cached
  // (`folderLayoutOf`) is that of the manifest returned.
  return checked(
    parseJson(bytes.subarray(SEALED_META_LENGTH_BYTES, hashesAt)),
    bytes.slice(hashesAt),
  );
}

function parseJson(bytes: Uint8Array): Record<string, unknown> {
  try {
    return parseFrameJson(bytes);
  } catch (error) {
    if (error instanceof SyntaxError) throw new TypeError(error.message);
    throw error;
  }
}

/**
 * Runs `messages.ts`'s metadata checks (the ones a `register` passes) on
 * the fields (the four, and `manifestBytes` for a folder) and the binary
 * part (hashes, then a folder's manifest); unknown fields are dropped.
 */
function checked(
  fields: Record<string, unknown>,
  binary: Uint8Array,
): FileMeta {
  const { id, name, size, pieceSize, manifestBytes } = fields;
  const message = fromFrame({
    header: {
      type: "file",
      id,
      name,
      size,
      pieceSize,
      manifestBytes,
      peers: [],
    },
    binary,
  });
  if (message.type !== "file") throw new TypeError("Unreachable");
  return message.meta;
}
