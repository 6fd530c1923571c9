/**
 * Saving a download, the `.part` file as a whole: opened under the file's
 * safe name (resumed if a `.part` of the same file is there), and once every
 * piece is in, checked against the file's ID, renamed into place, and (when
 * seeding) handed to the peer server to keep sharing. A file that does not
 * match its ID is discarded, never saved under its name.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import type { FileMeta } from "../protocol/messages.ts";
import { PartBusyError, PartFile } from "../storage/part_file.ts";
import type { PartialFile } from "../storage/partial_file.ts";
import type { PieceStore } from "../storage/piece_store.ts";
import { safeFileName } from "../storage/safe_name.ts";
import { diskError, DownloadError } from "./_download_error.ts";

/** Options for {@linkcode openPart}. */
export interface OpenPartOptions {
  /** Folder to save into; created if missing. */
  outDir: string;
  /** Replace an existing file of the same name. @default {false} */
  force?: boolean;
  /** Save under this name rather than the file's own. @default {meta.name} */
  saveAs?: string;
  /**
   * The download's signal: the `.part` of a download stopped by it is kept
   * even if nothing arrived (whoever stopped it says it is kept).
   */
  signal?: AbortSignal;
}

/** The name a download of `meta` is saved under, made safe for any disk. */
export function savedName(meta: FileMeta, saveAs?: string): string {
  return safeFileName(saveAs ?? meta.name);
}

/**
 * Opens the `.part` file `meta` is downloaded into: the one already there
 * if it holds the same file (a resume), else a new one.
 */
export async function openPart(
  meta: FileMeta,
  options: OpenPartOptions,
): Promise<PartFile> {
  const name = savedName(meta, options.saveAs);
  if (options.force) await checkReplaceable(join(options.outDir, name));
  try {
    return await PartFile.open({
      dir: options.outDir,
      name,
      force: options.force,
      identity: {
        id: meta.id,
        size: meta.size,
        pieceSize: meta.pieceSize,
        hashesDigest: createHash("sha256").update(meta.pieceHashes).digest(
          "hex",
        ),
      },
    });
  } catch (error) {
    if (error instanceof PartBusyError) throw new DownloadError(error.message);
    throw diskError(options.outDir, error);
  }
}

/**
 * Refuses, before anything is downloaded, a `--force` that could not
 * replace what is at `path`: a folder is never replaced by a file.
 */
async function checkReplaceable(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch {
    return;
  }
  if (info.isDirectory) {
    throw new DownloadError(
      `Cannot replace ${path}: it is a folder. Move it away, or leave out --force to save under a free name.`,
    );
  }
}

/** Options for {@linkcode finishDownload}. */
export interface FinishOptions {
  /** The file's metadata; its ID is the whole file's SHA-256. */
  meta: FileMeta;
  /** The `.part` file every piece is in. */
  part: PartFile;
  /** The store the pieces were written through; it computes the digest. */
  store: PieceStore;
  /** What was served from the part file while downloading; closed here. */
  partial?: PartialFile;
  /**
   * The disk error that stopped the download, if one did: reported in place
   * of the failure it causes here.
   */
  diskError: () => DownloadError | undefined;
  /**
   * Serves the saved file from now on, in place of the part file
   * (`get --seed`).
   * @default {the file is not shared}
   */
  adopt?: (path: string) => Promise<void>;
  /** Receives one line if the saved file cannot be shared. */
  log?: (line: string) => void;
}

/** Checks the whole file against its ID and gives it its real name. */
export async function finishDownload(
  options: FinishOptions,
): Promise<string> {
  const { meta, part } = options;
  let digest: string;
  try {
    digest = await options.store.digestHex();
  } catch (error) {
    // The last pieces could not be written: keep what is, for a resume.
    throw options.diskError() ?? diskError(part.dir, error);
  }
  // Nothing more is served from the part file, which closes below.
  options.partial?.close();
  if (digest !== meta.id) {
    await part.discard();
    throw new DownloadError(
      `The downloaded ${meta.name} does not match its ID (got ${
        digest.slice(0, 16)
      }); the peers' metadata is wrong, nothing was saved under its name.`,
      { retryable: true },
    );
  }
  let path: string;
  try {
    path = await part.commit();
  } catch (error) {
    throw diskError(part.dir, error);
  }
  if (options.adopt) {
    try {
      await options.adopt(path);
    } catch (error) {
      options.log?.(
        `Saved, but cannot keep sharing ${meta.name}: ${
          (error as Error).message ?? error
        }`,
      );
    }
  }
  return path;
}
