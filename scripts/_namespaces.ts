/**
 * What the labs of network namespaces (`netlab.ts`, `natlab.ts`) share:
 * running `ip` and `iptables` with a time limit, finding tools in the sbin
 * folders, checking that labs can be made here, starting processes inside a
 * namespace, and removing namespaces, their own or those a dead process
 * left behind.
 *
 * @module
 */

import { join } from "node:path";
import { Child, PERMISSIONS, ROOT, type SpawnOptions } from "./_child.ts";

/** Ms any one `ip`, `iptables` or `sh` command may take. */
export const COMMAND_TIMEOUT_MS = 10_000;
/** Ms a child gets to exit after SIGTERM before SIGKILL, when the lab closes. */
export const CHILD_STOP_MS = 3_000;

/** Something a lab needs: a tool on PATH (or in sbin), or a file at `path`. */
export interface Requirement {
  /** The tool, or how to call the file in a message. */
  name: string;
  /** Where the file must be; absent for a tool. */
  path?: string;
  /** The Debian package that has it. */
  pkg: string;
}

/**
 * Why labs called `what` ("Network labs") cannot run here: not Linux, not
 * root, or some of `needs` missing (saying what to install); else undefined.
 */
export function prerequisiteProblem(
  what: string,
  needs: readonly Requirement[],
): string | undefined {
  if (Deno.build.os !== "linux") {
    return `${what} need Linux (network namespaces); this is ${Deno.build.os}.`;
  }
  if (Deno.uid() !== 0) {
    return `${what} need root (for namespaces and iptables); this runs as uid ${Deno.uid()}.`;
  }
  const missing = needs.filter((need) =>
    need.path ? !exists(need.path) : !findTool(need.name)
  );
  if (missing.length === 0) return undefined;
  return `${what} need ${
    missing.map((need) => need.name).join(", ")
  }, not found: apt-get install ${missing.map((need) => need.pkg).join(" ")}.`;
}

/**
 * Makes and deletes a namespace named after `prefix`, running `inside` (if
 * given) on its name in between; rejects with what failed.
 */
export async function probeNamespaces(
  prefix: string,
  inside?: (ns: string) => Promise<unknown>,
): Promise<void> {
  // Workers of one process (parallel test files) each count from 0.
  const probe = `${prefix}-probe-${Deno.pid}-${crypto.randomUUID()}`;
  await ip(`netns add ${probe}`);
  try {
    await inside?.(probe);
  } finally {
    await ip(`netns del ${probe}`);
  }
}

/**
 * Deletes the namespaces whose names match `pattern` and whose process is
 * gone (it was killed before it could close its lab); the pattern's first
 * group is that process's pid. Only names are removed: a namespace with
 * processes still in it lives on until they exit.
 */
export async function removeStaleNamespaces(pattern: RegExp): Promise<void> {
  const listing = await ip("netns list");
  for (const line of listing.split("\n")) {
    const name = line.split(" ")[0];
    const pid = pattern.exec(name)?.[1];
    if (pid === undefined || exists(`/proc/${pid}`)) continue;
    await ip(`netns del ${name}`).catch(() => {});
  }
}

/**
 * Starts `argv` inside namespace `ns` with piped output (`ip netns exec`).
 * `options.env` is added to this process's environment.
 */
