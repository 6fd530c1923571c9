/**
 * `deno task compile [--target TARGET]`: builds `peer` and `tracker` with
 * `deno compile`, each with the narrowest permissions it needs, then runs
 * `peer --help` to prove the binary works (when it runs on this machine).
 * Without `--target` it builds for this machine into `dist/`; with one of
 * Deno's five targets, into `dist/TARGET/`.
 *
 * `deno compile` embeds a Deno runtime (denort) that it downloads the first
 * time, unless `DENORT_BIN` names a runtime file. This script lets it
 * download and only explains, in one sentence, when the download fails.
 *
 * @module
 */

import { runPermission } from "../lib/cli/run_permission.ts";
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
  /**
   * May run the target system's browser opener (`peer ui`) and file-system
   * flush (`lib/cli/run_permission.ts`).
   */
  runsPrograms?: boolean;
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

/**
 * V8 flags the tracker runs with (#22).
 *
 * `--heap-growing-percent=15`: the old generation grows by at most 15%
 * before a full collection, instead of up to 4 times what it held. A
 * tracker's heap is mostly its connections and registrations, long-lived
 * and growing slowly, so the default let it sit at twice its live size: at
 * 13,000 simulated peers 372-380 MiB, against 324-332 MiB at 30% and 304
 * MiB at 15%, for about 1.5 points more of a core than without.
 *
 * `--max-semi-space-size=4`: young-generation collections every few MB of
 * garbage rather than up to 16 MB, each pausing the tracker for less. Under
 * a query flood an honest client's p99 was 5.5-6.7 ms with it against
 * 6.9-9.7 ms without (4 and 5 runs, quiet ~2 ms), for the same CPU.
 */
export const TRACKER_V8_FLAGS = [
  "--v8-flags=--heap-growing-percent=15,--max-semi-space-size=4",
];

/**
 * What we build: the tracker talks TCP, reads (on first start writes) its
 * --secret-file (relative to INIT_CWD when set) and lists the network
 * interfaces (to print its LAN addresses when it listens on all); the peer also reads and writes files and reads
 * P2P_TRACKER, P2P_LINK and P2P_TEAM_SECRET.
 */
export const TARGETS: readonly Target[] = [
  {
    name: "tracker",
    entry: "tracker.ts",
    permissions: [
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env=INIT_CWD",
      "--allow-sys=networkInterfaces",
    ],
    runtimeFlags: TRACKER_V8_FLAGS,
  },
  {
    name: "peer",
    entry: "peer.ts",
    permissions: [
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys=networkInterfaces",
    ],
    runsPrograms: true,
    // The hashing Worker and what it imports, and the web page's files, all
    // loaded at run time by URL.
    include: [
      "lib/storage/hash_worker.ts",
      "lib/util/read_full.ts",
      "lib/web/static",
    ],
    runtimeFlags: PEER_V8_FLAGS,
  },
];

/** The targets `deno compile` can build for (`deno compile --help`). */
export const COMPILE_TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** One of {@linkcode COMPILE_TARGETS}. */
export type CompileTarget = typeof COMPILE_TARGETS[number];

/** A mistake in the task's own arguments (exit 2). */
export class CompileUsageError extends Error {
  /** Creates an error with a message for the user. */
  constructor(message: string) {
    super(message);
    this.name = "CompileUsageError";
  }
}

/** Reads `--target TARGET` (or `--target=TARGET`) from the task's arguments. */
export function parseCompileArgs(args: string[]): { target?: CompileTarget } {
  let target: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--target") target = args[++i] ?? "";
    else if (arg.startsWith("--target=")) target = arg.slice(9);
    else {
      throw new CompileUsageError(
        `Unknown argument "${arg}": the only option is --target TARGET.`,
      );
    }
  }
  if (target === undefined) return {};
  if (!(COMPILE_TARGETS as readonly string[]).includes(target)) {
    throw new CompileUsageError(
      `Unknown target "${target}": use one of ${COMPILE_TARGETS.join(", ")}.`,
    );
  }
  return { target: target as CompileTarget };
}

/** The repository root (this file's parent folder's parent). */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Where binaries go. */
export const DIST = `${ROOT}dist`;

/** Whether compiling can work here without the network, and why not. */
export type Readiness =
  | { ready: true; runtime: string }
  | { ready: false; reason: string };

/**
 * Decides quickly, without the network, whether `deno compile` has a
 * runtime for `target` at hand: `DENORT_BIN` names a denort file, or one is
 * already cached. The tests use it to skip rather than download; the task
 * itself lets `deno compile` download.
 */
