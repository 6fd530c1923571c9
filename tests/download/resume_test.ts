import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  randomFile,
  sha256File,
  sharer,
  tempDir,
  testTracker,
} from "../fixtures.ts";
import {
  runEntry,
  spawnEntry,
  spawnSharer,
  spawnTracker,
} from "../../scripts/_child.ts";
import {
  download,
  DownloadError,
  type DownloadOptions,
} from "../../lib/download/download.ts";
import { toFrame } from "../../lib/protocol/messages.ts";
import { secureAccept } from "../../lib/net/secure_transport.ts";
import { DEFAULT_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import type { Address } from "../../lib/net/connection.ts";

const MiB = 1024 * 1024;

function sum(peers: { bytes: number }[]): number {
  return peers.reduce((total, peer) => total + peer.bytes, 0);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Runs a download and cancels it once `bytes` have arrived. */
async function interrupted(
  id: string,
  options: DownloadOptions,
  bytes: number,
): Promise<void> {
  const stop = new AbortController();
  await assertRejects(() =>
    download(id, {
      ...options,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.received >= bytes) stop.abort();
      },
    })
  );
}

/** A shared random file and a download of it stopped part way. */
interface Interrupted extends AsyncDisposable {
  /** The shared file. */
  source: string;
  /** Its ID. */
  id: string;
  /** The download folder, holding the `.part` and its record. */
  out: string;
  /** The tracker that lists the sharer. */
  tracker: Address;
  /** Downloads into `out` again (a resume) from the same sharer. */
  resume(): ReturnType<typeof download>;
}

/**
 * Shares a new random file of `size` bytes named `name` in `dir` and runs a
 * download of it into `dir/out` until `bytes` have arrived; disposing stops
 * the sharer and the tracker.
 */
async function interruptedDownload(
  dir: string,
  name: string,
  size: number,
  bytes: number,
): Promise<Interrupted> {
  await using stack = new AsyncDisposableStack();
  const tracker = stack.use(testTracker());
  const source = await randomFile(dir, name, size);
  const node = stack.use(await sharer(tracker.address, [source]));
  const id = node.shared()[0].id;
  const out = join(dir, "out");
  const options = { tracker: tracker.address, outDir: out };
  await interrupted(id, options, bytes);
  const owned = stack.move();
  return {
    source,
    id,
    out,
    tracker: tracker.address,
    resume: () => download(id, options),
    [Symbol.asyncDispose]: () => owned.disposeAsync(),
  };
}

Deno.test("an interrupted download resumes and fetches only the missing pieces", async () => {
  await using dir = await tempDir();
  const size = 16 * MiB;
  await using run = await interruptedDownload(
    dir.path,
    "big.bin",
    size,
    6 * MiB,
  );
  const { id, out } = run;
  assert(await exists(join(out, "big.bin.part")), "the .part is kept");
  assert(
    await exists(join(out, "big.bin.part.json")),
    "the resume record is kept",
  );
  assert(!await exists(join(out, "big.bin")), "nothing under the real name");
  const result = await run.resume();
  assertEquals(await sha256File(result.path), id);
  const fetched = sum(result.peers);
  assert(fetched <= size - 6 * MiB, `fetched ${fetched} again`);
  assert(fetched > 0);
  assert(!await exists(join(out, "big.bin.part")));
  assert(!await exists(join(out, "big.bin.part.json")));
});

