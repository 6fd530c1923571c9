/**
 * The files the tracker knows and their metadata variants: what is shared,
 * not who shares it (that is the `PeerTable`) nor how much anyone may
 * register (that is the registry's policy in `service.ts`).
 *
 * Everything lives in parallel typed arrays indexed by small slot numbers,
 * not in objects:
 * - files: the 32 ID bytes; files are found through a map keyed on the
 *   ID's first 8 hex chars (an int32), chained on collisions, which also
 *   answers a 16-char prefix without scanning every file;
 * - variants: owning file, size, piece size, age, name, and for a folder
 *   its count of files and manifest length, chained per file; their piece
 *   hashes (a folder's followed by its manifest) live in a
 *   {@linkcode HashPool}. A folder's manifest is kept as bytes only, never
 *   decoded here, so a registration holds no more than its quota counts.
 * Free slots of each table are chained through its `next` array.
 *
 * @module
 */

import { folderLayoutOf } from "../protocol/folder_layout.ts";
import type { FileMeta } from "../protocol/messages.ts";
import { RegistryError } from "./registry_types.ts";
import { HashPool } from "./hash_pool.ts";
import { grown, INITIAL_SLOTS, NONE } from "./_slots.ts";

/** Bytes of a file ID. */
const ID_BYTES = 32;
/** Char codes of the hex digits. */
const HEX_CODES = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

/**
 * Files by ID, each with its chain of variants.
 *
 * The arrays are public so that the registry's loops read them with no
 * call per element (this is the tracker's hot path); only this class writes
 * them. Growing replaces an array, so read it through the table each time
 * rather than keeping it.
 */
export class FileTable {
  /** First 8 hex chars of an ID as int32 → first file of that chain. */
  readonly byKey = new Map<number, number>();
  /** One more than the highest file slot ever used. */
  fileTop = 0;
  #fileFree = NONE;
  #fileIds = new Uint8Array(INITIAL_SLOTS * ID_BYTES);
  /** Next file with the same key, or next free slot. */
  fileNext = new Int32Array(INITIAL_SLOTS);
  /** First variant; NONE for a free slot. */
  fileFirst = new Int32Array(INITIAL_SLOTS);
  /** For every lookup by ID: its bytes, and how many hex chars were given. */
  #wanted = new Uint8Array(ID_BYTES);
  /** Scratch char codes of an ID being turned into a string. */
  #idCodes: number[] = new Array(2 * ID_BYTES).fill(0);

  #variantTop = 0;
  #variantFree = NONE;
  #created = 0;
  /** Owning file; NONE for a free slot. */
  variantFile = new Int32Array(INITIAL_SLOTS);
  /** Next variant of the same file, or next free slot. */
  variantNext = new Int32Array(INITIAL_SLOTS);
  /** Size of the file, in bytes. */
  variantSize = new Float64Array(INITIAL_SLOTS);
  /** Piece size, in bytes. */
  variantPieceSize = new Float64Array(INITIAL_SLOTS);
  /** Order of creation: equally supported variants rank oldest first. */
  variantCreated = new Float64Array(INITIAL_SLOTS);
  /** A folder's count of files (not folders); -1 for a single file. */
  variantFiles = new Int32Array(INITIAL_SLOTS);
  /** Bytes of a folder's manifest, after its hashes in the pool; 0 for a single file. */
  variantManifestBytes = new Int32Array(INITIAL_SLOTS);
  /** The name given by the first registration. */
  variantName: string[] = [];
  #hashes = new HashPool();
  #hashBytes = 0;

  /** Piece-hash bytes (and manifest bytes) of every variant held, for the tracker-wide quota. */
  get hashBytes(): number {
    return this.#hashBytes;
  }

  /** Piece-hash bytes of `variant`, with its manifest's if a folder. */
  hashBytesOf(variant: number): number {
    return this.#hashes.length(variant);
  }

  // --- Lookups ---------------------------------------------------------

  /** The file with full ID `id`, or NONE. */
  fileOf(id: string): number {
    const key = this.wantId(id);
    for (let file = this.byKey.get(key) ?? NONE; file !== NONE;) {
      if (this.idMatches(file, ID_BYTES * 2)) return file;
      file = this.fileNext[file];
    }
    return NONE;
  }