export async function compileReadiness(
  target: string = Deno.build.target,
): Promise<Readiness> {
  const denort = Deno.env.get("DENORT_BIN");
  if (denort) return await checkDenortBin(denort);
  const cached = await cachedDenort(target);
  if (cached) return { ready: true, runtime: cached };
  return {
    ready: false,
    reason:
      `DENORT_BIN is not set and no Deno ${Deno.version.deno} runtime (denort) for ${target} is cached, so deno compile would have to download one.`,
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

async function cachedDenort(target: string): Promise<string | undefined> {
  const info = JSON.parse(
    await output(Deno.execPath(), ["info", "--json"]) || "{}",
  );
  const dir = typeof info.denoDir === "string" ? info.denoDir : undefined;
  if (!dir) return undefined;
  const file = `${dir}/dl/release/v${Deno.version.deno}/denort-${target}.zip`;
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

/** The folder the binaries for `target` go to. */
export function outDir(target?: CompileTarget): string {
  return target ? `${DIST}/${target}` : DIST;
}

/**
 * Builds every binary for `target` (this machine when undefined) into
 * {@linkcode outDir}; throws one sentence when it fails.
 */
export async function compileAll(target?: CompileTarget): Promise<string[]> {
  const dir = outDir(target);
  await Deno.mkdir(dir, { recursive: true });
  const built: string[] = [];
  for (const binary of TARGETS) {
    const out = `${dir}/${binary.name}`;
    const result = await new Deno.Command(Deno.execPath(), {
      args: [
        "compile",
        "--quiet",
        ...(target ? ["--target", target] : []),
        ...binary.permissions,
        ...(binary.runsPrograms ? [runPermission(osOf(target))] : []),
        ...(binary.runtimeFlags ?? []),
        ...(binary.include ?? []).flatMap((path) => [
          "--include",
          `${ROOT}${path}`,
        ]),
        "--output",
        out,
        `${ROOT}${binary.entry}`,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!result.success) {
      const text = new TextDecoder().decode(result.stderr);
      throw new Error(explainCompileFailure(binary.entry, target, text));
    }
    built.push(out + (isWindows(target) ? ".exe" : ""));
  }
  return built;
}

/** One sentence for a failed `deno compile`, from what it printed. */
export function explainCompileFailure(
  entry: string,
  target: string | undefined,
  stderr: string,
): string {
  // deno prints colour codes and a chain of causes; the last one says why.
  // deno-lint-ignore no-control-regex
  const plain = stderr.replace(/\x1b\[[0-9;]*m/g, "").split(
    "Stack backtrace:",
  )[0];
  const causes = [...plain.matchAll(/^\s*\d+: (.+)$/gm)].map((m) => m[1]);
  const why = causes.at(-1) ?? plain.trim().split("\n").at(-1) ?? "";
  if (/Setting up base binary|denort|dl\.deno\.land/.test(plain)) {
    return `deno compile could not download its Deno ${Deno.version.deno} runtime (denort) for ${
      target ?? Deno.build.target
    } (${why.trim()}); on a machine without internet access, set DENORT_BIN to a denort file for this Deno version.`;
  }
  return `deno compile failed for ${entry}: ${plain.trim()}`;
}

/** The operating system (as `Deno.build.os` names it) `target` runs on. */
function osOf(target?: string): string {
  const triple = target ?? Deno.build.target;
  if (triple.includes("windows")) return "windows";
  return triple.includes("apple") ? "darwin" : "linux";
}

function isWindows(target?: string): boolean {
  return (target ?? Deno.build.target).includes("windows");
}

/** Runs `peer --help` from `dir` and checks that it printed the peer's usage. */
export async function checkPeerBinary(dir: string = DIST): Promise<void> {
  const exe = isWindows() ? ".exe" : "";
  const help = await output(`${dir}/peer${exe}`, ["--help"]);
  if (!help.includes("Usage: peer")) {
    throw new Error(
      `peer --help did not print the peer's usage; the runtime used is probably not denort. It printed: ${
        help.slice(0, 200)
      }`,
    );
  }
}

async function main(args: string[]): Promise<number> {
  let target: CompileTarget | undefined;
  try {
    ({ target } = parseCompileArgs(args));
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const denort = Deno.env.get("DENORT_BIN");
  if (denort) {
    const readiness = await checkDenortBin(denort);
    if (!readiness.ready) {
      console.error(`Cannot compile: ${readiness.reason}`);
      return 1;
    }
  }
  try {
    const built = await compileAll(target);
    if (!target || target === Deno.build.target) {
      await checkPeerBinary(outDir(target));
    }
    for (const path of built) console.log(`Built ${path}`);
    return 0;
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
