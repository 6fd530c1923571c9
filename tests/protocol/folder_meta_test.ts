/**
 * A folder's metadata on the wire: `register` and `file` carry its manifest
 * after the piece hashes (`manifestBytes` in the JSON), decoding checks it
 * against the ID, the hashes and the size, and sealed metadata carries it
 * the same way. A single file's frames are unchanged.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import { folderLayoutOf } from "../../lib/protocol/folder_layout.ts";
import {
  bytesOf,
  folderMeta,
  sameBytes,
  sha256,
  type TestFile,
} from "../_folder_meta.ts";
import {
  encodeFrame,
  type Frame,
  FrameReader,
} from "../../lib/protocol/frame.ts";
import {
  type FileMeta,
  fromFrame,
  type Message,
  pieceLength,
  piecesOf,
  toFrame,
} from "../../lib/protocol/messages.ts";
import {
  HASH_BYTES,
  MAX_BINARY_BYTES,
  MAX_JSON_BYTES,
  MAX_MANIFEST_ENTRIES,
  MAX_PIECES,
  MAX_SEALED_BLOB_BYTES,
  MAX_WIRE_MANIFEST_BYTES,
  MIN_PIECE_SIZE,
  SEALED_BLOB_OVERHEAD_BYTES,
} from "../../lib/protocol/limits.ts";
import {
  decodeSealedMeta,
  encodeSealedMeta,
} from "../../lib/protocol/sealed_meta.ts";
import {
  deriveShareKeys,
  openMetadata,
  sealMetadata,
} from "../../lib/secure/share_keys.ts";

const FOLDER = folderMeta();
const P = MIN_PIECE_SIZE;
const SINGLE: FileMeta = {
  id: "0123456789abcdef".repeat(4),
  name: "report.pdf",
  size: 2 * P + 5,
  pieceSize: P,
  pieceHashes: bytesOf(3 * HASH_BYTES, 9),
};

function register(meta: FileMeta): Message & { type: "register" } {
  return { type: "register", meta, port: 6000 };
}

function file(meta: FileMeta): Message & { type: "file" } {
  return { type: "file", meta, peers: [{ host: "10.0.0.7", port: 6000 }] };
}

/**
 * Encodes `message` into bytes and reads them back as one frame, handed
 * to the reader 1,000 bytes at a time.
 */
