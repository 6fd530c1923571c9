/**
 * Running `tracker.ts` and `peer.ts` as real child processes of the current
 * Deno, for the demo and the end-to-end tests: read their output line by
 * line, wait for a line with a deadline, stop them with a signal.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { PEER_V8_FLAGS, TRACKER_V8_FLAGS } from "./compile.ts";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Permissions and runtime flags each entry file runs with, as in the `deno task`s. */
export const PERMISSIONS: Readonly<Record<string, readonly string[]>> = {
  // Reading (and on first start writing) its --secret-file, relative to
  // the folder the command was typed in (INIT_CWD).
  "tracker.ts": [
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env=INIT_CWD",
    // Its LAN addresses, printed when it listens on every interface.
    "--allow-sys=networkInterfaces",
    ...TRACKER_V8_FLAGS,
  ],
  // bittorrent-dht's `debug` reads the environment.
  "scripts/dht_node.ts": ["--allow-net", "--allow-env"],
  // The network interfaces: to find the router to ask for a port mapping.
  "peer.ts": [
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys=networkInterfaces",
    // Opening the web page in the browser (`peer ui`) and flushing a
    // folder download of many files (`lib/cli/run_permission.ts`), as in
    // deno.json.
    "--allow-run=/usr/bin/xdg-open,/usr/local/bin/xdg-open,/usr/bin/open,/usr/bin/sync,/bin/sync",
    ...PEER_V8_FLAGS,
  ],
};

/** Options for {@linkcode spawnEntry}. */
export interface SpawnOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working folder. @default {ROOT} */
  cwd?: string;
  /**
   * Runs it with its open-file limit, soft and hard, lowered to this
   * (through `prlimit`, Linux; lowering needs no privilege).
   * @default {this process's limit}
   */
  openFiles?: number;
}

/** A running entry file whose stdout and stderr are collected. */
export class Child implements AsyncDisposable {
  #process: Deno.ChildProcess;
  #stdout: LineCollector;
  #stderr: LineCollector;
  #status: Promise<Deno.CommandStatus>;

  /** Wraps a spawned process with piped stdout and stderr. */
  constructor(process: Deno.ChildProcess) {
    this.#process = process;
    this.#stdout = new LineCollector(process.stdout);
    this.#stderr = new LineCollector(process.stderr);
    this.#status = process.status;
  }

  /** Process ID. */
  get pid(): number {
    return this.#process.pid;
  }

  /** Every stdout line so far. */
  get stdout(): readonly string[] {
    return this.#stdout.lines;
  }

  /** Every stderr line so far. */
  get stderr(): readonly string[] {
    return this.#stderr.lines;
  }

