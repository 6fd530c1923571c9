/**
 * A folder download's links to peers that share one of its files on its
 * own (or inside another folder): a file in a folder is the same swarm as
 * that file shared alone. The largest files still missing pieces are
 * looked up by their own IDs at the tracker, and each peer found is linked
 * for that file's span of the folder's pieces only.
 *
 * @module
 */

import type { FolderLayout, LaidFile } from "../protocol/folder_layout.ts";
import { HASH_BYTES } from "../protocol/limits.ts";
import type { FileMeta } from "../protocol/messages.ts";
import type { PieceScheduler } from "../swarm/piece_scheduler.ts";
import type { PeerPool } from "./_peer_pool.ts";
import type { FileLookup } from "./_find_peers.ts";

/** Files of a folder looked up by their own IDs each time peers are sought. */
export const MAX_FILE_LOOKUPS = 8;
/** Files of fewer pieces are fetched only from the folder's sharers. */
export const MIN_LOOKUP_PIECES = 2;

/** Options for {@linkcode FileSpans}. */
export interface FileSpansOptions {
  /** The folder's layout. */
  layout: FolderLayout;
  /** The folder's metadata (its piece hashes: the files' own, in order). */
  meta: FileMeta;
  /** The download's scheduler: which pieces are still missing. */
  scheduler: PieceScheduler;
  /** The download's links. */
  pool: PeerPool;
  /** Asks the tracker for a file by its full ID (only its peers once `known`). */
  lookUpFile: FileLookup;
  /** Receives one line per file found shared on its own. */
  log?: (line: string) => void;
}

/** Finds and links the peers that share a folder's files on their own. */
export class FileSpans {
  #options: FileSpansOptions;
  #looking?: Promise<void>;
  #logged = new Set<string>();
  /** Files whose metadata at the tracker matched the folder's once. */
  #matched = new Set<string>();

  /** Nothing is looked up until {@linkcode refresh}. */
  constructor(options: FileSpansOptions) {
    this.#options = options;
  }

  /**
   * Looks up the largest files still missing pieces (MAX_FILE_LOOKUPS of
   * them) and links their peers; never throws. Calls while one is under
   * way share it.
   */
  refresh(): Promise<void> {
    this.#looking ??= Promise.allSettled(
      this.#wanted().map((file) => this.#lookUp(file)),
    ).then(() => {}).finally(() => this.#looking = undefined);
    return this.#looking;
  }

  /** The largest files of MIN_LOOKUP_PIECES or more with a piece missing. */
  #wanted(): LaidFile[] {
    const { layout, scheduler } = this.#options;
    const missing = (file: LaidFile) => {
      for (let i = 0; i < file.pieces; i++) {
        if (!scheduler.has(file.firstPiece + i)) return true;
      }
      return false;
    };
    return layout.files
      .filter((file) => file.pieces >= MIN_LOOKUP_PIECES && missing(file))
      .sort((a, b) => b.size - a.size)
      .slice(0, MAX_FILE_LOOKUPS);
  }

  async #lookUp(file: LaidFile): Promise<void> {
    const known = this.#matched.has(file.id);
    const { meta, peers } = await this.#options.lookUpFile(file.id, known);
    // Another piece size or other hashes: its pieces are not the folder's.
    if (!known && !(meta && this.#sameHashes(file, meta))) return;
    this.#matched.add(file.id);
    const span = { id: file.id, first: file.firstPiece, pieces: file.pieces };
    const usable = this.#options.pool.usable(peers);
    if (usable.length > 0 && !this.#logged.has(file.id)) {
      this.#logged.add(file.id);
      this.#options.log?.(
        `${file.path.join("/")} is also shared on its own by ${usable.length} ${
          usable.length === 1 ? "peer" : "peers"
        }.`,
      );
    }
    for (const peer of usable) this.#options.pool.link(peer, span);
  }

  #sameHashes(file: LaidFile, meta: FileMeta): boolean {
    const folder = this.#options.meta;
    if (meta.pieceSize !== folder.pieceSize || meta.size !== file.size) {
      return false;
    }
    const own = folder.pieceHashes.subarray(
      file.firstPiece * HASH_BYTES,
      (file.firstPiece + file.pieces) * HASH_BYTES,
    );
    if (own.length !== meta.pieceHashes.length) return false;
    return own.every((byte, i) => byte === meta.pieceHashes[i]);
  }
}