export function spawnIn(
  ns: string,
  argv: string[],
  options: SpawnOptions = {},
): Child {
  const process = new Deno.Command(tool("ip"), {
    args: ["netns", "exec", ns, ...argv],
    cwd: options.cwd ?? ROOT,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return new Child(process);
}

/**
 * The command line of `deno run` on `entry` (`tracker.ts` or `peer.ts`)
 * with `args`, and the permissions and V8 flags of its task.
 */
export function entryArgv(entry: string, args: string[]): string[] {
  const permissions = PERMISSIONS[entry];
  if (!permissions) throw new TypeError(`No entry file "${entry}".`);
  return [Deno.execPath(), "run", ...permissions, `${ROOT}${entry}`, ...args];
}

/** Stops `children` at once (SIGTERM, then SIGKILL), each wait bounded. */
export async function stopChildren(children: Iterable<Child>): Promise<void> {
  await Promise.all(
    [...children].map((child) =>
      within(child.stop("SIGTERM", CHILD_STOP_MS), 2 * CHILD_STOP_MS)
    ),
  );
}

/**
 * Kills whatever still runs in each of `names` and deletes them, in order;
 * resolves to what could not be done (empty when all went).
 */
export async function deleteNamespaces(
  names: readonly string[],
): Promise<string[]> {
  const problems: string[] = [];
  for (const ns of names) {
    if (!exists(`/run/netns/${ns}`)) continue;
    await killLeftovers(ns).catch((error) => problems.push(error.message));
    await ip(`netns del ${ns}`).catch((error) => problems.push(error.message));
  }
  return problems;
}

/** SIGKILLs whatever still runs in namespace `ns` (started there by a lab's children). */
async function killLeftovers(ns: string): Promise<void> {
  const pids = (await ip(`netns pids ${ns}`)).split("\n").filter(Boolean);
  for (const pid of pids) {
    try {
      Deno.kill(Number(pid), "SIGKILL");
    } catch {
      // Exited meanwhile.
    }
  }
}

/** Runs a short command in namespace `ns` within `timeoutMs`; resolves to its stdout. */
export function execIn(
  ns: string,
  argv: string[],
  timeoutMs = COMMAND_TIMEOUT_MS,
): Promise<string> {
  return command(["ip", "netns", "exec", ns, ...argv], timeoutMs);
}

/** Sets sysctl `key` (a path under /proc/sys) to `value` in namespace `ns`. */
export async function sysctl(
  ns: string,
  key: string,
  value: string,
): Promise<void> {
  // /proc/sys/net belongs to the namespace of whoever opens it.
  const write = 'printf "%s\\n" "$1" > "/proc/sys/$2"';
  await execIn(ns, ["sh", "-c", write, "sh", value, key]);
}

/** Adds iptables `rule` (words split at spaces) in namespace `ns`. */
export async function iptables(ns: string, rule: string): Promise<void> {
  // -w: wait for the xtables lock that all namespaces share.
  const argv = [tool("iptables"), "-w", "5"];
  await execIn(ns, [...argv, ...rule.split(" ")]);
}

/** Runs `ip` with `args` (words split at spaces); resolves to its stdout. */
export function ip(args: string): Promise<string> {
  return command(["ip", ...args.split(" ")]);
}

/**
 * Runs `argv` (its first element a tool name or path) to completion within
 * `timeoutMs`; resolves to stdout, rejects with the command and its stderr.
 */
export async function command(
  argv: string[],
  timeoutMs = COMMAND_TIMEOUT_MS,
): Promise<string> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const shown = `"${argv.join(" ")}"`;
  try {
    const { success, code, stdout, stderr } = await new Deno.Command(
      tool(argv[0]),
      {
        args: argv.slice(1),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: controller.signal,
      },
    ).output();
    if (controller.signal.aborted) {
      throw new Error(`${shown} took over ${timeoutMs} ms.`);
    }
    if (!success) {
      const text = new TextDecoder().decode(stderr).trim();
      throw new Error(`${shown} failed: ${text || `exit code ${code}`}.`);
    }
    return new TextDecoder().decode(stdout);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`${shown} failed: ${argv[0]} is not installed.`);
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The path of `name` on PATH or in the sbin folders; `name` itself if none. */
export function tool(name: string): string {
  return findTool(name) ?? name;
}

function findTool(name: string): string | undefined {
  if (name.includes("/")) return exists(name) ? name : undefined;
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter(Boolean);
  for (const dir of [...dirs, "/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
    if (exists(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Whether `path` exists (following links). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Waits for `promise`, but at most `ms` (resolving undefined then). */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
): Promise<T | void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** `text` with the characters that mean something in a RegExp escaped. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