  /** Waits up to `timeoutMs` for a line matching `pattern` (on stdout unless told). */
  async waitForLine(
    pattern: RegExp,
    timeoutMs: number,
    from: "stdout" | "stderr" = "stdout",
  ): Promise<string> {
    const lines = from === "stdout" ? this.#stdout : this.#stderr;
    const line = await lines.waitFor(pattern, timeoutMs, this.#status);
    if (line === undefined) {
      throw new Error(
        `No line matching ${pattern} within ${timeoutMs} ms. stdout: ${
          this.stdout.join(" | ")
        } stderr: ${this.stderr.join(" | ")}`,
      );
    }
    return line;
  }

  /** Waits for the process to exit and all output to be read. */
  async finished(): Promise<Deno.CommandStatus> {
    const status = await this.#status;
    await Promise.all([this.#stdout.done, this.#stderr.done]);
    return status;
  }

  /** Sends `signal` (if still running), then waits up to `timeoutMs` before SIGKILL. */
  async stop(
    signal: Deno.Signal = "SIGTERM",
    timeoutMs = 8_000,
  ): Promise<Deno.CommandStatus> {
    try {
      this.#process.kill(signal);
    } catch {
      // Already exited.
    }
    const timer = setTimeout(() => {
      try {
        this.#process.kill("SIGKILL");
      } catch {
        // Exited meanwhile.
      }
    }, timeoutMs);
    try {
      return await this.finished();
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the process with SIGTERM. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Starts `deno run` on `entry` (`tracker.ts` or `peer.ts`) with its task's
 * permissions and `args`.
 */
export function spawnEntry(
  entry: string,
  args: string[],
  options: SpawnOptions = {},
): Child {
  const run = ["run", ...PERMISSIONS[entry], `${ROOT}${entry}`, ...args];
  const { openFiles } = options;
  const limited = openFiles === undefined ? undefined : [
    `--nofile=${openFiles}:${openFiles}`,
    Deno.execPath(),
    ...run,
  ];
  const process = new Deno.Command(limited ? "prlimit" : Deno.execPath(), {
    args: limited ?? run,
    cwd: options.cwd ?? ROOT,
    // No LAN discovery or DHT unless asked: benches, the demo and tests
    // stay off real networks.
    env: { NO_COLOR: "1", P2P_NO_LAN: "1", P2P_NO_DHT: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return new Child(process);
}

/** The result of running an entry file to completion. */
export interface RunResult {
  /** Exit code. */
  code: number;
  /** Everything on stdout. */
  stdout: string;
  /** Everything on stderr. */
  stderr: string;
}

/** Longest a run to completion may take before the child is killed. */
export const RUN_TIMEOUT_MS = 30_000;

/** Runs `entry` with `args` to completion, killing it after `timeoutMs`. */
export function runEntry(
  entry: string,
  args: string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<RunResult> {
  return completion(spawnEntry(entry, args, options), options.timeoutMs);
}

/** Waits for `child` to exit, killing it after `timeoutMs`; its output. */
export async function completion(
  child: Child,
  timeoutMs = RUN_TIMEOUT_MS,
): Promise<RunResult> {
  const timer = setTimeout(() => child.stop("SIGKILL"), timeoutMs);
  try {
    const status = await child.finished();
    return {
      code: status.code,
      stdout: child.stdout.join("\n"),
      stderr: child.stderr.join("\n"),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Reads a byte stream into lines as they arrive. */
class LineCollector {
  readonly lines: string[] = [];
  readonly done: Promise<void>;
  #waiters = new Set<() => void>();

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#read(stream);
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + text).split("\n");
      rest = parts.pop() ?? "";
      this.lines.push(...parts.map((line) => line.replace(/\r$/, "")));
      this.#wake();
    }
    if (rest) this.lines.push(rest);
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
  }

  async waitFor(
    pattern: RegExp,
    timeoutMs: number,
    exited: Promise<unknown>,
  ): Promise<string | undefined> {
    const deadline = performance.now() + timeoutMs;
    let ended = false;
    exited.then(() => this.done).then(() => ended = true);
    for (;;) {
      const found = this.lines.find((line) => pattern.test(line));
      if (found !== undefined) return found;
      const left = deadline - performance.now();
      if (left <= 0 || ended) return undefined;
      const waiters = this.#waiters;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 200));
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
  }
}

/** Time a tracker or sharer child gets to say it is ready. */
export const READY_TIMEOUT_MS = 30_000;

/**
 * `child`'s first stdout line matching `pattern` within READY_TIMEOUT_MS;
 * if none comes, the child is stopped before the error is thrown, so a
 * failed start leaves nothing running.
 */
export async function readyLine(
  child: Child,
  pattern: RegExp,
): Promise<string> {
  try {
    return await child.waitForLine(pattern, READY_TIMEOUT_MS);
  } catch (error) {
    await child.stop("SIGKILL");
    throw error;
  }
}

/** A tracker child on 127.0.0.1 port 0, once it listens. */
export async function spawnTracker(): Promise<
  { child: Child; address: string }
> {
  const child = spawnEntry("tracker.ts", [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ]);
  const line = await readyLine(child, /listening on/);
  return { child, address: line.slice(line.lastIndexOf(" ") + 1) };
}

/**
 * `peer get --json` arguments fetching `id` from `tracker` into `out`,
 * failing at once if nobody shares it (`--wait 0`); `extra` are more.
 */
export function getArgs(
  id: string,
  tracker: string,
  out: string,
  extra: string[] = [],
): string[] {
  return [
    "get",
    id,
    "--json",
    "--tracker",
    tracker,
    "--out",
    out,
    "--wait",
    "0",
    ...extra,
  ];
}

/**
 * `peer share --json` arguments serving `file` on 127.0.0.1, a free port;
 * with `json: false`, its lines for people instead.
 */
export function shareArgs(
  file: string,
  tracker: string,
  extra: string[] = [],
  options: { json?: boolean } = {},
): string[] {
  return [
    "share",
    file,
    ...(options.json === false ? [] : ["--json"]),
    "--tracker",
    tracker,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    ...extra,
  ];
}

/**
 * A `peer share --json` child on 127.0.0.1 port 0, once it serves `file`,
 * with its ID, address and share link; `extra` are more arguments (e.g.
 * `--upload-limit 16M`, `--private`).
 */
export async function spawnSharer(
  file: string,
  tracker: string,
  extra: string[] = [],
): Promise<
  { child: Child; id: string; address: string; link: string; private: boolean }
> {
  const child = spawnEntry("peer.ts", shareArgs(file, tracker, extra));
  const ready = JSON.parse(await readyLine(child, /^\{/));
  return {
    child,
    id: ready.id,
    address: ready.address,
    link: ready.link,
    private: ready.private,
  };
}
