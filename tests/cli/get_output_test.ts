/**
 * Where `peer get` saves (`--out`, `-o/--output`), what it leaves behind
 * when it fails, and what it says when stopped: real tracker, sharer and
 * getter processes, each with its own temporary home.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { assertOneLine } from "./_cli.ts";
import { pollUntil, randomFile, sha256File, tempDir } from "../fixtures.ts";
import {
  type Child,
  READY_TIMEOUT_MS,
  readyLine,
  runEntry,
  type RunResult,
  shareArgs,
  spawnEntry,
} from "../../scripts/_child.ts";

/** A file ID nobody shares. */
const UNSHARED_ID = "ab".repeat(32);
/** Slow enough that a get of LARGE_BYTES can be stopped halfway. */
const SLOW_UPLOAD = "64K";
/** A file that takes a few seconds at SLOW_UPLOAD. */
const LARGE_BYTES = 1_000_000;
/** How long a stopped get gets to exit. */
const STOP_TIMEOUT_MS = 15_000;

/** Where this Deno keeps its cache, so a child with another HOME finds it. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? JSON.parse(
  new TextDecoder().decode(
    (await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json"],
      stdout: "piped",
      stderr: "null",
    }).output()).stdout,
  ),
).denoDir;

/** Processes of one test, all with `home` as their home and data folder. */
class Peers {
  readonly home: string;
  readonly #children: Child[] = [];

  constructor(home: string) {
    this.home = home;
  }

  /** The environment of every process: its own home, started in `cwd`. */
  env(cwd?: string): Record<string, string> {
    return {
      HOME: this.home,
      P2P_HOME: this.home,
      XDG_DATA_HOME: this.home,
      XDG_CONFIG_HOME: this.home,
      XDG_CACHE_HOME: this.home,
      DENO_DIR,
      // As `deno task` sets it: the folder relative paths mean.
      ...(cwd ? { INIT_CWD: cwd } : {}),
    };
  }

  /** A tracker on 127.0.0.1; its address. */
  async tracker(): Promise<string> {
    const child = this.#own(spawnEntry(
      "tracker.ts",
      ["--host", "127.0.0.1", "--port", "0"],
      { env: this.env() },
    ));
    const line = await readyLine(child, /listening on/);
    return line.slice(line.lastIndexOf(" ") + 1);
  }

  /** A sharer of `file` once it serves it; its `--json` line. */
  async share(
    file: string,
    tracker: string,
    extra: string[] = [],
  ): Promise<{ id: string; link: string }> {
    const child = this.#own(
      spawnEntry("peer.ts", shareArgs(file, tracker, extra), {
        env: this.env(),
      }),
    );
    return JSON.parse(await readyLine(child, /^\{/));
  }

  /** `peer ARGS` run to the end in `cwd`. */
  run(args: string[], cwd: string): Promise<RunResult> {
    return runEntry("peer.ts", args, { cwd, env: this.env(cwd) });
  }

  /** `peer ARGS` started in `cwd`. */
  spawn(args: string[], cwd: string): Child {
    return this.#own(spawnEntry("peer.ts", args, { cwd, env: this.env(cwd) }));
  }

  #own(child: Child): Child {
    this.#children.push(child);
    return child;
  }

  /** Stops every process started. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.#children.map((child) => child.stop()));
  }
}

/** The names in `folder`, sorted. */
async function names(folder: string): Promise<string[]> {
  const found = [];
  for await (const entry of Deno.readDir(folder)) found.push(entry.name);
  return found.sort();
}

/** True if something is at `path`. */
async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("peer get -o NAME saves in the current folder, or in --out when given; -o an existing folder is refused with exit 2", async () => {
  await using dir = await tempDir();
  await using peers = new Peers(join(dir.path, "home"));
  const work = join(dir.path, "work");
  await Deno.mkdir(join(work, "target"), { recursive: true });
  const file = await randomFile(dir.path, "source.bin", 300_000);
  const id = await sha256File(file);
  const tracker = await peers.tracker();
  await peers.share(file, tracker);
  const get = (extra: string[]) =>
    peers.run([
      "get",
      id,
      "--tracker",
      tracker,
      "--wait",
      "0",
      "--quiet",
      ...extra,
    ], work);

  const mine = await get(["-o", "mine.bin"]);
  assertEquals(mine.code, 0, mine.stderr);
  assertEquals(mine.stdout.trim(), "mine.bin");
  assertEquals(await sha256File(join(work, "mine.bin")), id);
  // Not into the default --out folder.
  assertEquals(await names(work), ["mine.bin", "target"]);

  const inOut = await get(["--out", "dl", "-o", "sub/x.bin"]);
  assertEquals(inOut.code, 0, inOut.stderr);
  assertEquals(await sha256File(join(work, "dl", "sub", "x.bin")), id);

  for (const output of ["target", join(work, "target")]) {
    const refused = await get(["-o", output]);
    assertEquals(refused.code, 2, refused.stderr);
    assertEquals(
      assertOneLine(refused.stderr),
      `--output names the file to save, not a folder ("${output}"); use --out DIR for the folder.`,
    );
    assertEquals(refused.stdout, "");
  }
  // Nothing saved beside or inside the folder.
  assertEquals(await names(work), ["dl", "mine.bin", "target"]);
  assertEquals(await names(join(work, "target")), []);
});

