/**
 * The manifest of a folder tree, or of several files, shared as one ID: its
 * canonical bytes, its ID, and decoding with validation. Pure code, no file
 * system: sharing and downloading wire it in.
 *
 * ## Format (version 1)
 *
 * All integers big-endian; every string UTF-8 in Unicode NFC.
 *
 * ```text
 * manifest = magic version name count entry*count
 * magic    = 70 32 70 6d          4 bytes, "p2pm"
 * version  = 01                   1 byte
 * name     = len:u8 utf8[len]     the top folder's name, 1..255 bytes
 * count    = u32                  entries, 0..1,000,000
 * entry    = kind:u8 depth:u8 len:u8 utf8[len] (size:u64 id[32] if a file)
 * kind     = 00 folder | 01 file | 02 executable file
 * depth    = components in the entry's path, 1..64
 * size     = the file's bytes, at most 2^53 - 1
 * id       = the SHA-256 of the file's bytes, raw
 * ```
 *
 * An entry stores only its last path component (`utf8[len]`, 1..255
 * bytes): its path is the first `depth - 1` components of the previous
 * entry's path followed by that name, so the first entry has depth 1 and
 * no entry is deeper than the previous one plus 1. Every path's parent
 * must be a folder entry (none is implied, so one tree has one encoding),
 * and entries are in strictly increasing order of their paths, compared
 * component by component, components by their UTF-8 bytes, a path before
 * the paths below it: a depth-first walk with each folder's content
 * sorted, every folder before what it holds. Folders carry no size and no
 * ID; an empty file has size 0 and the SHA-256 of no bytes as its ID.
 *
 * The manifest's ID is the SHA-256 of these bytes in lowercase hex, the
 * way a file's ID is the SHA-256 of its bytes. The names and paths obey
 * {@linkcode checkManifest}'s rules; decoding enforces them, and every
 * other byte string is refused, so each manifest has exactly one encoding.
 *
 * @example
 * ```ts
 * const manifest: Manifest = {
 *   name: "holiday",
 *   entries: [
 *     { path: ["photos"], type: "folder", size: 0, executable: false },
 *     {
 *       path: ["photos", "notes.txt"],
 *       type: "file",
 *       size: 0,
 *       executable: false,
 *       id: EMPTY_FILE_ID,
 *     },
 *   ],
 * };
 * const bytes = encodeManifest(manifest);
 * manifestId(manifest); // the SHA-256 of `bytes`, in hex
 * decodeManifest(bytes); // the same manifest
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";
import { HASH_BYTES, MAX_MANIFEST_BYTES } from "./limits.ts";
import {
  checkedTree,
  checkManifest,
  type Manifest,
  type ManifestEntry,
  type ManifestNode,
  MAX_MANIFEST_ENTRIES,
  MAX_PATH_DEPTH,
} from "./_manifest_rules.ts";
import { quote } from "./_manifest_names.ts";
import { ManifestReader } from "./_manifest_reader.ts";

export {
  checkManifest,
  type Manifest,
  type ManifestEntry,
  ManifestError,
  MAX_MANIFEST_ENTRIES,
  MAX_PATH_BYTES,
  MAX_PATH_DEPTH,
} from "./_manifest_rules.ts";
export { MAX_COMPONENT_BYTES } from "./_manifest_names.ts";

/** The format version this code writes and reads. */
export const MANIFEST_VERSION = 1;
/** The bytes every manifest starts with: `p2pm`. */
export const MANIFEST_MAGIC: Uint8Array = Uint8Array.of(0x70, 0x32, 0x70, 0x6d);
export { MAX_MANIFEST_BYTES } from "./limits.ts";
/** The ID of an empty file: the SHA-256 of no bytes. */
export const EMPTY_FILE_ID =
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** Options of {@linkcode encodeManifest} and {@linkcode decodeManifest}. */
export interface ManifestCodecOptions {
  /**
   * Most bytes the encoded manifest may have.
   *
   * @default {MAX_MANIFEST_BYTES}
   */
  maxBytes?: number;
}

