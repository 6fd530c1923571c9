/**
 * `deno task compile`: builds `dist/tracker` and `dist/peer` with
 * `deno compile`, each with the narrowest permissions it needs, then runs
 * `dist/peer --help` to prove the binary works.
 *
 * `deno compile` needs a Deno runtime (denort) to embed. It downloads one
 * the first time unless `DENORT_BIN` names a runtime file; this script
 * checks for either before trying, so offline machines get a clear reason
 * instead of a network error.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** One binary to build. */
export interface Target {
  /** Output name inside `dist/`. */
  name: string;
  /** Entry file, relative to the repository root. */
  entry: string;
  /** Permissions baked into the binary. */
  permissions: string[];
  /** Modules loaded at run time (Workers) that must be embedded too. */
  include?: string[];
  /** Runtime flags baked into the executable (as in its `deno task`). */
  runtimeFlags?: string[];
}

/**
 * V8 flags the peer runs with. A 1 MB semi-space keeps the young generation
 * from growing to its 16 MB default during long transfers, and
 * `--optimize-for-size` makes the old generation grow less eagerly: `peer
 * get` of 4 GiB from 4 sharers peaked at 110-124 MiB without them and 93 MiB
 * with them, at the same speed (issue #4).
 *
 * `--no-opt --no-maglev` leave JavaScript to the interpreter and the baseline
 * compiler: the peer's hot path is native (hashing, sockets, files), and the
 * optimizing compilers cost memory for their code and work: the same 4 GiB
 * get peaked at 92 MiB with them off against 102 MiB on, in the same time
 * (5.96 s from 1 sharer both ways; 6.22 against 6.18 s from 4).
 */
export const PEER_V8_FLAGS = [
  "--v8-flags=--max-semi-space-size=1,--optimize-for-size,--no-opt,--no-maglev",
];

/** What we build: the tracker only talks TCP; the peer also reads, writes files and reads P2P_TRACKER. */
export const TARGETS: readonly Target[] = [
  { name: "tracker", entry: "tracker.ts", permissions: ["--allow-net"] },
  {
    name: "peer",
    entry: "peer.ts",
    permissions: [
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
    ],
    // The hashing Worker and what it imports, loaded at run time by URL.
    include: ["lib/storage/hash_worker.ts", "lib/util/read_full.ts"],
    runtimeFlags: PEER_V8_FLAGS,
  },
];

/** The repository root (this file's parent folder's parent). */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Where binaries go. */
export const DIST = `${ROOT}dist`;

/** Whether compiling can work here, and why not if it cannot. */
export type Readiness =
  | { ready: true; runtime: string }
  | { ready: false; reason: string };

/**
 * Decides quickly, without the network, whether `deno compile` can get a
 * runtime: `DENORT_BIN` names a denort file, or one is already cached.
 */
export async function compileReadiness(): Promise<Readiness> {
  const denort = Deno.env.get("DENORT_BIN");
  if (denort) return await checkDenortBin(denort);
  const cached = await cachedDenort();
  if (cached) return { ready: true, runtime: cached };
  return {
    ready: false,
    reason:
      `DENORT_BIN is not set and no Deno ${Deno.version.deno} runtime (denort) is cached, so deno compile would have to download one; set DENORT_BIN to a denort file for this Deno version to build offline.`,
  };
}

async function checkDenortBin(path: string): Promise<Readiness> {
  try {
    if (!(await Deno.stat(path)).isFile) {
      return { ready: false, reason: `DENORT_BIN (${path}) is not a file.` };
    }
  } catch {
    return { ready: false, reason: `DENORT_BIN (${path}) does not exist.` };
  }
  // A full deno binary answers --version; denort does not, and a binary
  // built on deno instead of denort only prints deno's own help.
  const version = await output(path, ["--version"]);
  if (/^deno \d/.test(version) && version.includes("typescript")) {
    return {
      ready: false,
      reason:
        `DENORT_BIN (${path}) is a full deno binary, not the denort runtime deno compile embeds; the binaries would run as deno itself.`,
    };
  }
  return { ready: true, runtime: path };
}

async function cachedDenort(): Promise<string | undefined> {
  const info = JSON.parse(
    await output(Deno.execPath(), ["info", "--json"]) || "{}",
  );
  const dir = typeof info.denoDir === "string" ? info.denoDir : undefined;
  if (!dir) return undefined;
  const file =
    `${dir}/dl/release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`;
  try {
    return (await Deno.stat(file)).isFile ? file : undefined;
  } catch {
    return undefined;
  }
}

async function output(command: string, args: string[]): Promise<string> {
  try {
    const result = await new Deno.Command(command, {
      args,
      stdout: "piped",
      stderr: "null",
      stdin: "null",
      signal: AbortSignal.timeout(10_000),
    }).output();
    return new TextDecoder().decode(result.stdout);
  } catch {
    return "";
  }
}

/** Builds every target into `dist/`; throws with the compiler's output on failure. */
export async function compileAll(): Promise<string[]> {
  await Deno.mkdir(DIST, { recursive: true });
  const built: string[] = [];
  for (const target of TARGETS) {
    const out = `${DIST}/${target.name}`;
    const result = await new Deno.Command(Deno.execPath(), {
      args: [
        "compile",
        "--quiet",
        ...target.permissions,
        ...(target.runtimeFlags ?? []),
        ...(target.include ?? []).flatMap((path) => [
          "--include",
          `${ROOT}${path}`,
        ]),
        "--output",
        out,
        `${ROOT}${target.entry}`,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!result.success) {
      const text = new TextDecoder().decode(result.stderr).trim();
      throw new Error(`deno compile failed for ${target.entry}: ${text}`);
    }
    built.push(out);
  }
  return built;
}

/** Runs `dist/peer --help` and checks that it printed the peer's usage. */
export async function checkPeerBinary(): Promise<void> {
  const exe = Deno.build.os === "windows" ? ".exe" : "";
  const help = await output(`${DIST}/peer${exe}`, ["--help"]);
  if (!help.includes("Usage: peer")) {
    throw new Error(
      `dist/peer --help did not print the peer's usage; the runtime used is probably not denort. It printed: ${
        help.slice(0, 200)
      }`,
    );
  }
}

if (import.meta.main) {
  const readiness = await compileReadiness();
  if (!readiness.ready) {
    console.error(`Cannot compile: ${readiness.reason}`);
    Deno.exit(1);
  }
  try {
    const built = await compileAll();
    await checkPeerBinary();
    for (const path of built) console.log(`Built ${path}`);
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
}
