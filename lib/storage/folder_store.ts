/**
 * Where a folder download's verified pieces go: into the `.part` folder
 * (`folder_part.ts`), and in order into each file's own SHA-256, checked at
 * the end against the file's ID in the manifest. Each piece was checked
 * against its piece hash on arrival, but the piece hashes are not part of
 * the folder's ID (its manifest is), so only the whole-file hashes prove
 * the files are the ones the ID names.
 *
 * Small files are written and hashed on the caller's thread, as in
 * `InlineStore`: one {@linkcode OrderedHasher} per file is made when the
 * file's first piece arrives and dropped once the file is done, so that at
 * the end every file's digest is known without reading the folder again
 * (a one-piece file's digest is its piece hash, checked on arrival). Given
 * a hashing thread, files of `THREAD_MIN_PIECES` pieces or more are written
 * and hashed on it instead, one after another (`_folder_thread_files.ts`).
 * Each file is flushed to disk once done (`FolderPart.fileDone`).
 *
 * Verdict: {@linkcode FolderStore.badFiles} lists the files whose digest
 * differs from their ID; `digestHex()` (what a `PieceStore` offers) resolves
 * to the folder's ID when there are none, else to a value that is never an
 * ID (see there).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { EMPTY_FILE_ID } from "../protocol/manifest.ts";
import { HASH_BYTES } from "../protocol/limits.ts";
import type { FileMeta } from "../protocol/message_types.ts";
import type { FolderPart } from "./folder_part.ts";
import { type HashThread, THREAD_MIN_PIECES } from "./hash_thread.ts";
import { OrderedHasher } from "./ordered_hasher.ts";
import type { PieceStore } from "./piece_store.ts";
import { ThreadFiles } from "./_folder_thread_files.ts";

/**
 * Pieces a file's hasher holds in memory ahead of its cursor: 1, the piece
 * at the cursor only. A folder may have many files under way at once, and
 * a window each would hold that many pieces per file; a piece that arrives
 * early is read back later instead, from the page cache it was just
 * written to.
 */
export const FOLDER_HASH_WINDOW_PIECES = 1;
/** Pieces re-verified between yields to the event loop when resuming. */
export const FOLDER_CHECK_YIELD_PIECES = 64;

/** Options for {@linkcode FolderStore}. */
export interface FolderStoreOptions {
  /** The download's `.part` folder. */
  part: FolderPart;
  /**
   * The folder's metadata, if at hand: checked to be the part's folder
   * (its ID and piece size), else `TypeError`.
   * @default {the part's}
   */
  meta?: FileMeta;
  /**
   * Reads a stored piece back (folder piece index).
   * @default {a read from `part` into a new buffer}
   */
  readBack?: (index: number) => Uint8Array;
  /**
   * Writes and hashes the files of `THREAD_MIN_PIECES` pieces or more
   * (where the thread may write: `THREAD_CAN_WRITE`).
   * @default {none: every file on the caller's thread}
   */
  thread?: HashThread;
  /** Called once a piece is on disk and may be read back and served. */
  onStored?: (index: number) => void;
  /** Receives each piece buffer back once it is written and hashed. */
  release?: (data: Uint8Array) => void;
  /** Called once if a write fails; nothing more is stored after it. */
  onError: (error: unknown) => void;
  /**
   * Called once a file (index in `part.layout.files`) has all its pieces
   * stored. Never called for empty files: they are done from the start
   * (see {@linkcode FolderStore.filesDone}).
   */
  onFileDone?: (file: number) => void;
}

/** Writes a folder's verified pieces and follows each file's hash. */
export class FolderStore implements PieceStore {
  #options: FolderStoreOptions;
  #part: FolderPart;
  #hashers = new Map<number, OrderedHasher>();
  /** Pieces stored so far, per file. */
  #stored: Uint32Array;
  #have: Uint8Array;
  /** Each file's SHA-256 (hex) once it is done. */
  #digests: (string | undefined)[];
  #filesDone = 0;
  #threadFiles?: ThreadFiles;
  #failed = false;
  #closed = false;

