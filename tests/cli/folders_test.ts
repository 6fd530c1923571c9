import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { assertOneLine } from "./_cli.ts";
import { DEFAULT_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import { randomFile, sha256File, tempDir } from "../fixtures.ts";
import {
  READY_TIMEOUT_MS,
  runEntry,
  shareArgs,
  spawnEntry,
} from "../../scripts/_child.ts";
import {
  assertSameTree,
  exists,
  getArgs,
  getFolder,
  interruptedGet,
  received,
  runProgram,
  startSwarm,
  walk,
} from "./_folders.ts";

const KiB = 1024;
const PIECE_SIZE = DEFAULT_PIECE_SIZE;
const MiB = 1024 * KiB;

/** The files of the tree of every kind (the symbolic link aside). */
const TREE_FILES = [
  ".hidden",
  "empty.txt",
  "run me.sh",
  "文档/说明 一.txt",
  "文档/深/🎉 party 🎈.bin",
  "文档/深/big.bin",
];

/**
 * A three-level folder `dir/My tree` with an empty folder, an empty file,
 * an executable, a hidden file, names with spaces, CJK and emoji, a file of
 * several pieces and a symbolic link; every file's mode set.
 */
async function makeTree(dir: string): Promise<string> {
  const root = join(dir, "My tree");
  await Deno.mkdir(join(root, "empty folder"), { recursive: true });
  await Deno.mkdir(join(root, "文档", "深"), { recursive: true });
  await Deno.writeFile(join(root, "empty.txt"), new Uint8Array(0));
  await Deno.writeTextFile(join(root, "run me.sh"), "#!/bin/sh\necho hi\n");
  await Deno.writeTextFile(join(root, ".hidden"), "not shown by ls\n");
  await Deno.writeTextFile(join(root, "文档", "说明 一.txt"), "你好，世界\n");
  await randomFile(join(root, "文档", "深"), "🎉 party 🎈.bin", 5_000);
  await randomFile(join(root, "文档", "深"), "big.bin", 700_000);
  for (const file of TREE_FILES) await Deno.chmod(join(root, file), 0o644);
  await Deno.chmod(join(root, "run me.sh"), 0o755);
  await Deno.symlink("run me.sh", join(root, "link to run"));
  return root;
}

Deno.test("peer share DIR leaves out its symbolic link once; get --json saves the tree byte for byte with modes, lists every file; peer list shows the folder", async () => {
  await using dir = await tempDir();
  const root = await makeTree(dir.path);
  await using swarm = await startSwarm();
  await using sharer = spawnEntry(
    "peer.ts",
    shareArgs(root, swarm.tracker, [], { json: false }),
  );
  const idLine = await sharer.waitForLine(/full ID:/, READY_TIMEOUT_MS);
  const id = idLine.trim().split(/\s+/).pop()!;
  await sharer.waitForLine(/^Serving on/, READY_TIMEOUT_MS);
  const said = [...sharer.stdout, ...sharer.stderr];
  const header = new RegExp(
    `^Sharing My tree/ \\(${TREE_FILES.length} files, \\d+ KiB\\)$`,
  );
  assertEquals(
    said.filter((line) => header.test(line)).length,
    1,
    said.join("\n"),
  );
  assertEquals(
    said.filter((line) => line.includes("link to run")),
    [`  ${join(root, "link to run")}: symbolic link`],
  );
  assert(
    sharer.stderr.includes("Left out 1 entry that cannot be shared:"),
    sharer.stderr.join("\n"),
  );

  const out = join(dir.path, "out");
  const got = await getFolder(id, swarm.tracker, out);
  assertEquals(got.id, id);
  assertEquals(got.path, join(out, "My tree"));
  assertEquals(got.alreadyHere, false);

  // diff -r: the link, left out, is the only difference.
  const diff = await runProgram("diff", ["-r", root, got.path]);
  assertEquals(diff.stderr, "");
  assertEquals(diff.stdout.trim(), `Only in ${root}: link to run`);
  assertEquals(diff.code, 1);
  await assertSameTree(root, got.path);
  const modes = Object.fromEntries(
    (await walk(got.path)).map((entry) => [entry.path, entry.mode]),
  );
  assertEquals(modes["run me.sh"], 0o755);
  assertEquals(modes["文档/深/big.bin"], 0o644);

  const listed = [...got.files!].sort((a, b) => a.path < b.path ? -1 : 1);
  const expected = [];
  for (const path of [...TREE_FILES].sort()) {
    const file = join(root, path);
    expected.push({
      path,
      size: (await Deno.stat(file)).size,
      id: await sha256File(file),
      ...(path === "run me.sh" ? { executable: true } : {}),
    });
  }
  assertEquals(listed, expected);
  assertEquals(got.size, expected.reduce((sum, file) => sum + file.size, 0));

  const list = await runEntry("peer.ts", ["list", "--tracker", swarm.tracker]);
  assertEquals(list.code, 0, list.stderr);
  const row = list.stdout.split("\n").find((line) =>
    line.includes(id.slice(0, 16))
  );
  assert(row?.endsWith(`My tree/ (${TREE_FILES.length} files)`), list.stdout);
  // Its large file is registered on its own too, but found by ID only.
  const rows = list.stdout.trim().split("\n").slice(1);
  assertEquals(rows.length, 1, list.stdout);
});

Deno.test("peer share a.bin b.bin c.txt --as bundle: get saves OUT/bundle with exactly those three files", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, "elsewhere"));
  const files = [
    await randomFile(dir.path, "a.bin", 600_000),
    await randomFile(join(dir.path, "elsewhere"), "b.bin", 40_000),
    join(dir.path, "c.txt"),
  ];
  await Deno.writeTextFile(files[2], "three\n");
  await using swarm = await startSwarm();
  const shared = await swarm.share(files, ["--as", "bundle"]);
  assertEquals(shared.ready.name, "bundle");
  assertEquals(shared.ready.folder, true);
  assertEquals(shared.ready.files, 3);
  assertEquals(shared.ready.skipped, []);

  const out = join(dir.path, "out");
  const got = await getFolder(shared.id, swarm.tracker, out);
  assertEquals(got.path, join(out, "bundle"));
  assertEquals(
    (await walk(got.path)).map((entry) => `${entry.kind} ${entry.path}`),
    ["file a.bin", "file b.bin", "file c.txt"],
  );
  for (const file of files) {
    const name = file.split("/").pop()!;
    assertEquals(
      await Deno.readFile(join(got.path, name)),
      await Deno.readFile(file),
    );
  }
  assertEquals(
    await Array.fromAsync(Deno.readDir(out)).then((e) => e.length),
    1,
  );
});