  /**
   * Puts the bytes of hex `text` into #wanted (for `idMatches`
   * and `addFile`); returns its first 8 chars as int32, the key of
   * its chain in `byKey`.
   */
  wantId(text: string): number {
    const wanted = this.#wanted;
    for (let i = 0; i + 1 < text.length; i += 2) {
      wanted[i >> 1] = (nibble(text.charCodeAt(i)) << 4) |
        nibble(text.charCodeAt(i + 1));
    }
    if (text.length & 1) {
      wanted[text.length >> 1] = nibble(text.charCodeAt(text.length - 1)) << 4;
    }
    return keyOf(wanted);
  }

  /**
   * True if file `file`'s ID starts with the first `chars` hex chars of
   * #wanted; `file` must be on the chain of #wanted's key.
   */
  idMatches(file: number, chars: number): boolean {
    const ids = this.#fileIds;
    const base = file * ID_BYTES;
    const whole = chars >> 1;
    // The first 4 bytes are the key, equal already.
    for (let i = 4; i < whole; i++) {
      if (ids[base + i] !== this.#wanted[i]) return false;
    }
    return (chars & 1) === 0 ||
      (ids[base + whole] & 0xf0) === this.#wanted[whole];
  }

  /** The variant of `file` with the same content as `meta`, or NONE. */
  variantWith(file: number, meta: FileMeta): number {
    let variant = this.fileFirst[file];
    for (; variant !== NONE; variant = this.variantNext[variant]) {
      if (
        this.variantSize[variant] === meta.size &&
        this.variantPieceSize[variant] === meta.pieceSize &&
        this.variantManifestBytes[variant] === (meta.manifest?.length ?? 0) &&
        this.#hashes.equals(variant, meta.pieceHashes, meta.manifest)
      ) {
        return variant;
      }
    }
    return NONE;
  }

  /**
   * The metadata of `variant` (its piece hashes and manifest are views of
   * the table's own, side by side: read, do not change).
   */
  metaOf(variant: number): FileMeta {
    const meta: FileMeta = {
      id: this.idOf(this.variantFile[variant]),
      name: this.variantName[variant],
      size: this.variantSize[variant],
      pieceSize: this.variantPieceSize[variant],
      pieceHashes: this.#hashes.get(variant),
    };
    const manifestBytes = this.variantManifestBytes[variant];
    if (manifestBytes > 0) {
      const all = meta.pieceHashes;
      const at = all.length - manifestBytes;
      meta.pieceHashes = all.subarray(0, at);
      meta.manifest = all.subarray(at);
    }
    return meta;
  }

  /** `{ files }`, a folder variant's count of files, for its summary; `{}` for a single file. */
  filesOf(variant: number): { files?: number } {
    const files = this.variantFiles[variant];
    return files < 0 ? {} : { files };
  }

  /** File `file`'s ID as hex, built flat (a string of 32 concatenations is slow to serialise). */
  idOf(file: number): string {
    const codes = this.#idCodes;
    const base = file * ID_BYTES;
    for (let i = 0; i < ID_BYTES; i++) {
      const byte = this.#fileIds[base + i];
      codes[2 * i] = HEX_CODES[byte >> 4];
      codes[2 * i + 1] = HEX_CODES[byte & 15];
    }
    return String.fromCharCode.apply(null, codes);
  }

  // --- Changes ---------------------------------------------------------

  /**
   * A new file slot, with no variants, for the full ID last given to
   * `fileOf` (which must have found none), chained under its key.
   */
  addFile(): number {
    let file = this.#fileFree;
    if (file !== NONE) {
      this.#fileFree = this.fileNext[file];
    } else {
      file = this.fileTop++;
      if (file >= this.fileFirst.length) this.#growFiles(2 * file);
    }
    this.#fileIds.set(this.#wanted, file * ID_BYTES);
    this.fileFirst[file] = NONE;
    this.fileNext[file] = NONE;
    // Appended, so list() keeps files in the order they came.
    const key = keyOf(this.#wanted);
    const first = this.byKey.get(key);
    if (first === undefined) {
      this.byKey.set(key, file);
    } else {
      let last = first;
      while (this.fileNext[last] !== NONE) last = this.fileNext[last];
      this.fileNext[last] = file;
    }
    return file;
  }

  /**
   * A new variant of `file` with `meta`'s content, last in its chain;
   * `files` is a folder's count of files (none for a single file).
   */
  addVariant(file: number, meta: FileMeta, files = -1): number {
    let variant = this.#variantFree;
    if (variant !== NONE) {
      this.#variantFree = this.variantNext[variant];
    } else {
      variant = this.#variantTop++;
      if (variant >= this.variantFile.length) this.#growVariants(2 * variant);
    }
    this.variantFile[variant] = file;
    this.variantSize[variant] = meta.size;
    this.variantPieceSize[variant] = meta.pieceSize;
    this.variantCreated[variant] = this.#created++;
    this.variantName[variant] = meta.name;
    this.variantFiles[variant] = meta.manifest ? files : -1;
    this.variantManifestBytes[variant] = meta.manifest?.length ?? 0;
    this.#hashes.store(variant, meta.pieceHashes, meta.manifest);
    this.#hashBytes += this.#hashes.length(variant);
    // Appended, so variants of equal support stay in order of age.
    let last = this.fileFirst[file];
    if (last === NONE) {
      this.fileFirst[file] = variant;
    } else {
      while (this.variantNext[last] !== NONE) last = this.variantNext[last];
      this.variantNext[last] = variant;
    }
    this.variantNext[variant] = NONE;
    return variant;
  }

  /** Unlinks a variant (its peers already gone), and its file if it was the last. */
  removeVariant(variant: number): void {
    const file = this.variantFile[variant];
    let prev = NONE;
    let at = this.fileFirst[file];
    while (at !== variant) {
      prev = at;
      at = this.variantNext[at];
    }
    if (prev === NONE) this.fileFirst[file] = this.variantNext[variant];
    else this.variantNext[prev] = this.variantNext[variant];
    this.#hashBytes -= this.#hashes.length(variant);
    this.#hashes.free(variant);
    this.variantName[variant] = "";
    this.variantFile[variant] = NONE;
    this.variantNext[variant] = this.#variantFree;
    this.#variantFree = variant;
    if (this.fileFirst[file] === NONE) this.#removeFile(file);
  }

  #removeFile(file: number): void {
    const key = keyOf(this.#fileIds, file * ID_BYTES);
    const first = this.byKey.get(key)!;
    const next = this.fileNext[file];
    if (first === file) {
      if (next === NONE) this.byKey.delete(key);
      else this.byKey.set(key, next);
    } else {
      let prev = first;
      while (this.fileNext[prev] !== file) prev = this.fileNext[prev];
      this.fileNext[prev] = next;
    }
    this.fileNext[file] = this.#fileFree;
    this.#fileFree = file;
  }

  // --- Growth ----------------------------------------------------------

  #growFiles(length: number): void {
    this.#fileIds = grown(this.#fileIds, length * ID_BYTES);
    this.fileNext = grown(this.fileNext, length);
    this.fileFirst = grown(this.fileFirst, length);
  }

  #growVariants(length: number): void {
    this.variantFile = grown(this.variantFile, length);
    this.variantNext = grown(this.variantNext, length);
    this.variantSize = grown(this.variantSize, length);
    this.variantPieceSize = grown(this.variantPieceSize, length);
    this.variantCreated = grown(this.variantCreated, length);
    this.variantFiles = grown(this.variantFiles, length);
    this.variantManifestBytes = grown(this.variantManifestBytes, length);
  }
}

/** The value of lowercase hex char code `code`. */
function nibble(code: number): number {
  return code <= 57 ? code - 48 : code - 87;
}

/** The first 4 ID bytes at `offset` as an int32: the lookup key. */
function keyOf(bytes: Uint8Array, offset = 0): number {
  return (bytes[offset] << 24) | (bytes[offset + 1] << 16) |
    (bytes[offset + 2] << 8) | bytes[offset + 3];
}

/**
 * How many files `meta`'s folder lists; -1 for a single file. Reads the
 * layout `fromFrame` left cached for the manifest (a manifest not decoded
 * yet is decoded once); one that does not decode is a `bad-request`.
 */
export function folderFiles(meta: FileMeta): number {
  try {
    return folderLayoutOf(meta)?.files.length ?? -1;
  } catch (error) {
    throw new RegistryError(
      "bad-request",
      `The folder manifest of ${meta.id.slice(0, 16)} is not valid: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
}
