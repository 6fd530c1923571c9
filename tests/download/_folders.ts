/**
 * Helpers the folder download tests share: a real folder tree on disk and
 * a comparable picture of one (kinds, bytes, modes), folder metadata
 * encoded byte by byte (so that manifests `encodeManifest` refuses can be
 * sent), and hostile servers on the real encrypted transport: a tracker
 * that answers every query with given metadata, and a peer that serves
 * given bytes for every piece asked.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { startListener } from "../../lib/net/listener.ts";
import type { Address } from "../../lib/net/connection.ts";
import { type FileMeta, piecesOf } from "../../lib/protocol/messages.ts";
import { folderLayoutOf } from "../../lib/protocol/folder_layout.ts";
import { MANIFEST_MAGIC } from "../../lib/protocol/manifest.ts";
import { MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import { bytesOf } from "../_folder_meta.ts";

/** One file of a test tree: its path below the top folder, `/` between. */
export interface TreeFile {
  /** Its path below the top folder, `/` between components. */
  path: string;
  /** Its bytes. */
  bytes: Uint8Array;
  /** Mode 0755 rather than 0644. @default {false} */
  executable?: boolean;
}

/** Writes `files` and the (possibly empty) `folders` under `root`, made if missing. */
export async function writeTree(
  root: string,
  files: TreeFile[],
  folders: string[] = [],
): Promise<void> {
  await Deno.mkdir(root, { recursive: true });
  for (const folder of folders) {
    await Deno.mkdir(join(root, folder), { recursive: true });
  }
  for (const file of files) {
    const path = join(root, file.path);
    await Deno.mkdir(join(path, ".."), { recursive: true });
    await Deno.writeFile(path, file.bytes);
    await Deno.chmod(path, file.executable ? 0o755 : 0o644);
  }
}

/**
 * What a tree holds, comparable with `assertEquals`: each path below
 * `root` (sorted) with `dir`, or the file's SHA-256 (16 hex digits) and
 * its permission bits in octal.
 */
export async function treeOf(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, prefix: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      const shown = prefix + entry.name;
      if (entry.isDirectory) {
        out.push(`${shown}/ dir`);
        await walk(path, `${shown}/`);
      } else {
        const info = await Deno.lstat(path);
        const hash = createHash("sha256").update(await Deno.readFile(path))
          .digest("hex").slice(0, 16);
        out.push(`${shown} ${hash} ${(info.mode! & 0o777).toString(8)}`);
      }
    }
  };
  await walk(root, "");
  return out.sort();
}

/** The names in `dir`, sorted; none if it does not exist. */
export async function namesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

/** `count` files of `size` seeded bytes each, spread over `folders` subfolders. */
export function tinyFiles(
  count: number,
  size: number,
  folders: number,
): TreeFile[] {
  return Array.from({ length: count }, (_, i) => ({
    path: i % (folders + 1) === 0
      ? `top ${i}.txt`
      : `d${i % (folders + 1)}/f${i}.txt`,
    bytes: bytesOf(size, i),
  }));
}

/** One entry of a manifest written byte by byte: no rule is checked. */
export interface RawEntry {
  /** Its full path; only the last component is written (see manifest.ts). */
  path: string[];
  /** What it is. */
  kind: "folder" | "file" | "executable";
  /** A file's bytes: its size and ID are theirs. @default {none} */
  bytes?: Uint8Array;
}

const encoder = new TextEncoder();

/**
 * Manifest bytes for `name` and `entries` in the given order, in the
 * format of `lib/protocol/manifest.ts` (magic, version, name, count, then
 * kind, depth, own name and, for a file, size and SHA-256 per entry), with
 * none of the rules `encodeManifest` enforces: for hostile manifests.
 */
