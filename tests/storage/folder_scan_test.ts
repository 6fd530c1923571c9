import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  scanFiles,
  scanFolder,
  type ScannedFolder,
} from "../../lib/storage/folder_scan.ts";
import {
  decodeManifest,
  EMPTY_FILE_ID,
  type ManifestEntry,
  manifestId,
  MAX_PATH_DEPTH,
} from "../../lib/protocol/manifest.ts";
import { folderLayoutOf } from "../../lib/protocol/folder_layout.ts";
import { HASH_BYTES, MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import { THREAD_MIN_PIECES } from "../../lib/storage/hash_thread.ts";
import { folderMeta } from "../../lib/storage/_folder_manifest.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { randomFile, sha256sum, tempDir, within } from "../fixtures.ts";

const LIMIT_MS = 20_000;
const PIECE = MIN_PIECE_SIZE;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

async function mkfifo(path: string): Promise<boolean> {
  try {
    const { code } = await new Deno.Command("mkfifo", { args: [path] })
      .output();
    return code === 0;
  } catch {
    return false;
  }
}

/** Builds the test tree in `dir`/tree; returns its path and whether it has a FIFO. */
async function buildTree(
  dir: string,
): Promise<{ root: string; fifo: boolean }> {
  const root = join(dir, "tree");
  await Deno.mkdir(join(root, "emptydir"), { recursive: true });
  await Deno.mkdir(join(root, "写真", "deeper"), { recursive: true });
  await Deno.writeTextFile(join(root, ".hidden"), "hidden");
  await randomFile(root, "a b.txt", 3 * PIECE + 17);
  await Deno.writeFile(join(root, "empty.txt"), new Uint8Array());
  await Deno.writeTextFile(join(root, "run.sh"), "#!/bin/sh\necho hi\n");
  await Deno.chmod(join(root, "run.sh"), 0o755);
  await Deno.writeTextFile(join(root, "写真", "deeper", "note.txt"), "note");
  // Enough pieces for file_hash.ts to use its hashing thread.
  await randomFile(
    join(root, "写真"),
    "🎉 party.bin",
    (THREAD_MIN_PIECES + 4) * PIECE + 5,
  );
  // Left out:
  await Deno.symlink(join(root, "a b.txt"), join(root, "link"));
  await Deno.writeTextFile(join(root, "a:b"), "colon");
  await Deno.writeTextFile(join(root, "trail."), "dot");
  await Deno.writeTextFile(join(root, "README.md"), "upper");
  await Deno.writeTextFile(join(root, "Readme.md"), "mixed");
  const fifo = await mkfifo(join(root, "pipe"));
  return { root, fifo };
}

function file(path: string[], size: number, id: string, executable = false) {
  return { path, type: "file", size, executable, id } as ManifestEntry;
}

function folder(path: string[]): ManifestEntry {
  return { path, type: "folder", size: 0, executable: false };
}

/** Checks what every folder scan must satisfy, whatever the tree. */
async function checkConsistent(scanned: ScannedFolder): Promise<void> {
  const { meta, files } = scanned;
  const manifest = decodeManifest(meta.manifest as Uint8Array);
  assertEquals(meta.id, manifestId(manifest));
  assertEquals(
    meta.id,
    createHash("sha256").update(meta.manifest as Uint8Array).digest("hex"),
  );
  assertEquals(meta.name, manifest.name);
  assertEquals(meta.size, files.reduce((n, f) => n + f.meta.size, 0));
  assertEquals(
    meta.pieceHashes,
    concat(files.map((f) => f.meta.pieceHashes)),
    "folder piece hashes are the files' in manifest order",
  );
  const layout = folderLayoutOf(meta);
  assert(layout);
  assertEquals(meta.pieceHashes.length, layout.pieces * HASH_BYTES);
  assertEquals(
    files.map((f) => f.entryPath),
    layout.files.map((laid) => laid.path),
  );
  for (const f of files) {
    assertEquals(f.meta.id, await sha256sum(f.path), f.path);
    assertEquals(f.meta.name, f.entryPath[f.entryPath.length - 1]);
    assertEquals(f.meta.pieceSize, meta.pieceSize);
  }
}

Deno.test("scanFolder() lists a three-level tree exactly, hashes every file and leaves out what cannot be shared, with reasons", async () => {
  await using dir = await tempDir();
  const { root, fifo } = await buildTree(dir.path);
  const progress: [number, number][] = [];
  const scanned = await within(
    scanFolder(root, {
      pieceSize: PIECE,
      onProgress: (done, total) => progress.push([done, total]),
    }),
    LIMIT_MS,
    "scan",
  );
  await checkConsistent(scanned);
  const sum = async (...path: string[]) => await sha256sum(join(root, ...path));
  const manifest = decodeManifest(scanned.meta.manifest as Uint8Array);
  assertEquals(manifest, {
    name: "tree",
    entries: [
      file([".hidden"], 6, await sum(".hidden")),
      file(["README.md"], 5, await sum("README.md")),
      file(["a b.txt"], 3 * PIECE + 17, await sum("a b.txt")),
      file(["empty.txt"], 0, EMPTY_FILE_ID),
      folder(["emptydir"]),
      file(["run.sh"], 18, await sum("run.sh"), true),
      folder(["写真"]),
      folder(["写真", "deeper"]),
      file(
        ["写真", "deeper", "note.txt"],
        4,
        await sum("写真/deeper/note.txt"),
      ),
      file(
        ["写真", "🎉 party.bin"],
        (THREAD_MIN_PIECES + 4) * PIECE + 5,
        await sum("写真/🎉 party.bin"),
      ),
    ],
  });
  assertEquals(scanned.meta.pieceSize, PIECE);
  assertEquals(scanned.files.length, 7);
  assertEquals(
    scanned.files[0].path,
    join(await Deno.realPath(root), ".hidden"),
  );
  const reasons = new Map(
    scanned.skipped.map((
      { path, reason },
    ) => [path.slice(root.length + 1), reason]),
  );
  assertEquals(
    [...reasons.keys()].sort(),
    ["Readme.md", "a:b", "link", ...(fifo ? ["pipe"] : []), "trail."].sort(),
  );
  assertEquals(reasons.get("link"), "symbolic link");
  if (fifo) assertEquals(reasons.get("pipe"), "named pipe (FIFO)");
  assert(reasons.get("a:b")?.includes('contains ":"'), reasons.get("a:b"));
  assert(
    reasons.get("trail.")?.includes("ends in a dot"),
    reasons.get("trail."),
  );
  assert(
    reasons.get("Readme.md")?.startsWith(
      'same name as "README.md" except for letter case',
    ),
    reasons.get("Readme.md"),
  );
  const total = scanned.meta.size;
  assertEquals(progress.at(-1), [total, total]);
  for (let i = 1; i < progress.length; i++) {
    assert(progress[i][0] >= progress[i - 1][0], "progress never goes back");
    assertEquals(progress[i][1], total);
  }
});

Deno.test("scanFolder() of an empty folder is a share of no files", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "nothing");
  await Deno.mkdir(root);
  const scanned = await within(scanFolder(root), LIMIT_MS, "scan");
  await checkConsistent(scanned);
  assertEquals(decodeManifest(scanned.meta.manifest as Uint8Array).entries, []);
  assertEquals([scanned.meta.size, scanned.meta.pieceHashes.length], [0, 0]);
  assertEquals([scanned.files, scanned.skipped], [[], []]);
});