Deno.test("a resume reports its check of the .part, from 0 before it starts, before the report of what the .part held", async () => {
  await using dir = await tempDir();
  const size = 40 * MiB;
  await using run = await interruptedDownload(
    dir.path,
    "big.bin",
    size,
    6 * MiB,
  );
  const reports: { checking?: number; received: number }[] = [];
  await download(run.id, {
    tracker: run.tracker,
    outDir: run.out,
    onProgress: (p) => {
      if (p.waiting) return;
      if (p.checking) assertEquals(p.checking.total, size);
      reports.push({ checking: p.checking?.done, received: p.received });
    },
  });
  const checks = reports.findIndex((report) => report.checking === undefined);
  assert(checks > 0, "the check is reported");
  assertEquals(reports[0], { checking: 0, received: 0 });
  for (let at = 1; at < checks; at++) {
    assert(reports[at].checking! >= reports[at - 1].checking!, "it goes on");
    assert(reports[at].checking! <= size);
    assertEquals(reports[at].received, 0, "nothing counted while checked");
  }
  assert(reports[checks].received >= 6 * MiB, "then what the .part held");
  for (const report of reports.slice(checks)) {
    assertEquals(report.checking, undefined, "checked once");
  }
});

Deno.test("a resume stopped while its .part is checked stops, not downloads the rest (Ctrl-C before the first request)", async () => {
  await using dir = await tempDir();
  await using run = await interruptedDownload(
    dir.path,
    "big.bin",
    16 * MiB,
    6 * MiB,
  );
  const stop = new AbortController();
  let atStop = 0;
  let received = 0;
  // Verified pieces of the .part are reported before any peer is linked.
  await assertRejects(() =>
    download(run.id, {
      tracker: run.tracker,
      outDir: run.out,
      signal: stop.signal,
      onProgress: (p) => {
        received = p.received;
        if (p.received > 0 && !stop.signal.aborted) {
          atStop = p.received;
          stop.abort();
        }
      },
    })
  );
  assertEquals(received, atStop, "no piece is fetched once stopped");
  assert(!await exists(join(run.out, "big.bin")), "nothing saved");
  assert(await exists(join(run.out, "big.bin.part")), "the .part is kept");
});

Deno.test("a damaged .part and resume record are detected and the damaged pieces fetched again", async () => {
  await using dir = await tempDir();
  const size = 8 * MiB;
  await using run = await interruptedDownload(dir.path, "d.bin", size, 4 * MiB);
  const part = join(run.out, "d.bin.part");
  {
    using file = await Deno.open(part, { write: true });
    await file.seek(DEFAULT_PIECE_SIZE + 100, Deno.SeekMode.Start);
    await file.write(new Uint8Array(1000).fill(0xee));
  }
  await Deno.writeTextFile(part + ".json", "\u0000garbage");
  const result = await run.resume();
  assertEquals(await sha256File(result.path), run.id);
  const fetched = sum(result.peers);
  assert(fetched >= DEFAULT_PIECE_SIZE, "the damaged piece was fetched again");
  assert(fetched < size, `fetched ${fetched}: the good pieces were kept`);
});

Deno.test("a resumed .part is checked piece by piece on two threads: exactly its damaged pieces are fetched again", async () => {
  await using dir = await tempDir();
  // Enough pieces for the hashing thread to start and claim some.
  const pieces = 256;
  await using run = await interruptedDownload(
    dir.path,
    "r.bin",
    pieces * DEFAULT_PIECE_SIZE,
    2 * MiB,
  );
  // The whole file in the .part, but for one byte in each damaged piece.
  const part = join(run.out, "r.bin.part");
  await Deno.copyFile(run.source, part);
  const damaged = [0, 17, 200, pieces - 1];
  {
    using file = await Deno.open(part, { read: true, write: true });
    for (const index of damaged) {
      const at = index * DEFAULT_PIECE_SIZE + 1234;
      const byte = new Uint8Array(1);
      await file.seek(at, Deno.SeekMode.Start);
      await file.read(byte);
      byte[0] ^= 0xff;
      await file.seek(at, Deno.SeekMode.Start);
      await file.write(byte);
    }
  }
  const result = await run.resume();
  assertEquals(await sha256File(result.path), run.id);
  assertEquals(sum(result.peers), damaged.length * DEFAULT_PIECE_SIZE);
});

