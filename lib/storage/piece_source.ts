/**
 * What a peer server serves: a whole shared file, or the verified pieces of
 * a download still in progress.
 *
 * @module
 */

import type { Bitfield } from "../protocol/bitfield.ts";
import type { FileMeta } from "../protocol/messages.ts";

/** A file, or part of one, that a peer server can serve pieces of. */
export interface PieceSource {
  /** The file's metadata. */
  readonly meta: FileMeta;
  /** Pieces in the whole file. */
  readonly pieces: number;
  /** True once it must not be served any more. */
  readonly closed: boolean;
  /**
   * Reads piece `index` (into `into` when given and large enough). Throws
   * if the piece cannot be read (the file changed or is gone).
   */
  readPiece(index: number, into?: Uint8Array): Promise<Uint8Array>;
  /** The pieces held; absent (or undefined) when it holds every piece. */
  have?(): Bitfield | undefined;
  /**
   * Calls `listener` with each piece that becomes available from now on;
   * returns a function that stops it. Absent for a whole file.
   */
  onHave?(listener: (index: number) => void): () => void;
}