Deno.test("scanFolder() keeps folders down to MAX_PATH_DEPTH and leaves out what is deeper", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "deep");
  const chain = Array.from({ length: MAX_PATH_DEPTH + 1 }, () => "d");
  await Deno.mkdir(join(root, ...chain), { recursive: true });
  await Deno.writeTextFile(join(root, ...chain.slice(0, -1), "last.txt"), "x");
  const scanned = await within(scanFolder(root), LIMIT_MS, "scan");
  await checkConsistent(scanned);
  const entries = decodeManifest(scanned.meta.manifest as Uint8Array).entries;
  assertEquals(entries.length, MAX_PATH_DEPTH);
  assertEquals(entries.at(-1)?.path.length, MAX_PATH_DEPTH);
  assertEquals(scanned.skipped.length, 2, JSON.stringify(scanned.skipped));
  for (const { reason } of scanned.skipped) {
    assertEquals(reason, `more than ${MAX_PATH_DEPTH} folders deep`);
  }
});

Deno.test("scanFolder() refuses a folder whose own name cannot be shared, unless given another", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "bad:name");
  await Deno.mkdir(root);
  await Deno.writeTextFile(join(root, "a.txt"), "a");
  await assertRejects(
    () => scanFolder(root),
    Error,
    "give the share another name",
  );
  const scanned = await within(
    scanFolder(root, { name: "good" }),
    LIMIT_MS,
    "scan",
  );
  await checkConsistent(scanned);
  assertEquals(scanned.meta.name, "good");
  await assertRejects(
    () => scanFolder(join(dir.path, "missing")),
    Error,
    "does not exist",
  );
  await assertRejects(
    () => scanFolder(join(root, "a.txt")),
    Error,
    "is not a folder",
  );
});