Deno.test("a download continues with the peers it knows when the tracker goes away", async () => {
  await using dir = await tempDir();
  const tracker = testTracker();
  const source = await randomFile(dir.path, "t.bin", 8 * MiB);
  await using node = await sharer(tracker.address, [source]);
  const id = node.shared()[0].id;
  let closing: Promise<void> | undefined;
  const result = await download(id, {
    tracker: tracker.address,
    outDir: join(dir.path, "out"),
    onProgress: () => closing ??= tracker.close(),
  });
  await closing;
  assertEquals(await sha256File(result.path), id);
});

Deno.test("download() skips itself, duplicates and port 0 in an answer of 10,000 peers", async () => {
  await using dir = await tempDir();
  await using realTracker = testTracker();
  const source = await randomFile(dir.path, "p.bin", 2 * MiB);
  await using node = await sharer(realTracker.address, [source]);
  const meta = node.shared()[0];
  const self = { host: "127.0.0.1", port: 1 };
  const peers = [
    self,
    { host: "127.0.0.1", port: 0 },
    node.address,
    node.address,
    ...Array.from({ length: 9_996 }, () => self),
  ];
  // A tracker that answers every query with that list (its JSON is over the
  // 64 KiB a request may be, so it is written by hand).
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { header, binary } = toFrame({ type: "file", meta, peers: [] });
  const json = new TextEncoder().encode(
    JSON.stringify({ ...header, peers, binary: binary.length }),
  );
  const answer = new Uint8Array(4 + json.length + binary.length);
  new DataView(answer.buffer).setUint32(0, json.length);
  answer.set(json, 4);
  answer.set(binary, 4 + json.length);
  const serving = (async () => {
    const socket = await listener.accept();
    try {
      // Encrypted like a real tracker's answer.
      const conn = (await secureAccept(socket))?.stream ?? socket;
      await conn.read(new Uint8Array(65536));
      await conn.write(answer);
      await conn.read(new Uint8Array(1));
    } finally {
      socket.close();
    }
  })().catch(() => {});
  const result = await download(meta.id, {
    tracker: { host: "127.0.0.1", port: listener.addr.port },
    outDir: join(dir.path, "out"),
    self: [self],
  });
  await serving;
  assertEquals(await sha256File(result.path), meta.id);
  assertEquals(result.peers.map((p) => p.address), [
    `127.0.0.1:${node.address.port}`,
  ]);
});

Deno.test("a full disk stops the download with a clear error, keeps the .part, and the same get resumes once there is room", async (t) => {
  await using dir = await tempDir();
  const mount = join(dir.path, "small");
  await Deno.mkdir(mount);
  const mounted = await run("mount", [
    "-t",
    "tmpfs",
    "-o",
    "size=3m",
    "tmpfs",
    mount,
  ]);
  if (!mounted) {
    // Needs root for a small tmpfs; CI and developer machines run as root.
    console.warn("skipped: cannot mount a tmpfs here");
    await t.step({
      name: "needs mount(8) as root",
      ignore: true,
      fn: () => {},
    });
    return;
  }
  try {
    await using tracker = testTracker();
    const source = await randomFile(dir.path, "f.bin", 5 * MiB);
    await using node = await sharer(tracker.address, [source]);
    const id = node.shared()[0].id;
    const error = await assertRejects(
      () => download(id, { tracker: tracker.address, outDir: mount }),
      DownloadError,
      "the disk is full",
    );
    assert(error.message.includes(mount), error.message);
    assert(await exists(join(mount, "f.bin.part")));
    assert(!await exists(join(mount, "f.bin")));
    const remount = await new Deno.Command("mount", {
      args: ["-o", "remount,size=16m", mount],
    }).output();
    assert(remount.success);
    const result = await download(id, {
      tracker: tracker.address,
      outDir: mount,
    });
    assertEquals(await sha256File(result.path), id);
    assert(
      sum(result.peers) < 5 * MiB,
      "pieces written before the disk filled were kept",
    );
  } finally {
    await new Deno.Command("umount", { args: [mount] }).output();
  }
});

