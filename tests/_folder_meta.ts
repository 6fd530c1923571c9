/**
 * A folder's metadata for tests: files of known bytes, their manifest
 * (`encodeManifest`) and every file's own piece hashes in manifest order,
 * as a sharer would register them.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  EMPTY_FILE_ID,
  encodeManifest,
  type ManifestEntry,
} from "../lib/protocol/manifest.ts";
import { MIN_PIECE_SIZE } from "../lib/protocol/limits.ts";
import type { FileMeta } from "../lib/protocol/messages.ts";

/** One file of a test folder. */
export interface TestFile {
  /** Its path below the folder. */
  path: string[];
  /** Its bytes. */
  bytes: Uint8Array;
  /** @default {false} */
  executable?: boolean;
}

/** Options for {@linkcode folderMeta}. */
export interface FolderOptions {
  /** The folder's name. @default {"holiday"} */
  name?: string;
  /** @default {MIN_PIECE_SIZE} */
  pieceSize?: number;
  /** Its files. @default {defaultFiles(pieceSize)} */
  files?: TestFile[];
  /** Its folders (every parent of a file must be one). @default {[["sub"], ["void"]]} */
  folders?: string[][];
}

/** `length` bytes that depend on `seed`. */
export function bytesOf(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed * 7) & 0xff);
}

/**
 * Four files, one empty: 3 + 1 + 0 + 1 = 5 pieces for `3 × pieceSize + 10`
 * bytes, one more than that many bytes would have as one file (no piece
 * spans two files).
 */
export function defaultFiles(pieceSize: number): TestFile[] {
  return [
    { path: ["a.txt"], bytes: bytesOf(2 * pieceSize + 5, 1) },
    { path: ["c.txt"], bytes: bytesOf(5, 2) },
    { path: ["empty"], bytes: new Uint8Array(0) },
    { path: ["sub", "b.bin"], bytes: bytesOf(pieceSize, 3), executable: true },
  ];
}

/** The metadata a sharer registers for a folder of `options.files`. */
export function folderMeta(options: FolderOptions = {}): FileMeta {
  const pieceSize = options.pieceSize ?? MIN_PIECE_SIZE;
  const files = options.files ?? defaultFiles(pieceSize);
  const folders = options.folders ?? [["sub"], ["void"]];
  const entries: ManifestEntry[] = [
    ...folders.map((path) => ({
      path,
      type: "folder" as const,
      size: 0,
      executable: false,
    })),
    ...files.map((file) => ({
      path: file.path,
      type: "file" as const,
      size: file.bytes.length,
      executable: file.executable ?? false,
      id: file.bytes.length === 0 ? EMPTY_FILE_ID : sha256(file.bytes),
    })),
  ];
  const manifest = encodeManifest({
    name: options.name ?? "holiday",
    entries,
  });
  // Manifest order: paths compared component by component, by UTF-8 bytes.
  const ordered = [...files].sort((a, b) => comparePaths(a.path, b.path));
  const hashes: Uint8Array[] = [];
  for (const file of ordered) {
    for (let at = 0; at < file.bytes.length; at += pieceSize) {
      hashes.push(
        createHash("sha256").update(file.bytes.subarray(at, at + pieceSize))
          .digest(),
      );
    }
  }
  const pieceHashes = new Uint8Array(hashes.length * 32);
  hashes.forEach((hash, i) => pieceHashes.set(hash, i * 32));
  return {
    id: sha256(manifest),
    name: options.name ?? "holiday",
    size: files.reduce((sum, file) => sum + file.bytes.length, 0),
    pieceSize,
    pieceHashes,
    manifest,
  };
}

/** SHA-256 of `bytes`, lowercase hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** True if `a` and `b` hold the same bytes. */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && a.length === b.length &&
    a.every((byte, i) => byte === b[i]);
}

function comparePaths(a: string[], b: string[]): number {
  const encoder = new TextEncoder();
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = encoder.encode(a[i]);
    const y = encoder.encode(b[i]);
    for (let j = 0; j < Math.min(x.length, y.length); j++) {
      if (x[j] !== y[j]) return x[j] - y[j];
    }
    if (x.length !== y.length) return x.length - y.length;
  }
  return a.length - b.length;
}