export function rawManifest(name: string, entries: RawEntry[]): Uint8Array {
  const parts: number[] = [...MANIFEST_MAGIC, 1];
  const text = (value: string) => {
    const bytes = encoder.encode(value);
    parts.push(bytes.length, ...bytes);
  };
  text(name);
  parts.push(...u32(entries.length));
  for (const entry of entries) {
    parts.push(
      entry.kind === "folder" ? 0 : entry.kind === "file" ? 1 : 2,
      entry.path.length,
    );
    text(entry.path[entry.path.length - 1]);
    if (entry.kind === "folder") continue;
    const bytes = entry.bytes ?? new Uint8Array(0);
    parts.push(...u32(Math.floor(bytes.length / 2 ** 32)));
    parts.push(...u32(bytes.length % 2 ** 32));
    parts.push(...createHash("sha256").update(bytes).digest());
  }
  return Uint8Array.from(parts);
}

function u32(value: number): number[] {
  return [
    value >>> 24,
    (value >>> 16) & 0xff,
    (value >>> 8) & 0xff,
    value & 0xff,
  ];
}

/**
 * Folder metadata around `manifest` (ID = its SHA-256) for files of
 * `bytes` in manifest order: their piece hashes one after another.
 */
export function metaAround(
  name: string,
  manifest: Uint8Array,
  bytes: Uint8Array[],
  pieceSize = MIN_PIECE_SIZE,
): FileMeta {
  const hashes: Uint8Array[] = [];
  for (const file of bytes) hashes.push(...pieceHashesOf(file, pieceSize));
  const pieceHashes = new Uint8Array(hashes.length * 32);
  hashes.forEach((hash, i) => pieceHashes.set(hash, i * 32));
  return {
    id: createHash("sha256").update(manifest).digest("hex"),
    name,
    size: bytes.reduce((sum, file) => sum + file.length, 0),
    pieceSize,
    pieceHashes,
    manifest,
  };
}

/** The SHA-256 of each `pieceSize` piece of `bytes`. */
export function pieceHashesOf(
  bytes: Uint8Array,
  pieceSize: number,
): Uint8Array[] {
  const hashes: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += pieceSize) {
    hashes.push(
      createHash("sha256").update(bytes.subarray(at, at + pieceSize)).digest(),
    );
  }
  return hashes;
}

/** A peer serving `meta` from bytes of its own choosing, and what it did. */
export interface FakePeer extends AsyncDisposable {
  /** Where it listens. */
  readonly address: Address;
  /** Connections it accepted. */
  readonly connections: number;
  /** Pieces it sent. */
  readonly sent: number;
}

/**
 * A peer on `host` that welcomes every downloader of `meta` as holding
 * every piece and answers each request with `piece(index)`: the right
 * bytes or not, as the test wants.
 */
export function fakePeer(
  meta: FileMeta,
  piece: (index: number) => Uint8Array,
  host = "127.0.0.1",
): FakePeer {
  let sent = 0;
  let connections = 0;
  const listener = startListener({
    host,
    port: 0,
    serve: async (conn) => {
      connections++;
      const hello = await conn.receive();
      if (hello?.type !== "hello" || hello.id !== meta.id) return;
      await conn.send({ type: "welcome", id: meta.id, pieces: piecesOf(meta) });
      for (let m; (m = await conn.receive()) !== null;) {
        if (m.type !== "request") continue;
        await conn.send({
          type: "piece",
          index: m.index,
          data: piece(m.index),
        });
        sent++;
      }
    },
  });
  return {
    address: listener.address,
    get connections() {
      return connections;
    },
    get sent() {
      return sent;
    },
    [Symbol.asyncDispose]: () => listener.close(),
  };
}

/**
 * Folder piece `index` of `meta` cut from `contents` (each file's bytes by
 * its path, `/` between components), as the manifest lays the files out:
 * what a peer holding those bytes would send.
 */
export function pieceOf(
  meta: FileMeta,
  contents: Map<string, Uint8Array>,
): (index: number) => Uint8Array {
  const layout = folderLayoutOf(meta)!;
  return (index) => {
    const file = layout.files[layout.fileOf(index)];
    const bytes = contents.get(file.path.join("/"));
    if (!bytes) throw new RangeError(`No bytes for ${file.path.join("/")}`);
    const at = (index - file.firstPiece) * meta.pieceSize;
    return bytes.subarray(at, at + layout.pieceLength(index));
  };
}