Deno.test("a second get of a folder into the same --out saves NAME (1) leaving NAME untouched; --force refuses, changing nothing, while NAME holds a file of the user's, and replaces NAME once it holds only the share's files", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "photos");
  await Deno.mkdir(join(root, "2024"), { recursive: true });
  await randomFile(root, "one.jpg", 300_000);
  await randomFile(join(root, "2024"), "two.jpg", 20_000);
  await using swarm = await startSwarm();
  const shared = await swarm.share(root);
  const out = join(dir.path, "out");

  const first = await getFolder(shared.id, swarm.tracker, out);
  assertEquals(first.path, join(out, "photos"));
  // Marks the first copy: it must survive the second get and the forced one.
  const mark = join(first.path, "my note.txt");
  await Deno.writeTextFile(mark, "mine");
  await Deno.writeTextFile(join(first.path, "one.jpg"), "edited");
  const before = await walk(first.path);

  const second = await getFolder(shared.id, swarm.tracker, out);
  assertEquals(second.path, join(out, "photos (1)"));
  assertEquals(second.alreadyHere, false);
  await assertSameTree(root, second.path);
  assertEquals(await walk(first.path), before);
  assertEquals(await Deno.readTextFile(mark), "mine");

  const refused = await runEntry(
    "peer.ts",
    getArgs(shared.id, swarm.tracker, out, ["--force"]),
  );
  assertEquals(refused.code, 1, refused.stderr);
  assertEquals(
    assertOneLine(refused.stderr),
    `Cannot replace the folder ${first.path}: it holds 1 entry the share does not have (my note.txt); --force would delete it. Move it away, or leave out --force to save under a free name.`,
  );
  assertEquals(await walk(first.path), before);
  assertEquals(await Deno.readTextFile(mark), "mine");

  await Deno.remove(mark);
  const forced = await getFolder(shared.id, swarm.tracker, out, ["--force"]);
  assertEquals(forced.path, join(out, "photos"));
  await assertSameTree(root, forced.path);
  assertEquals(
    (await Array.fromAsync(Deno.readDir(out))).map((e) => e.name).sort(),
    ["photos", "photos (1)"],
  );
});