  /** A store writing into `options.part`. */
  constructor(options: FolderStoreOptions) {
    const { meta, part } = options;
    if (
      meta && (meta.id !== part.id || meta.pieceSize !== part.layout.pieceSize)
    ) {
      throw new TypeError(`${part.partPath} does not hold ${meta.name}`);
    }
    this.#options = options;
    this.#part = part;
    const { files, pieces } = options.part.layout;
    this.#stored = new Uint32Array(files.length);
    this.#have = new Uint8Array(pieces);
    this.#digests = files.map((file) =>
      file.pieces === 0 ? EMPTY_FILE_ID : undefined
    );
    this.#filesDone = files.filter((file) => file.pieces === 0).length;
    if (options.thread) {
      this.#threadFiles = new ThreadFiles({
        thread: options.thread,
        part,
        onStored: (index) => this.#options.onStored?.(index),
        release: (data) => this.#options.release?.(data),
        onError: (error) => this.#fail(error),
        onDigest: (file, hex) => this.#fileDone(file, hex),
      });
    }
  }

  /**
   * True while too many complete files wait for their flush, or too many
   * pieces for the hashing thread.
   */
  get behind(): boolean {
    return this.#part.behind || (this.#threadFiles?.behind ?? false);
  }

  /** Files with every piece stored, empty files included. */
  get filesDone(): number {
    return this.#filesDone;
  }

  add(index: number, data?: Uint8Array): void {
    if (this.#failed || this.#closed) {
      if (data) this.#options.release?.(data);
      return;
    }
    if (this.#have[index]) {
      // Stored already (never expected): not written or hashed twice.
      if (data) this.#options.release?.(data);
      return;
    }
    const { files, pieceSize } = this.#part.layout;
    const f = this.#part.layout.fileOf(index);
    const file = files[f];
    this.#have[index] = 1;
    this.#stored[f]++;
    if (this.#threadFiles && file.pieces >= THREAD_MIN_PIECES) {
      this.#threadFiles.add(f, index - file.firstPiece, data);
      return;
    }
    if (data) {
      try {
        this.#part.write(index * pieceSize, data);
      } catch (error) {
        this.#fail(error);
        this.#options.release?.(data);
        return;
      }
    }
    this.#hash(f, index, data);
    this.#options.onStored?.(index);
  }

  async caughtUp(): Promise<void> {
    await this.#part.caughtUp();
    await this.#threadFiles?.caughtUp();
  }

  async flushed(): Promise<void> {
    await this.#threadFiles?.flushed();
  }

  /**
   * Each file's SHA-256 as hex, in layout order; every piece must have been
   * stored (rejects otherwise).
   */
  async fileDigests(): Promise<string[]> {
    await this.#threadFiles?.settled();
    return await Promise.resolve().then(() => {
      const missing = this.#digests.findIndex((digest) => !digest);
      if (missing >= 0) {
        const file = this.#part.layout.files[missing];
        throw new Error(
          `${file.path.join("/")} has only ${
            this.#stored[missing]
          } of ${file.pieces} pieces stored`,
        );
      }
      return this.#digests as string[];
    });
  }

  /**
   * The files (indices in `part.layout.files`) whose SHA-256 is not their
   * ID, once every piece is stored: empty when the folder is whole.
   */
  async badFiles(): Promise<number[]> {
    const digests = await this.fileDigests();
    const { files } = this.#part.layout;
    return digests.flatMap((digest, f) => digest === files[f].id ? [] : [f]);
  }

  /**
   * The folder's ID if every file matches its ID; otherwise the SHA-256 of
   * the file digests one after another, which is not the ID (the ID hashes
   * the manifest, which starts with `p2pm`, not a list of digests). Lets a
   * download compare it with the ID as it does a file's digest.
   */
  async digestHex(): Promise<string> {
    if ((await this.badFiles()).length === 0) return this.#part.id;
    const hash = createHash("sha256");
    for (const digest of await this.fileDigests()) hash.update(digest, "hex");
    return hash.digest("hex");
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const hasher of this.#hashers.values()) hasher.close();
    this.#hashers.clear();
    await this.#threadFiles?.close();
  }

  /** Feeds folder piece `index` (of file `f`) to its file's hash. */
  #hash(f: number, index: number, data?: Uint8Array): void {
    const release = (data: Uint8Array) => this.#options.release?.(data);
    const file = this.#part.layout.files[f];
    const { meta } = this.#options;
    if (file.pieces === 1 && meta) {
      // A verified piece: its hash, checked on arrival, is the file's.
      if (data) release(data);
      const at = index * HASH_BYTES;
      const digest = meta.pieceHashes.subarray(at, at + HASH_BYTES);
      this.#fileDone(f, Buffer.from(digest).toString("hex"));
      return;
    }
    let hasher = this.#hashers.get(f);
    if (!hasher) {
      hasher = new OrderedHasher(file.pieces, {
        readBack: (local) => this.#readBack(file.firstPiece + local),
        windowPieces: FOLDER_HASH_WINDOW_PIECES,
        release,
      });
      this.#hashers.set(f, hasher);
    }
    hasher.add(index - file.firstPiece, data);
    if (this.#stored[f] < file.pieces) return;
    this.#hashers.delete(f);
    this.#fileDone(f, hasher.digestHex());
  }

  /** File `f` has every piece stored, and `hex` is its SHA-256. */
  #fileDone(f: number, hex: string): void {
    this.#digests[f] = hex;
    this.#filesDone++;
    this.#part.fileDone(f);
    this.#options.onFileDone?.(f);
  }

  #fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#options.onError(error);
  }

  #readBack(index: number): Uint8Array {
    if (this.#options.readBack) return this.#options.readBack(index);
    const { pieceSize } = this.#part.layout;
    return this.#part.read(
      index * pieceSize,
      this.#part.layout.pieceLength(index),
    );
  }
}

