/**
 * Sealed metadata bytes: a file's metadata round-trips, and hostile bytes
 * (from whoever holds a link's secret) are refused as a tracker refuses a
 * bad `register`.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  decodeSealedMeta,
  encodeSealedMeta,
} from "../../lib/protocol/sealed_meta.ts";
import type { FileMeta } from "../../lib/protocol/messages.ts";
import {
  HASH_BYTES,
  MAX_JSON_BYTES,
  MAX_NAME_BYTES,
  MAX_PIECE_SIZE,
  MIN_PIECE_SIZE,
} from "../../lib/protocol/limits.ts";
import {
  deriveShareKeys,
  openMetadata,
  sealMetadata,
} from "../../lib/secure/share_keys.ts";

const ID = "0123456789abcdef".repeat(4);
const encoder = new TextEncoder();

function meta(overrides: Partial<FileMeta> = {}): FileMeta {
  const size = overrides.size ?? 3 * MIN_PIECE_SIZE + 5;
  const pieceSize = overrides.pieceSize ?? MIN_PIECE_SIZE;
  const pieces = Math.ceil(size / pieceSize);
  const pieceHashes = Uint8Array.from(
    { length: pieces * HASH_BYTES },
    (_, i) => i % 251,
  );
  return {
    id: ID,
    name: "holiday.mp4",
    size,
    pieceSize,
    pieceHashes,
    ...overrides,
  };
}

/** Sealed-metadata bytes with `header` as JSON (as written) and `hashes`. */
function raw(
  header: unknown,
  hashes: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const json = encoder.encode(
    typeof header === "string" ? header : JSON.stringify(header),
  );
  const out = new Uint8Array(4 + json.length + hashes.length);
  new DataView(out.buffer).setUint32(0, json.length);
  out.set(json, 4);
  out.set(hashes, 4 + json.length);
  return out;
}

function header(file: FileMeta): Record<string, unknown> {
  const { pieceHashes: _, ...fields } = file;
  return fields;
}

function refused(bytes: Uint8Array): Error {
  try {
    decodeSealedMeta(bytes);
  } catch (error) {
    assert(
      error instanceof TypeError || error instanceof RangeError,
      `TypeError or RangeError, got ${error}`,
    );
    return error;
  }
  throw new Error("Expected decodeSealedMeta to throw");
}

Deno.test("sealed metadata round-trips a file's metadata", () => {
  for (
    const file of [
      meta(),
      meta({ size: 0 }),
      meta({ size: MAX_PIECE_SIZE, pieceSize: MAX_PIECE_SIZE }),
      meta({ name: "é".repeat(MAX_NAME_BYTES / 2) }),
      meta({ name: 'quotes " and \\ and 日本' }),
    ]
  ) {
    const bytes = encodeSealedMeta(file);
    assertEquals(decodeSealedMeta(bytes), file);
  }
});

Deno.test("sealed metadata survives sealing and opening", () => {
  const { metadataKey } = deriveShareKeys(new Uint8Array(16));
  const file = meta();
  const blob = sealMetadata(metadataKey, encodeSealedMeta(file));
  assertEquals(decodeSealedMeta(openMetadata(metadataKey, blob)), file);
});

Deno.test("the layout is a 4-byte JSON length, the JSON, then the hashes", () => {
  const file = meta();
  const bytes = encodeSealedMeta(file);
  const length = new DataView(bytes.buffer).getUint32(0);
  const json = JSON.parse(
    new TextDecoder().decode(bytes.subarray(4, 4 + length)),
  );
  assertEquals(json, header(file));
  assertEquals(bytes.subarray(4 + length), file.pieceHashes);
});

Deno.test("decoded piece hashes are a copy, not a view of the input", () => {
  const bytes = encodeSealedMeta(meta());
  const decoded = decodeSealedMeta(bytes);
  bytes.fill(0, bytes.length - HASH_BYTES);
  assert(decoded.pieceHashes.at(-1) !== 0);
});

Deno.test("unknown JSON fields are dropped", () => {
  const file = meta();
  const decoded = decodeSealedMeta(
    raw({ ...header(file), peers: [1], extra: "x" }, file.pieceHashes),
  );
  assertEquals(decoded, file);
});

Deno.test("a length prefix past the bytes or over the JSON limit is refused", () => {
  for (const length of [0, 1, 2, 3]) refused(new Uint8Array(length));
  const huge = new Uint8Array(8);
  new DataView(huge.buffer).setUint32(0, 0xffffffff);
  assert(refused(huge) instanceof RangeError);
  const over = new Uint8Array(4 + MAX_JSON_BYTES + 1);
  new DataView(over.buffer).setUint32(0, MAX_JSON_BYTES + 1);
  assert(refused(over) instanceof RangeError);
  const good = encodeSealedMeta(meta());
  for (let end = 0; end < good.length; end++) {
    refused(good.subarray(0, end));
  }
});

Deno.test("JSON that is not valid, not UTF-8 or not an object is refused", () => {
  for (const text of ["", "{", "[]", "null", "42", '"x"']) {
    assert(refused(raw(text)) instanceof TypeError, text);
  }
  const badUtf8 = raw("{}");
  badUtf8[5] = 0xff;
  assert(refused(badUtf8) instanceof TypeError);
});

Deno.test("a wrong piece hash length is refused", () => {
  const file = meta();
  const h = header(file);
  const hashes = file.pieceHashes;
  refused(raw(h, hashes.subarray(1)));
  refused(raw(h, hashes.subarray(HASH_BYTES)));
  refused(raw(h, new Uint8Array(hashes.length + HASH_BYTES)));
  refused(raw(h, new Uint8Array(hashes.length + 1)));
  refused(raw(h));
});

Deno.test("bad sizes, piece sizes, IDs and names are refused", () => {
  const file = meta();
  const hashes = file.pieceHashes;
  const h = header(file);
  const cases: Record<string, unknown>[] = [
    { ...h, size: -1 },
    { ...h, size: 1.5 },
    { ...h, size: "100" },
    { ...h, size: 2 ** 53 },
    { ...h, size: undefined },
    { ...h, pieceSize: MIN_PIECE_SIZE - 1 },
    { ...h, pieceSize: MAX_PIECE_SIZE + 1 },
    { ...h, pieceSize: 0 },
    { ...h, id: ID.toUpperCase() },
    { ...h, id: ID.slice(0, 63) },
    { ...h, id: ID + "0" },
    { ...h, id: 42 },
    { ...h, id: undefined },
    { ...h, name: "" },
    { ...h, name: 7 },
    { ...h, name: "x".repeat(MAX_NAME_BYTES + 1) },
    { ...h, name: "é".repeat(MAX_NAME_BYTES / 2 + 1) },
  ];
  for (const bad of cases) refused(raw(bad, hashes));
  // A size with more pieces than the limit, whatever the hashes.
  refused(
    raw({ ...h, size: Number.MAX_SAFE_INTEGER, pieceSize: MIN_PIECE_SIZE }),
  );
});

Deno.test("encoding refuses metadata a tracker would refuse", () => {
  const bad = [
    meta({ id: "xyz" }),
    meta({ name: "" }),
    meta({ size: -1 }),
    meta({ pieceSize: 1 }),
    { ...meta(), pieceHashes: new Uint8Array(HASH_BYTES) },
  ];
  for (const file of bad) assertThrows(() => encodeSealedMeta(file));
});