/** A folder `dir/NAME` of `count` random files of `size` bytes, one in a subfolder. */
async function bigFolder(
  dir: string,
  name: string,
  count: number,
  size: number,
): Promise<string> {
  const root = join(dir, name);
  await Deno.mkdir(join(root, "sub"), { recursive: true });
  for (let i = 0; i < count; i++) {
    await randomFile(i === 0 ? join(root, "sub") : root, `f${i}.bin`, size + i);
  }
  return root;
}

Deno.test("a folder get stopped with SIGINT midway resumes from NAME.part/ and fetches less than the whole folder", async () => {
  await using dir = await tempDir();
  const root = await bigFolder(dir.path, "data", 4, 1_500_000);
  await using swarm = await startSwarm();
  const shared = await swarm.share(root, ["--upload-limit", "1M"]);
  const out = join(dir.path, "out");
  const stored = await interruptedGet({
    id: shared.id,
    tracker: swarm.tracker,
    out,
    name: "data",
    bytes: 1 * MiB,
  });
  const got = await getFolder(shared.id, swarm.tracker, out);
  assertEquals(got.path, join(out, "data"));
  await assertSameTree(root, got.path);
  const fetched = received(got.peers);
  assert(fetched > 0, "the rest came from the sharer");
  // Stored bytes are whole pieces, but for one being written at the stop.
  assert(
    fetched <= shared.ready.size - stored + PIECE_SIZE,
    `fetched ${fetched} of ${shared.ready.size} bytes with ${stored} kept: the kept pieces were fetched again`,
  );
  assert(!await exists(join(out, "data.part")));
  assert(!await exists(join(out, "data.part.json")));
});

Deno.test("links planted in NAME.part/ while a folder get is stopped are replaced on resume, never written through", async () => {
  await using dir = await tempDir();
  const root = await bigFolder(dir.path, "data", 4, 1_200_000);
  // What the planted links point to: must come out unchanged.
  const outside = join(dir.path, "outside");
  await Deno.mkdir(outside);
  const victim = join(outside, "victim.bin");
  await Deno.writeTextFile(victim, "the user's own file\n");
  await Deno.chmod(victim, 0o600);
  const victimDir = join(outside, "folder");
  await Deno.mkdir(victimDir);
  // Named as the file the download writes below `sub/`.
  await Deno.writeTextFile(join(victimDir, "f0.bin"), "also the user's\n");
  await Deno.chmod(join(victimDir, "f0.bin"), 0o640);
  const before = await walk(outside);
  const sums = await Promise.all(
    before.filter((e) => e.kind === "file").map((e) =>
      sha256File(join(outside, e.path))
    ),
  );

  await using swarm = await startSwarm();
  const shared = await swarm.share(root, ["--upload-limit", "1M"]);
  const out = join(dir.path, "out");
  await interruptedGet({
    id: shared.id,
    tracker: swarm.tracker,
    out,
    name: "data",
    bytes: 512 * KiB,
  });
  const part = join(out, "data.part");
  // A file is made at its first write: f1.bin may not be there yet.
  await Deno.remove(join(part, "f1.bin")).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  await Deno.symlink(victim, join(part, "f1.bin"));
  await Deno.remove(join(part, "sub"), { recursive: true });
  await Deno.symlink(victimDir, join(part, "sub"));

  const got = await getFolder(shared.id, swarm.tracker, out);
  await assertSameTree(root, got.path);
  assertEquals(await walk(outside), before);
  assertEquals(
    await Promise.all(
      before.filter((e) => e.kind === "file").map((e) =>
        sha256File(join(outside, e.path))
      ),
    ),
    sums,
  );
  assertEquals(await Deno.readTextFile(victim), "the user's own file\n");
});