Deno.test("scanFolder() stops when its signal aborts", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "tree");
  await Deno.mkdir(root);
  await randomFile(root, "big.bin", 40 * PIECE);
  const controller = new AbortController();
  const scan = scanFolder(root, {
    pieceSize: PIECE,
    signal: controller.signal,
  });
  controller.abort(new Error("stopped"));
  await assertRejects(() => within(scan, LIMIT_MS, "scan"), Error, "stopped");
});

Deno.test("scanFiles() shares several files as one flat folder", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, "x"));
  const a = await randomFile(dir.path, "one.bin", 2 * PIECE + 3);
  const b = await randomFile(join(dir.path, "x"), "two.bin", 5);
  const c = join(dir.path, "x", "tool");
  await Deno.writeTextFile(c, "#!/bin/sh\n");
  await Deno.chmod(c, 0o700);
  const scanned = await within(
    scanFiles([b, c, a], { name: "bundle", pieceSize: PIECE }),
    LIMIT_MS,
    "scan",
  );
  await checkConsistent(scanned);
  assertEquals(decodeManifest(scanned.meta.manifest as Uint8Array), {
    name: "bundle",
    entries: [
      file(["one.bin"], 2 * PIECE + 3, await sha256sum(a)),
      file(["tool"], 10, await sha256sum(c), true),
      file(["two.bin"], 5, await sha256sum(b)),
    ],
  });
  assertEquals(scanned.files.map((f) => f.path), [a, c, b]);
});

Deno.test("scanFiles() refuses two files of the same name, or names equal but for case", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, "x"));
  const a = await randomFile(dir.path, "same.txt", 10);
  const b = await randomFile(join(dir.path, "x"), "same.txt", 10);
  const c = await randomFile(join(dir.path, "x"), "SAME.txt", 10);
  await assertRejects(
    () => scanFiles([a, b], { name: "bundle" }),
    Error,
    "they have the same name",
  );
  await assertRejects(
    () => scanFiles([a, c], { name: "bundle" }),
    Error,
    "differ only in letter case",
  );
  await assertRejects(
    () => scanFiles([a, dir.path], { name: "bundle" }),
    Error,
    "is a folder",
  );
  await assertRejects(
    () => scanFiles([a], { name: "CON" }),
    Error,
    "device name on Windows",
  );
});