Deno.test("a failed peer get removes the folders it created and saved nothing in, never one that was there", async () => {
  await using dir = await tempDir();
  await using peers = new Peers(join(dir.path, "home"));
  const work = join(dir.path, "work");
  await Deno.mkdir(join(work, "was-here"), { recursive: true });
  const file = await randomFile(dir.path, "private.bin", 100_000);
  const tracker = await peers.tracker();
  const { link } = await peers.share(file, tracker, ["--private"]);
  const at = link.indexOf("/priv/") + "/priv/".length;
  const wrongLink = link.slice(0, at) + (link[at] === "A" ? "B" : "A") +
    link.slice(at + 1);
  const byId = ["get", UNSHARED_ID, "--tracker", tracker, "--wait", "0"];

  const unknown = await peers.run([...byId, "--out", "o4/deeper"], work);
  assertEquals(unknown.code, 1, unknown.stderr);
  assert(unknown.stderr.includes("No file with ID"), unknown.stderr);
  const wrong = await peers.run(
    ["get", wrongLink, "--wait", "0", "--out", "o5"],
    work,
  );
  assertEquals(wrong.code, 1, wrong.stderr);
  const named = await peers.run([...byId, "-o", "o6/x.bin"], work);
  assertEquals(named.code, 1, named.stderr);
  const existing = await peers.run([...byId, "--out", "was-here"], work);
  assertEquals(existing.code, 1, existing.stderr);
  assertEquals(await names(work), ["was-here"]);
});

Deno.test("a peer get stopped with Ctrl-C names the .part file or folder it keeps, or says nothing arrived", async () => {
  await using dir = await tempDir();
  await using peers = new Peers(join(dir.path, "home"));
  const work = join(dir.path, "work");
  await Deno.mkdir(work, { recursive: true });
  const file = await randomFile(dir.path, "slow.bin", LARGE_BYTES);
  const tracker = await peers.tracker();
  const { id } = await peers.share(file, tracker, [
    "--upload-limit",
    SLOW_UPLOAD,
  ]);

  const getting = peers.spawn(
    ["get", id, "--tracker", tracker, "--out", ".", "--quiet"],
    work,
  );
  const part = join(work, "slow.bin.part");
  await pollUntil(
    READY_TIMEOUT_MS,
    async () => ((await Deno.stat(part).catch(() => undefined))?.size ?? 0) > 0,
  );
  const stopped = await getting.stop("SIGINT", STOP_TIMEOUT_MS);
  assertEquals(stopped.code, 130, getting.stderr.join("\n"));
  assertEquals(
    assertOneLine(getting.stderr.join("\n")),
    `Download stopped; the partial file is kept in ${part}: run the same get again to resume.`,
  );
  assert(await exists(part));

  const folder = join(dir.path, "album");
  await Deno.mkdir(folder);
  await randomFile(folder, "track.bin", LARGE_BYTES);
  const album = await peers.share(folder, tracker, [
    "--upload-limit",
    SLOW_UPLOAD,
  ]);
  const gettingFolder = peers.spawn(
    ["get", album.id, "--tracker", tracker, "--out", "dl", "--quiet"],
    work,
  );
  const folderPart = join(work, "dl", "album.part");
  await pollUntil(READY_TIMEOUT_MS, () => exists(folderPart));
  const folderStopped = await gettingFolder.stop("SIGINT", STOP_TIMEOUT_MS);
  assertEquals(folderStopped.code, 130, gettingFolder.stderr.join("\n"));
  assertEquals(
    assertOneLine(gettingFolder.stderr.join("\n")),
    `Download stopped; the partial folder is kept in ${folderPart}: run the same get again to resume.`,
  );

  // Waiting for a peer, nothing found yet: the folder it made goes too.
  const waiting = peers.spawn(
    ["get", UNSHARED_ID, "--tracker", tracker, "--out", "o7", "--quiet"],
    work,
  );
  await pollUntil(READY_TIMEOUT_MS, () => exists(join(work, "o7")));
  // The tracker has answered (and the signal handler is in place) by now.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const gaveUp = await waiting.stop("SIGINT", STOP_TIMEOUT_MS);
  assertEquals(gaveUp.code, 130, waiting.stderr.join("\n"));
  assertEquals(
    assertOneLine(waiting.stderr.join("\n")),
    "Download stopped before anything arrived.",
  );
  assert(!await exists(join(work, "o7")));
});