Deno.test("a folder get takes a large file's pieces from a peer sharing that file alone too; that file's own ID is got from the folder's sharer", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "album");
  await Deno.mkdir(root);
  const big = await randomFile(root, "big.flac", 3 * MiB);
  await randomFile(root, "cover.jpg", 600_000);
  await randomFile(root, "notes.bin", 400_000);
  const alone = join(dir.path, "alone");
  await Deno.mkdir(alone);
  await Deno.copyFile(big, join(alone, "big.flac"));
  const bigId = await sha256File(big);

  {
    await using swarm = await startSwarm();
    const a = await swarm.share(root, ["--upload-limit", "1M"]);
    const b = await swarm.share(join(alone, "big.flac"));
    assertEquals(b.id, bigId);
    const out = join(dir.path, "out");
    const got = await getFolder(a.id, swarm.tracker, out);
    await assertSameTree(root, got.path);
    const from = (address: string) =>
      got.peers.find((peer) => peer.address === address)?.bytes ?? 0;
    assert(from(a.address) > 0, JSON.stringify(got.peers));
    assert(from(b.address) > 0, JSON.stringify(got.peers));
  }

  await using swarm = await startSwarm();
  await swarm.share(root);
  const out = join(dir.path, "by-id");
  const got = await getFolder(bigId, swarm.tracker, out, ["--wait", "20s"]);
  assertEquals(got.path, join(out, "big.flac"));
  assertEquals(got.files, undefined);
  assertEquals(await sha256File(got.path), bigId);
});

Deno.test("peer share of a missing path, or of a folder with --as, fails with one line and no stack trace", async () => {
  await using dir = await tempDir();
  const missing = await runEntry("peer.ts", [
    "share",
    join(dir.path, "nothing here"),
    "--tracker",
    "192.0.2.1:5000",
  ], { timeoutMs: 15_000 });
  assertEquals(missing.code, 2, missing.stderr);
  assertEquals(
    assertOneLine(missing.stderr),
    `Cannot share "${join(dir.path, "nothing here")}": there is no such file.`,
  );

  const folder = join(dir.path, "a folder");
  await Deno.mkdir(folder);
  await Deno.writeTextFile(join(folder, "x.txt"), "x");
  const asOne = await runEntry("peer.ts", [
    "share",
    folder,
    "--as",
    "x",
    "--tracker",
    "192.0.2.1:5000",
  ], { timeoutMs: 15_000 });
  assertEquals(asOne.code, 2, asOne.stderr);
  assertEquals(
    assertOneLine(asOne.stderr),
    `Cannot share "${folder}" with --as: it is a folder. Give files with --as, or share the folder alone.`,
  );
});

Deno.test("peer share --as of two files of one name, or under a name with a '/', is a usage error: one sentence, exit 2", async () => {
  await using dir = await tempDir();
  for (const sub of ["a", "b"]) {
    await Deno.mkdir(join(dir.path, sub));
    await Deno.writeTextFile(join(dir.path, sub, "x.txt"), sub);
  }
  const a = join(dir.path, "a", "x.txt");
  const b = join(dir.path, "b", "x.txt");
  const twins = await runEntry("peer.ts", [
    "share",
    a,
    b,
    "--as",
    "both",
    "--tracker",
    "192.0.2.1:5000",
  ], { timeoutMs: 15_000 });
  assertEquals(twins.code, 2, twins.stderr);
  assertEquals(
    assertOneLine(twins.stderr),
    `Cannot share "${a}" and "${b}" together: they have the same name; rename one.`,
  );
  const escaping = await runEntry("peer.ts", [
    "share",
    a,
    "--as",
    "../evil",
    "--tracker",
    "192.0.2.1:5000",
  ], { timeoutMs: 15_000 });
  assertEquals(escaping.code, 2, escaping.stderr);
  const line = assertOneLine(escaping.stderr);
  assert(
    line.startsWith('Cannot share the files under the name "../evil"'),
    line,
  );
});
