/**
 * A shared folder for storage tests: a real tree on disk (three levels, an
 * empty folder, an empty file, an executable, names with spaces, CJK and
 * emoji), its manifest and folder metadata at the smallest piece size, and
 * its pieces.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  type FolderLayout,
  layFolder,
} from "../../lib/protocol/folder_layout.ts";
import { MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import {
  decodeManifest,
  encodeManifest,
  type ManifestEntry,
} from "../../lib/protocol/manifest.ts";
import type { FileMeta } from "../../lib/protocol/message_types.ts";

/** Bytes per piece in these tests. */
export const PIECE = MIN_PIECE_SIZE;
/** The shared folder's name. */
export const TOP = "Top 文件 🎉";

/** A folder on disk and what describes it. */
export interface SourceFolder {
  /** Path of the folder on disk. */
  path: string;
  /** Its metadata (a folder FileMeta). */
  meta: FileMeta;
  /** Where its pieces lie. */
  layout: FolderLayout;
  /** Each file's bytes, by path joined with `/`. */
  data: Map<string, Uint8Array>;
  /** Folder piece `index`'s bytes. */
  piece(index: number): Uint8Array;
}

const FILES: { path: string[]; size: number; executable?: boolean }[] = [
  { path: ["a.txt"], size: 40_000 },
  { path: ["zero"], size: 0 },
  { path: ["sub dir", "中文 file.bin"], size: PIECE },
  { path: ["sub dir", "deep", "🎵 song.dat"], size: 3 * PIECE + 77 },
  { path: ["sub dir", "deep", "run.sh"], size: 100, executable: true },
];
const FOLDERS = [["empty folder"], ["sub dir"], ["sub dir", "deep"]];

/** Deterministic-looking but distinct bytes (`seed` tells contents apart). */
function bytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  crypto.getRandomValues(out.subarray(0, Math.min(size, 65536)));
  for (let i = 65536; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** SHA-256 of `data` as hex. */
export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Writes the test folder into `dir/TOP` and describes it. `lie`, if given,
 * is the path of a file whose manifest ID is made wrong (its piece hashes
 * stay those of its bytes).
 */
export async function sourceFolder(
  dir: string,
  lie?: string,
): Promise<SourceFolder> {
  const path = join(dir, TOP);
  const data = new Map<string, Uint8Array>();
  const entries: ManifestEntry[] = FOLDERS.map((p) => ({
    path: p,
    type: "folder",
    size: 0,
    executable: false,
  }));
  for (const p of FOLDERS) {
    await Deno.mkdir(join(path, ...p), { recursive: true });
  }
  FILES.forEach(({ path: p, size, executable }, seed) => {
    const content = bytes(size, seed);
    data.set(p.join("/"), content);
    entries.push({
      path: p,
      type: "file",
      size,
      executable: executable ?? false,
      id: p.join("/") === lie
        ? sha256Hex(Uint8Array.of(1))
        : sha256Hex(content),
    });
  });
  for (const { path: p, executable } of FILES) {
    const file = join(path, ...p);
    await Deno.writeFile(file, data.get(p.join("/"))!);
    await Deno.chmod(file, executable ? 0o755 : 0o644);
  }
  const manifest = encodeManifest({ name: TOP, entries });
  const layout = layFolder(decodeManifest(manifest), PIECE);
  const pieceOf = (index: number): Uint8Array => {
    const file = layout.files[layout.fileOf(index)];
    const local = index - file.firstPiece;
    return data.get(file.path.join("/"))!.subarray(
      local * PIECE,
      (local + 1) * PIECE,
    );
  };
  const pieceHashes = new Uint8Array(layout.pieces * 32);
  for (let i = 0; i < layout.pieces; i++) {
    pieceHashes.set(createHash("sha256").update(pieceOf(i)).digest(), i * 32);
  }
  const meta: FileMeta = {
    id: sha256Hex(manifest),
    name: TOP,
    size: layout.size,
    pieceSize: PIECE,
    pieceHashes,
    manifest,
  };
  return { path, meta, layout, data, piece: (i) => pieceOf(i).slice() };
}

/** `0 .. n - 1` in random order. */
export function shuffled(n: number): number[] {
  const out = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Checks that `path` holds exactly the test folder: every file's bytes and
 * mode (not on Windows), the empty folder, and nothing else (`diff -r`
 * against the source, where `diff` exists).
 */
export async function sameTree(
  source: SourceFolder,
  path: string,
): Promise<string[]> {
  const problems: string[] = [];
  for (const file of source.layout.files) {
    const full = join(path, ...file.path);
    const got = await Deno.readFile(full);
    if (sha256Hex(got) !== sha256Hex(source.data.get(file.path.join("/"))!)) {
      problems.push(`${full}: bytes differ`);
    }
    const info = await Deno.lstat(full);
    const mode = file.executable ? 0o755 : 0o644;
    if (Deno.build.os !== "windows" && (info.mode! & 0o777) !== mode) {
      problems.push(`${full}: mode ${(info.mode! & 0o777).toString(8)}`);
    }
  }
  for (const folder of source.layout.folders) {
    const info = await Deno.lstat(join(path, ...folder));
    if (!info.isDirectory) problems.push(`${folder.join("/")}: not a folder`);
  }
  try {
    const { code, stdout } = await new Deno.Command("diff", {
      args: ["-r", source.path, path],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (code !== 0) problems.push(new TextDecoder().decode(stdout));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return problems;
}