function getArgs(id: string, tracker: string, out: string): string[] {
  return ["get", id, "--json", "--tracker", tracker, "--out", out];
}

Deno.test("SIGTERM during peer get exits promptly keeping NAME.part and its record; the same get then completes", async () => {
  await using dir = await tempDir();
  const source = await randomFile(dir.path, "s.bin", 3 * MiB);
  const tracker = await spawnTracker();
  const sharer = await spawnSharer(source, tracker.address);
  const out = join(dir.path, "out");
  try {
    Deno.kill(sharer.child.pid, "SIGSTOP");
    const get = spawnEntry("peer.ts", getArgs(sharer.id, tracker.address, out));
    const deadline = Date.now() + 20_000;
    while (
      !await exists(join(out, "s.bin.part.json")) && Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const sent = performance.now();
    const status = await get.stop("SIGTERM", 10_000);
    assert(performance.now() - sent < 3_000, "exited promptly");
    assert(status.code !== 0);
    assert(await exists(join(out, "s.bin.part")));
    assert(await exists(join(out, "s.bin.part.json")));
    Deno.kill(sharer.child.pid, "SIGCONT");
    const again = await runEntry(
      "peer.ts",
      getArgs(sharer.id, tracker.address, out),
      {
        timeoutMs: 60_000,
      },
    );
    assertEquals(again.code, 0, again.stderr);
    assertEquals(await sha256File(join(out, "s.bin")), sharer.id);
  } finally {
    try {
      Deno.kill(sharer.child.pid, "SIGCONT");
    } catch {
      // Gone.
    }
    await sharer.child.stop();
    await tracker.child.stop();
  }
});

Deno.test("peer get SIGKILLed at a random moment, then run again, gives the right file", async () => {
  await using dir = await tempDir();
  const source = await randomFile(dir.path, "k.bin", 96 * MiB);
  const tracker = await spawnTracker();
  const sharer = await spawnSharer(source, tracker.address);
  const out = join(dir.path, "out");
  try {
    const get = spawnEntry("peer.ts", getArgs(sharer.id, tracker.address, out));
    await new Promise((resolve) =>
      setTimeout(resolve, 200 + Math.random() * 600)
    );
    await get.stop("SIGKILL");
    // If the first run finished before the kill, the second finds it there.
    const finishedFirst = await exists(join(out, "k.bin"));
    const again = await runEntry(
      "peer.ts",
      getArgs(sharer.id, tracker.address, out),
      {
        timeoutMs: 60_000,
      },
    );
    assertEquals(again.code, 0, again.stderr);
    const report = JSON.parse(again.stdout.trim().split("\n").pop()!);
    assertEquals(await sha256File(report.path), sharer.id);
    assertEquals(report.path, join(out, "k.bin"));
    assertEquals(report.alreadyHere, finishedFirst);
    assert(!await exists(join(out, "k.bin.part")));
  } finally {
    await sharer.child.stop();
    await tracker.child.stop();
  }
});

Deno.test("two peer get of one ID at once into one folder do not corrupt each other", async () => {
  await using dir = await tempDir();
  const source = await randomFile(dir.path, "c.bin", 24 * MiB);
  const tracker = await spawnTracker();
  const sharer = await spawnSharer(source, tracker.address);
  const out = join(dir.path, "out");
  try {
    const results = await Promise.all(
      [1, 2].map(() =>
        runEntry("peer.ts", getArgs(sharer.id, tracker.address, out), {
          timeoutMs: 60_000,
        })
      ),
    );
    const ok = results.filter((r) => r.code === 0);
    assert(ok.length >= 1, results.map((r) => r.stderr).join("\n"));
    for (const result of results) {
      if (result.code !== 0) {
        assert(result.stderr.includes("Another download"), result.stderr);
      }
    }
    for (const entry of Deno.readDirSync(out)) {
      assert(!entry.name.endsWith(".part"), `left ${entry.name}`);
      assertEquals(
        await sha256File(join(out, entry.name)),
        sharer.id,
        entry.name,
      );
    }
  } finally {
    await sharer.child.stop();
    await tracker.child.stop();
  }
});

/** Runs a command; true if it exited 0 (false if it is not installed). */
async function run(command: string, args: string[]): Promise<boolean> {
  const result = await output(command, {
    args,
    stdout: "null",
    stderr: "null",
  });
  return result?.success ?? false;
}

/**
 * A command's output, or undefined if it cannot be started: a missing
 * program makes `output()` throw at once rather than reject.
 */
async function output(
  command: string,
  options: Deno.CommandOptions,
): Promise<Deno.CommandOutput | undefined> {
  try {
    return await new Deno.Command(command, options).output();
  } catch {
    return undefined;
  }
}

/**
 * An exFAT file system (no hard links) mounted through FUSE on a loop
 * device at `mount`, or undefined where that is impossible (not root, no
 * exfatprogs/exfat-fuse, no FUSE).
 */
async function mountExfat(
  image: string,
  mount: string,
): Promise<AsyncDisposable | undefined> {
  await Deno.writeFile(image, new Uint8Array(0));
  await Deno.truncate(image, 32 * MiB);
  if (!await run("mkfs.exfat", [image])) return undefined;
  const losetup = await output("losetup", {
    args: ["-f", "--show", image],
    stderr: "null",
  });
  if (!losetup?.success) return undefined;
  const device = new TextDecoder().decode(losetup.stdout).trim();
  if (!await run("mount.exfat-fuse", [device, mount])) {
    await run("losetup", ["-d", device]);
    return undefined;
  }
  return {
    [Symbol.asyncDispose]: async () => {
      await run("umount", [mount]);
      await run("losetup", ["-d", device]);
    },
  };
}

Deno.test("on a file system without hard links (exFAT) a download is saved under a free name and never replaces a file", async (t) => {
  await using dir = await tempDir();
  const mount = join(dir.path, "exfat");
  await Deno.mkdir(mount);
  await using mounted = await mountExfat(join(dir.path, "exfat.img"), mount);
  if (!mounted) {
    // Needs root, exfatprogs and exfat-fuse (Debian packages).
    console.warn("skipped: cannot mount an exFAT file system here");
    await t.step({
      name: "needs mkfs.exfat, losetup and mount.exfat-fuse as root",
      ignore: true,
      fn: () => {},
    });
    return;
  }
  // The premise: link(2) fails here.
  await Deno.writeTextFile(join(mount, "probe"), "x");
  await assertRejects(() =>
    Deno.link(join(mount, "probe"), join(mount, "probe2"))
  );
  await using tracker = testTracker();
  const source = await randomFile(dir.path, "f.bin", 3 * MiB + 7);
  await using node = await sharer(tracker.address, [source]);
  const id = node.shared()[0].id;
  await Deno.writeTextFile(join(mount, "f.bin"), "the user's own file");
  const first = await download(id, { tracker: tracker.address, outDir: mount });
  assertEquals(first.path, join(mount, "f (1).bin"));
  assertEquals(await sha256File(first.path), id);
  assertEquals(
    await Deno.readTextFile(join(mount, "f.bin")),
    "the user's own file",
  );
  // Edited since: not the file any more, so the next get saves another copy
  // (an unchanged `f (1).bin` would be found as already there).
  await Deno.writeTextFile(first.path, "edited");
  const second = await download(id, {
    tracker: tracker.address,
    outDir: mount,
  });
  assertEquals(second.path, join(mount, "f (2).bin"));
  assertEquals(await sha256File(second.path), id);
  assertEquals(await Deno.readTextFile(first.path), "edited");
  for await (const entry of Deno.readDir(mount)) {
    assert(!entry.name.includes(".part"), `left behind: ${entry.name}`);
  }
});