/** Options for {@linkcode checkExistingFolderPieces}. */
export interface FolderCheckOptions {
  /** The folder's metadata, with the hash of each piece. */
  meta: FileMeta;
  /** The resumed `.part` folder. */
  part: FolderPart;
  /** Cancels the check. */
  signal?: AbortSignal;
  /**
   * Called with the bytes checked so far: 0 before the check starts, then
   * every {@linkcode FOLDER_CHECK_YIELD_PIECES} pieces. @default {nothing}
   */
  onChecked?: (bytes: number) => void;
}

/**
 * Re-verifies the pieces of a resumed `.part` folder, file by file,
 * resolving to the folder piece indices that match their hash, in order:
 * they are kept, the rest (never written, torn, damaged, unreadable) are
 * fetched again.
 */
export async function checkExistingFolderPieces(
  options: FolderCheckOptions,
): Promise<number[]> {
  const { meta, part, signal, onChecked } = options;
  const { layout } = part;
  const buffer = new Uint8Array(layout.pieceSize);
  const good: number[] = [];
  onChecked?.(0);
  for (let index = 0; index < layout.pieces; index++) {
    if (index % FOLDER_CHECK_YIELD_PIECES === 0) {
      if (index > 0) onChecked?.(index * layout.pieceSize);
      await new Promise((resolve) => setTimeout(resolve, 0));
      signal?.throwIfAborted();
    }
    const length = layout.pieceLength(index);
    let data: Uint8Array;
    try {
      data = part.read(index * layout.pieceSize, length, buffer);
    } catch {
      continue;
    }
    if (data.length === length && matches(data, meta.pieceHashes, index)) {
      good.push(index);
    }
  }
  signal?.throwIfAborted();
  return good;
}

/** True if `data` is piece `index` according to `hashes`. */
function matches(data: Uint8Array, hashes: Uint8Array, index: number): boolean {
  const digest = createHash("sha256").update(data).digest();
  const offset = index * HASH_BYTES;
  for (let i = 0; i < HASH_BYTES; i++) {
    if (digest[i] !== hashes[offset + i]) return false;
  }
  return true;
}