const KIND_FOLDER = 0;
const KIND_FILE = 1;
const KIND_EXECUTABLE = 2;
/** Magic, version, name length, count. */
const HEADER_BYTES = MANIFEST_MAGIC.length + 1 + 1 + 4;
/** Kind, depth and name length of an entry. */
const ENTRY_BYTES = 3;
/** Size and ID after a file entry's name. */
const FILE_BYTES = 8 + HASH_BYTES;
const TWO_32 = 2 ** 32;
const encoder = new TextEncoder();

/**
 * The canonical bytes of `manifest` (the format in this module's docs).
 * Names are put in NFC first and entries sorted, so the same entries in any
 * order, with names in any normalization form, give the same bytes. Throws
 * {@linkcode ManifestError} if the result would break a rule of
 * {@linkcode checkManifest} (two names equal once in NFC included), and
 * `RangeError` past `options.maxBytes`.
 */
export function encodeManifest(
  manifest: Manifest,
  options: ManifestCodecOptions = {},
): Uint8Array {
  const maxBytes = options.maxBytes ?? MAX_MANIFEST_BYTES;
  const normal = inNfc(manifest);
  const rows = inOrder(checkedTree(normal));
  const name = encoder.encode(normal.name);
  let size = HEADER_BYTES + name.length;
  for (const { entry, own } of rows) {
    size += ENTRY_BYTES + own.length + (entry.type === "file" ? FILE_BYTES : 0);
  }
  if (size > maxBytes) {
    throw new RangeError(
      `Manifest of ${
        quote(normal.name)
      } would be ${size} bytes, over ${maxBytes}`,
    );
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(MANIFEST_MAGIC);
  let at = MANIFEST_MAGIC.length;
  out[at++] = MANIFEST_VERSION;
  out[at++] = name.length;
  out.set(name, at);
  at += name.length;
  view.setUint32(at, rows.length);
  at += 4;
  for (const { entry, own } of rows) at = writeEntry(out, view, at, entry, own);
  return out;
}

/**
 * The manifest's ID: the SHA-256 of {@linkcode encodeManifest}'s bytes, in
 * lowercase hex. Throws as `encodeManifest` does.
 */
export function manifestId(manifest: Manifest): string {
  return createHash("sha256").update(encodeManifest(manifest)).digest("hex");
}

/**
 * Decodes manifest bytes, refusing anything but the one canonical encoding
 * of a manifest that passes {@linkcode checkManifest}. Throws `RangeError`
 * on a length out of bounds (bytes cut short or left over, a limit passed),
 * `TypeError` on a wrong magic, version, kind or order or bad UTF-8, and
 * {@linkcode ManifestError} on a name or path the rules refuse.
 */
export function decodeManifest(
  bytes: Uint8Array,
  options: ManifestCodecOptions = {},
): Manifest {
  const maxBytes = options.maxBytes ?? MAX_MANIFEST_BYTES;
  if (bytes.length > maxBytes) {
    throw new RangeError(`Manifest is ${bytes.length} bytes, over ${maxBytes}`);
  }
  const reader = new ManifestReader(bytes);
  readHeader(reader);
  const name = reader.text(reader.u8());
  const count = reader.u32();
  if (count > MAX_MANIFEST_ENTRIES) {
    throw new RangeError(
      `Manifest lists ${count} entries, over ${MAX_MANIFEST_ENTRIES}`,
    );
  }
  if (count * (ENTRY_BYTES + 1) > reader.remaining) {
    throw new RangeError(
      `Manifest lists ${count} entries, more than its ${reader.remaining} bytes left can hold`,
    );
  }
  const entries: ManifestEntry[] = [];
  let previous: Uint8Array[] = [];
  let previousPath: string[] = [];
  for (let i = 0; i < count; i++) {
    const { entry, raw } = readEntry(reader, i, previous, previousPath);
    entries.push(entry);
    previous = raw;
    previousPath = entry.path;
  }
  if (reader.remaining > 0) {
    throw new RangeError(
      `Manifest has ${reader.remaining} bytes after its last entry`,
    );
  }
  const manifest = { name, entries };
  checkManifest(manifest);
  return manifest;
}

/** An entry to write, with its own name's UTF-8 bytes. */
interface Row {
  entry: ManifestEntry;
  own: Uint8Array;
}

/**
 * The entries below `folder` in the format's order: depth first, each
 * folder before what it holds, the content of each sorted by UTF-8 bytes.
 */
function inOrder(folder: ManifestNode, rows: Row[] = []): Row[] {
  if (!folder.children) return rows;
  const content = [...folder.children.values()].map((node) => ({
    node,
    own: encoder.encode(node.path[node.depth - 1]),
  }));
  content.sort((a, b) => compareBytes(a.own, b.own));
  for (const { node, own } of content) {
    rows.push({ entry: node.entry as ManifestEntry, own });
    inOrder(node, rows);
  }
  return rows;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/** A copy of `manifest` with every name in NFC (shape left to the checks). */
function inNfc(manifest: Manifest): Manifest {
  if (typeof manifest !== "object" || manifest === null) return manifest;
  const nfc = (s: unknown) => typeof s === "string" ? s.normalize("NFC") : s;
  const entries = Array.isArray(manifest.entries)
    ? manifest.entries.map((entry) =>
      typeof entry === "object" && entry !== null && Array.isArray(entry.path)
        ? { ...entry, path: entry.path.map(nfc) as string[] }
        : entry
    )
    : manifest.entries;
  return { name: nfc(manifest.name) as string, entries };
}

function writeEntry(
  out: Uint8Array,
  view: DataView,
  at: number,
  entry: ManifestEntry,
  name: Uint8Array,
): number {
  out[at++] = entry.type === "folder"
    ? KIND_FOLDER
    : entry.executable
    ? KIND_EXECUTABLE
    : KIND_FILE;
  out[at++] = entry.path.length;
  out[at++] = name.length;
  out.set(name, at);
  at += name.length;
  if (entry.type === "folder") return at;
  view.setUint32(at, Math.floor(entry.size / TWO_32));
  view.setUint32(at + 4, entry.size % TWO_32);
  at += 8;
  const id = entry.id as string;
  for (let i = 0; i < HASH_BYTES; i++) {
    out[at++] = parseInt(id.slice(2 * i, 2 * i + 2), 16);
  }
  return at;
}

function readHeader(reader: ManifestReader): void {
  const magic = reader.bytes(MANIFEST_MAGIC.length);
  if (compareBytes(magic, MANIFEST_MAGIC) !== 0) {
    throw new TypeError('Not a manifest: it does not start with "p2pm"');
  }
  const version = reader.u8();
  if (version !== MANIFEST_VERSION) {
    throw new TypeError(
      `Manifest version ${version} is not supported (this build reads ${MANIFEST_VERSION})`,
    );
  }
}

/**
 * Entry `index`, after the entry whose components are `previous` (raw) and
 * `previousPath`: checks its kind, depth and order against that one.
 */
function readEntry(
  reader: ManifestReader,
  index: number,
  previous: Uint8Array[],
  previousPath: string[],
): { entry: ManifestEntry; raw: Uint8Array[] } {
  const kind = reader.u8();
  if (kind > KIND_EXECUTABLE) {
    throw new TypeError(`Manifest entry ${index} has unknown kind ${kind}`);
  }
  const depth = reader.u8();
  if (depth < 1 || depth > Math.min(previous.length + 1, MAX_PATH_DEPTH)) {
    throw new RangeError(
      `Manifest entry ${index} has depth ${depth}, not within 1..${
        Math.min(previous.length + 1, MAX_PATH_DEPTH)
      }`,
    );
  }
  const own = reader.bytes(reader.u8());
  if (depth <= previous.length && compareBytes(own, previous[depth - 1]) <= 0) {
    throw new TypeError(
      `Manifest entry ${index} is out of order or repeated`,
    );
  }
  const raw = previous.slice(0, depth - 1);
  raw.push(own);
  const path = previousPath.slice(0, depth - 1);
  path.push(reader.decode(own));
  if (kind === KIND_FOLDER) {
    return {
      entry: { path, type: "folder", size: 0, executable: false },
      raw,
    };
  }
  const size = reader.u64();
  const id = reader.hex(HASH_BYTES);
  const executable = kind === KIND_EXECUTABLE;
  return { entry: { path, type: "file", size, executable, id }, raw };
}