Deno.test("scanFolder() lists a name written in NFD in NFC, and leaves out a second one equal to it once normalized", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "accents");
  await Deno.mkdir(root);
  const nfd = "Cafe\u0301.txt";
  await Deno.writeTextFile(join(root, nfd), "decomposed");
  await Deno.writeTextFile(join(root, "Caf\u00e9.txt"), "composed");
  const scanned = await within(scanFolder(root), LIMIT_MS, "scan");
  await checkConsistent(scanned);
  assertEquals(scanned.files.map((f) => f.entryPath), [["Caf\u00e9.txt"]]);
  assertEquals(scanned.skipped.length, 1);
  assert(
    scanned.skipped[0].reason.includes("standard form (NFC)"),
    scanned.skipped[0].reason,
  );
});

Deno.test("folderMeta() leaves out an entry the manifest's rules refuse that the walk let through", () => {
  const meta = (text: string) => ({
    id: createHash("sha256").update(text).digest("hex"),
    name: text,
    size: text.length,
    pieceSize: PIECE,
    pieceHashes: new Uint8Array(createHash("sha256").update(text).digest()),
  });
  const identity = { dev: 0, ino: 0, size: 1, mtime: 0 };
  const files = ["x.txt", "X.txt", "y.txt"].map((name) => ({
    path: `/nowhere/${name}`,
    entryPath: [name],
    meta: meta(name),
    executable: false,
    identity,
  }));
  const skipped: { path: string; reason: string }[] = [];
  const scanned = folderMeta({
    name: "top",
    what: "the test",
    folders: [],
    files,
    skipped,
  }, PIECE);
  assertEquals(scanned.files.map((f) => f.entryPath[0]), ["x.txt", "y.txt"]);
  assertEquals(skipped.length, 1);
  assertEquals(skipped[0].path, "/nowhere/X.txt");
  assert(skipped[0].reason.includes("only in letter case"), skipped[0].reason);
  checkConsistentIds(scanned);
});

function checkConsistentIds(scanned: ScannedFolder): void {
  assertEquals(
    scanned.meta.id,
    manifestId(decodeManifest(scanned.meta.manifest as Uint8Array)),
  );
  assertEquals(
    scanned.meta.pieceHashes,
    concat(scanned.files.map((f) => f.meta.pieceHashes)),
  );
}

/** Bytes of the mixed folder below: two large files and 0 + 1 + … + 39. */
const MIXED_TOTAL = 2 * (THREAD_MIN_PIECES * MIN_PIECE_SIZE + 5) + 1 +
  (39 * 40) / 2;

Deno.test("a folder of many small files and a few large ones, hashed side by side, keeps its files in manifest order and reports progress up to its size", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "mixed");
  await Deno.mkdir(join(root, "b"), { recursive: true });
  const large = THREAD_MIN_PIECES * MIN_PIECE_SIZE + 5;
  await randomFile(root, "a large.bin", large);
  for (let i = 0; i < 40; i++) {
    await randomFile(join(root, "b"), `small ${String(i).padStart(2, "0")}`, i);
  }
  await randomFile(root, "c large.bin", large + 1);
  const progress: number[] = [];
  const scanned = await scanFolder(root, {
    pieceSize: MIN_PIECE_SIZE,
    onProgress: (done, total) => {
      assertEquals(total, MIXED_TOTAL);
      progress.push(done);
    },
  });
  assertEquals(
    scanned.files.map((file) => file.entryPath.join("/")),
    [
      "a large.bin",
      ...Array.from(
        { length: 40 },
        (_, i) => `b/small ${String(i).padStart(2, "0")}`,
      ),
      "c large.bin",
    ],
  );
  for (const file of scanned.files) {
    const bytes = await Deno.readFile(file.path);
    assertEquals(
      file.meta.id,
      createHash("sha256").update(bytes).digest("hex"),
    );
  }
  assert(progress.every((n, i) => i === 0 || n >= progress[i - 1]));
  assertEquals(progress.at(-1), MIXED_TOTAL);
});
