/**
 * A private file's metadata as the bytes that get sealed (with
 * `lib/secure/share_keys.ts`'s `sealMetadata`) into the blob the tracker
 * stores without reading:
 *
 * ```text
 * [4-byte big-endian JSON length][JSON {id, name, size, pieceSize}][piece hashes]
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

/** Bytes of the JSON length prefix. */
export const SEALED_META_LENGTH_BYTES = 4;

const encoder = new TextEncoder();

/**
 * Encodes `meta` as sealed-metadata bytes. Throws `TypeError`/`RangeError`
 * if `meta` would not pass {@linkcode decodeSealedMeta} (or a tracker's
 * `register`).
 */
export function encodeSealedMeta(meta: FileMeta): Uint8Array {
  const { pieceHashes, ...fields } = checked(meta, meta.pieceHashes);
  const json = encoder.encode(JSON.stringify(fields));
  const out = new Uint8Array(
    SEALED_META_LENGTH_BYTES + json.length + pieceHashes.length,
  );
  new DataView(out.buffer).setUint32(0, json.length);
  out.set(json, SEALED_META_LENGTH_BYTES);
  out.set(pieceHashes, SEALED_META_LENGTH_BYTES + json.length);
  return out;
}

/**
 * Decodes sealed-metadata bytes into a {@linkcode FileMeta} (its piece
 * hashes a copy). Throws `TypeError`/`RangeError` on a bad length, JSON
 * that is not an object, or any field a tracker would refuse.
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
  const meta = checked(
    parseJson(bytes.subarray(SEALED_META_LENGTH_BYTES, hashesAt)),
    bytes.subarray(hashesAt),
  );
  return { ...meta, pieceHashes: meta.pieceHashes.slice() };
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
 * the four fields and the hashes; unknown fields are dropped.
 */
function checked(
  fields: Partial<Record<keyof FileMeta, unknown>>,
  pieceHashes: Uint8Array,
): FileMeta {
  const { id, name, size, pieceSize } = fields;
  const message = fromFrame({
    header: { type: "file", id, name, size, pieceSize, peers: [] },
    binary: pieceHashes,
  });
  if (message.type !== "file") throw new TypeError("Unreachable");
  return message.meta;
}
