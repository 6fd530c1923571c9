/**
 * What the command-line tests share: checking that an error is one line
 * with no stack trace, a port nothing listens on, and running an entry file
 * with something on its standard input, and leaving a `.part` to resume.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import {
  PERMISSIONS,
  READY_TIMEOUT_MS,
  ROOT,
  runEntry,
  type RunResult,
  spawnEntry,
} from "../../scripts/_child.ts";
import { join } from "node:path";
import { pollUntil } from "../fixtures.ts";
import { isolatedEnv } from "../_prompt_process.ts";

const STACK_LINE = /^\s+at /m;

/** Asserts stderr is exactly one line and carries no stack trace. */
export function assertOneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  assertEquals(lines.length, 1, `stderr: ${stderr}`);
  assert(!STACK_LINE.test(stderr), `stack trace on stderr: ${stderr}`);
  return lines[0];
}

/** A port on 127.0.0.1 that nothing listens on (just released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/**
 * Runs `peer` with `args` and `--host 127.0.0.1 --port 0` in `folder` (its
 * home in `folder/home`, a tracker port nothing listens on), as if typed
 * there: INIT_CWD too, since this suite runs under a `deno task` whose
 * INIT_CWD, the checkout, the peer would otherwise take.
 */
export async function runPeerIn(
  folder: string,
  args: string[],
  timeoutMs = 15_000,
): Promise<RunResult> {
  const home = join(folder, "home");
  await Deno.mkdir(home, { recursive: true });
  return await runEntry("peer.ts", [
    ...args,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ], {
    cwd: folder,
    env: {
      ...await isolatedEnv(home, `127.0.0.1:${freePort()}`),
      INIT_CWD: folder,
    },
    timeoutMs,
  });
}

/** Options for {@linkcode runWithInput}. */
export interface InputRunOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Killed after this long. @default {30_000} */
  timeoutMs?: number;
}

/**
 * Runs `entry` (`peer.ts` or `tracker.ts`) with its task's permissions and
 * `input` on standard input; its exit code and output.
 */
export async function runWithInput(
  entry: string,
  args: string[],
  input: string,
  options: InputRunOptions = {},
): Promise<RunResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS[entry], `${ROOT}${entry}`, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited meanwhile.
    }
  }, options.timeoutMs ?? 30_000);
  try {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input)).catch(() => {});
    await writer.close().catch(() => {});
    const { code, stdout, stderr } = await child.output();
    const decoder = new TextDecoder();
    return {
      code,
      stdout: decoder.decode(stdout),
      stderr: decoder.decode(stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The words of `peer get` for the file `id` from `tracker`, saved to `out`,
 * listening on 127.0.0.1 port 0; `flags` follow them.
 */
export function loopbackGetArgs(
  id: string,
  tracker: string,
  out: string,
  ...flags: string[]
): string[] {
  return [
    "get",
    id,
    "--tracker",
    tracker,
    "--out",
    out,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    ...flags,
  ];
}

/**
 * Runs `peer` with `args` (a get from a slow sharer) until `part` holds
 * bytes other than zeros, pieces written, then stops it with SIGINT: the
 * `.part` a later get resumes.
 */
export async function leavePart(
  args: string[],
  env: Record<string, string>,
  part: string,
): Promise<void> {
  const first = spawnEntry("peer.ts", args, { env });
  await pollUntil(READY_TIMEOUT_MS, async () => {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const held = await Deno.readFile(part).catch(() => new Uint8Array());
    return held.some((byte) => byte !== 0);
  });
  await first.stop("SIGINT");
  assertEquals(
    first.stderr.filter((line) => line.startsWith("Checking")),
    [],
    "a get that starts afresh checks nothing",
  );
}

/**
 * Asserts that of `lines`, the ones about a resume say first that
 * `name`'s `.part` is checked, then that `name` resumes; `output` is shown
 * if not.
 */
export function assertCheckedThenResumed(
  lines: readonly string[],
  name: string,
  output: string,
): void {
  const told = lines.filter((line) => /^(Checking|Resuming) /.test(line));
  assertEquals(told.length, 2, output);
  assertEquals(told[0], `Checking ${name}.part from an earlier get…`);
  assert(told[1].startsWith(`Resuming ${name}: `), told[1]);
}

/**
 * Overwrites the bytes of `part` with random ones of the same length,
 * keeping its resume record: a `.part` of which no piece matches.
 */
export async function spoilPart(part: string): Promise<void> {
  const { size } = await Deno.stat(part);
  using file = await Deno.open(part, { write: true });
  const chunk = new Uint8Array(1024 * 1024);
  for (let at = 0; at < size; at += chunk.length) {
    for (let i = 0; i < chunk.length; i += 65_536) {
      crypto.getRandomValues(chunk.subarray(i, i + 65_536));
    }
    const bytes = chunk.subarray(0, Math.min(chunk.length, size - at));
    let written = 0;
    while (written < bytes.length) {
      written += await file.write(bytes.subarray(written));
    }
  }
}

/**
 * Asserts that of `lines`, the ones about a resume say first that
 * `name`'s `.part` is checked, then that nothing in it matched (and not
 * that `name` resumes); `output` is shown if not.
 */
export function assertCheckedThenNothingMatched(
  lines: readonly string[],
  name: string,
  output: string,
): void {
  const told = lines.filter((line) =>
    /^(Checking|Resuming|Nothing in) /.test(line)
  );
  assertEquals(told, [
    `Checking ${name}.part from an earlier get…`,
    `Nothing in ${name}.part matched; starting afresh.`,
  ], output);
}