async function overTheWire(message: Message): Promise<Frame> {
  const { header, binary } = toFrame(message);
  const bytes = encodeFrame(header, binary);
  let at = 0;
  const reader = new FrameReader({
    read(into: Uint8Array): Promise<number | null> {
      if (at === bytes.length) return Promise.resolve(null);
      const n = Math.min(into.length, 1000, bytes.length - at);
      into.set(bytes.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
  });
  const frame = await reader.read();
  assert(frame !== null);
  assertEquals(await reader.read(), null);
  return frame;
}

/** The error `fromFrame` throws on `frame`; fails unless TypeError or RangeError. */
function refusal(frame: Frame): Error {
  try {
    fromFrame(frame);
  } catch (error) {
    assert(
      error instanceof TypeError || error instanceof RangeError,
      `TypeError or RangeError, got ${error}`,
    );
    return error;
  }
  throw new Error(`Expected ${JSON.stringify(frame.header)} to be refused`);
}

/** `FOLDER`'s frame as `type` with `header` fields changed and `binary`. */
function folderFrame(
  type: "register" | "file",
  header: Record<string, unknown> = {},
  binary?: Uint8Array,
): Frame {
  const frame = toFrame(type === "register" ? register(FOLDER) : file(FOLDER));
  return {
    header: { ...frame.header, ...header },
    binary: binary ?? frame.binary,
  };
}

function hashesThenManifest(
  hashes: Uint8Array,
  manifest: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(hashes.length + manifest.length);
  out.set(hashes);
  out.set(manifest, hashes.length);
  return out;
}

Deno.test("register and file carry a folder's manifest after its piece hashes, and round-trip it", async () => {
  const manifest = FOLDER.manifest!;
  assertEquals(FOLDER.pieceHashes.length, 5 * HASH_BYTES);
  for (const message of [register(FOLDER), file(FOLDER)]) {
    const frame = toFrame(message);
    assertEquals(frame.header.manifestBytes, manifest.length);
    assert("manifest" in frame.header === false);
    assert(
      sameBytes(frame.binary, hashesThenManifest(FOLDER.pieceHashes, manifest)),
    );
    const decoded = fromFrame(await overTheWire(message));
    assert(decoded.type === message.type && "meta" in decoded);
    assertEquals(
      { ...decoded.meta, pieceHashes: 0, manifest: 0 },
      { ...FOLDER, pieceHashes: 0, manifest: 0 },
    );
    assert(sameBytes(decoded.meta.pieceHashes, FOLDER.pieceHashes));
    assert(sameBytes(decoded.meta.manifest, manifest));
    assertEquals(piecesOf(decoded.meta), 5);
    assertEquals(
      Array.from({ length: 5 }, (_, i) => pieceLength(decoded.meta, i)),
      [P, P, 5, 5, P],
    );
  }
});

Deno.test("a decoded folder's hashes and manifest go out again as one view, not a copy", () => {
  const decoded = fromFrame(toFrame(register(FOLDER)));
  assert(decoded.type === "register");
  const again = toFrame(file(decoded.meta));
  assert(again.binary.buffer === decoded.meta.pieceHashes.buffer);
  assertEquals(
    again.binary.length,
    FOLDER.pieceHashes.length + FOLDER.manifest!.length,
  );
});

Deno.test("a single file's register and file frames are as they were: no manifestBytes, the hashes as binary", () => {
  for (const meta of [SINGLE, { ...SINGLE, manifest: undefined }]) {
    const reg = toFrame({ ...register(meta), partial: true });
    assertEquals(Object.keys(reg.header), [
      "type",
      "id",
      "name",
      "size",
      "pieceSize",
      "port",
      "partial",
    ]);
    assert(reg.binary === SINGLE.pieceHashes);
    const answer = toFrame({ ...file(meta), variant: 0, variants: 1 });
    assertEquals(Object.keys(answer.header), [
      "type",
      "id",
      "name",
      "size",
      "pieceSize",
      "peers",
      "variant",
      "variants",
    ]);
    assert(answer.binary === SINGLE.pieceHashes);
    const decoded = fromFrame(reg);
    assert(decoded.type === "register" && !("manifest" in decoded.meta));
  }
  const reg = toFrame(register(SINGLE));
  const bytes = new TextDecoder().decode(
    encodeFrame(reg.header, reg.binary).subarray(4, 200),
  );
  assert(
    bytes.startsWith(
      `{"type":"register","id":"${SINGLE.id}","name":"report.pdf","size":${SINGLE.size},"pieceSize":${P},"port":6000,"binary":96}`,
    ),
    bytes,
  );
});

Deno.test("a folder whose manifest's SHA-256 is not its ID is refused", () => {
  const manifest = FOLDER.manifest!;
  const tampered = manifest.slice();
  tampered[tampered.length - 1] ^= 1;
  for (const type of ["register", "file"] as const) {
    const otherId = refusal(folderFrame(type, { id: "f".repeat(64) }));
    assert(otherId instanceof TypeError && /SHA-256/.test(otherId.message));
    const changed = refusal(
      folderFrame(
        type,
        {},
        hashesThenManifest(FOLDER.pieceHashes, tampered),
      ),
    );
    assert(/SHA-256/.test(changed.message), changed.message);
    const short = refusal(folderFrame(type, { id: FOLDER.id.slice(0, 16) }));
    assert(/File ID/.test(short.message), short.message);
  }
});

Deno.test("a folder whose manifest is not a manifest is refused, even under its own hash", () => {
  const junk = bytesOf(200, 5);
  const frame = folderFrame(
    "register",
    { id: sha256(junk), manifestBytes: junk.length },
    hashesThenManifest(FOLDER.pieceHashes, junk),
  );
  refusal(frame);
});

Deno.test("a folder whose piece hashes do not match its layout is refused", () => {
  const manifest = FOLDER.manifest!;
  const hashes = FOLDER.pieceHashes;
  const cases: [string, Uint8Array][] = [
    ["one hash short", hashes.subarray(0, hashes.length - HASH_BYTES)],
    ["one hash more", hashesThenManifest(hashes, new Uint8Array(HASH_BYTES))],
    ["no hashes", new Uint8Array(0)],
    ["a hash cut short", hashes.subarray(0, hashes.length - 1)],
  ];
  for (const type of ["register", "file"] as const) {
    for (const [what, list] of cases) {
      const error = refusal(
        folderFrame(type, {}, hashesThenManifest(list, manifest)),
      );
      assert(error instanceof RangeError, `${what}: ${error}`);
      assert(/hash list/.test(error.message), `${what}: ${error.message}`);
    }
  }
  // With pieces twice as large, a.txt has 2 pieces, not 3.
  const wider = refusal(folderFrame("register", { pieceSize: 2 * P }));
  assert(/expected 128/.test(wider.message), wider.message);
});

Deno.test("a folder whose size is not its files' bytes together is refused", () => {
  for (const type of ["register", "file"] as const) {
    for (const size of [FOLDER.size - 1, FOLDER.size + 1, 0]) {
      const error = refusal(folderFrame(type, { size }));
      assert(error instanceof RangeError, String(error));
      assert(/"size"/.test(error.message), error.message);
    }
  }
});

Deno.test("manifestBytes must be a whole number of bytes within 1..MAX_WIRE_MANIFEST_BYTES and the binary part", () => {
  const length = FOLDER.manifest!.length;
  for (
    const value of [
      0,
      -1,
      1.5,
      "7",
      null,
      true,
      MAX_WIRE_MANIFEST_BYTES + 1,
      2 ** 53,
    ]
  ) {
    const error = refusal(folderFrame("register", { manifestBytes: value }));
    assert(/manifestBytes/.test(error.message), error.message);
  }
  const past = refusal(
    folderFrame("register", {
      manifestBytes: FOLDER.pieceHashes.length + length + 1,
    }),
  );
  assert(/shorter than its manifest/.test(past.message), past.message);
  // Off by one either way: the hashes are no longer whole.
  for (const manifestBytes of [length - 1, length + 1]) {
    refusal(folderFrame("file", { manifestBytes }));
  }
  // A manifest where a single file's hashes are: not a folder of that size.
  refusal({
    header: { ...toFrame(register(SINGLE)).header, manifestBytes: 32 },
    binary: SINGLE.pieceHashes,
  });
});

Deno.test("a folder's binary part fits MAX_BINARY_BYTES at its largest, and sealed metadata fits MAX_SEALED_BLOB_BYTES", () => {
  assert(MAX_WIRE_MANIFEST_BYTES <= 128 * 1024 * 1024);
  assert(MAX_PIECES * HASH_BYTES + MAX_WIRE_MANIFEST_BYTES <= MAX_BINARY_BYTES);
  assertEquals(
    MAX_SEALED_BLOB_BYTES,
    4 + MAX_JSON_BYTES + MAX_PIECES * HASH_BYTES + MAX_WIRE_MANIFEST_BYTES +
      SEALED_BLOB_OVERHEAD_BYTES,
  );
  assert(MAX_SEALED_BLOB_BYTES <= MAX_BINARY_BYTES);
});

Deno.test("a folder of empty files only, or of nothing, has no hashes and still round-trips", () => {
  const cases: TestFile[][] = [
    [{ path: ["empty"], bytes: new Uint8Array(0) }],
    [],
  ];
  for (const files of cases) {
    const meta = folderMeta({ files, folders: [] });
    assertEquals(meta.pieceHashes.length, 0);
    const decoded = fromFrame(toFrame(register(meta)));
    assert(decoded.type === "register");
    assert(sameBytes(decoded.meta.manifest, meta.manifest!));
    assertEquals(decoded.meta.size, 0);
    assertEquals(piecesOf(decoded.meta), 0);
  }
});

Deno.test("files answers carry a folder's count of files, and refuse a bad one", () => {
  const summary = {
    id: FOLDER.id,
    name: "holiday",
    size: FOLDER.size,
    peers: 2,
    partial: 1,
  };
  const message: Message = {
    type: "files",
    files: [{ ...summary, files: 4 }, { ...summary, id: "a".repeat(64) }],
  };
  const decoded = fromFrame(toFrame(message));
  assertEquals(decoded, message);
  assert(decoded.type === "files" && !("files" in decoded.files[1]));
  for (const files of [-1, 1.5, "4", null, MAX_MANIFEST_ENTRIES + 1]) {
    refusal({
      header: { type: "files", files: [{ ...summary, files }] },
      binary: new Uint8Array(0),
    });
  }
});

Deno.test("sealed metadata carries a folder's manifest after its hashes and round-trips it", () => {
  const bytes = encodeSealedMeta(FOLDER);
  const length = new DataView(bytes.buffer).getUint32(0);
  const json = JSON.parse(
    new TextDecoder().decode(bytes.subarray(4, 4 + length)),
  );
  assertEquals(json, {
    id: FOLDER.id,
    name: FOLDER.name,
    size: FOLDER.size,
    pieceSize: FOLDER.pieceSize,
    manifestBytes: FOLDER.manifest!.length,
  });
  assert(
    sameBytes(
      bytes.subarray(4 + length),
      hashesThenManifest(FOLDER.pieceHashes, FOLDER.manifest!),
    ),
  );
  const decoded = decodeSealedMeta(bytes);
  assert(sameBytes(decoded.manifest, FOLDER.manifest!));
  assert(sameBytes(decoded.pieceHashes, FOLDER.pieceHashes));
  assertEquals(piecesOf(decoded), 5);
  // A copy: changing the input afterwards changes nothing decoded.
  bytes.fill(0, bytes.length - 8);
  assert(sameBytes(decoded.manifest, FOLDER.manifest!));

  const { metadataKey } = deriveShareKeys(new Uint8Array(32).fill(3));
  const blob = sealMetadata(metadataKey, encodeSealedMeta(FOLDER));
  const opened = decodeSealedMeta(openMetadata(metadataKey, blob));
  assert(sameBytes(opened.manifest, FOLDER.manifest!));
  assertEquals(opened.size, FOLDER.size);
});

Deno.test("sealed metadata with a tampered manifest, hashes or sizes is refused", () => {
  const { metadataKey } = deriveShareKeys(new Uint8Array(32).fill(3));
  const blob = sealMetadata(metadataKey, encodeSealedMeta(FOLDER));
  const altered = blob.slice();
  altered[altered.length - 20] ^= 1;
  let threw = false;
  try {
    openMetadata(metadataKey, altered);
  } catch (error) {
    threw = error instanceof TypeError;
  }
  assert(threw, "an altered blob must not open");

  // Whoever holds the key can seal anything: decoding is what refuses it.
  const plain = encodeSealedMeta(FOLDER);
  const length = new DataView(plain.buffer).getUint32(0);
  const flipped = plain.slice();
  flipped[flipped.length - 1] ^= 1;
  const wrongHash = plain.slice();
  wrongHash[4 + length] ^= 1;
  const cases: [string, Uint8Array][] = [
    ["manifest byte", flipped],
    ["cut short", plain.subarray(0, plain.length - 1)],
    ["byte added", hashesThenManifest(plain, new Uint8Array(1))],
  ];
  for (const [what, bytes] of cases) {
    let error: unknown;
    try {
      decodeSealedMeta(bytes);
    } catch (e) {
      error = e;
    }
    assert(
      error instanceof TypeError || error instanceof RangeError,
      `${what}: ${error}`,
    );
  }
  // A changed piece hash is not the metadata's to catch (the pieces' are).
  assert(
    !sameBytes(decodeSealedMeta(wrongHash).pieceHashes, FOLDER.pieceHashes),
  );
  for (
    const meta of [
      { ...FOLDER, size: FOLDER.size + 1 },
      { ...FOLDER, id: "f".repeat(64) },
      { ...FOLDER, pieceHashes: FOLDER.pieceHashes.subarray(HASH_BYTES) },
    ]
  ) {
    let error: unknown;
    try {
      encodeSealedMeta(meta);
    } catch (e) {
      error = e;
    }
    assert(error instanceof RangeError || error instanceof TypeError);
  }
});

Deno.test("the same manifest in another buffer is laid out once, and another piece size or manifest is laid out anew", () => {
  const first = folderLayoutOf(FOLDER)!;
  const copy = { ...FOLDER, manifest: FOLDER.manifest!.slice() };
  assert(folderLayoutOf(copy) === first, "decoded again");
  const other = folderLayoutOf({ ...copy, pieceSize: FOLDER.pieceSize * 2 })!;
  assert(other !== first && other.pieceSize === FOLDER.pieceSize * 2);
  assertEquals(other.files.length, first.files.length);
});
