/**
 * Prompt processes for the prompt's end-to-end tests: `peer` with no
 * command, its stdin piped (a script) or a pseudo-terminal, and a tracker
 * for it to use.
 *
 * @module
 */

import { assert } from "./assert.ts";
import {
  type Child,
  PERMISSIONS,
  ROOT,
  spawnEntry,
} from "../scripts/_child.ts";

const encoder = new TextEncoder();

/** A prompt process with piped stdin (or a pseudo-terminal via `script`). */
export class PromptProcess implements AsyncDisposable {
  /** Everything written on stdout so far, raw. */
  output = "";
  /** Everything on stderr, once the process ended. */
  stderr = "";
  #process: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #reading: Promise<unknown>;
  #stderr: Promise<string>;

  constructor(args: string[], env: Record<string, string>, pty = false) {
    const deno = [
      Deno.execPath(),
      "run",
      ...PERMISSIONS["peer.ts"],
      `${ROOT}peer.ts`,
      ...args,
    ];
    const command = pty
      ? new Deno.Command("script", {
        args: [
          "-qfec",
          `stty cols 100 rows 40; exec ${deno.map(shellQuote).join(" ")}`,
          "/dev/null",
        ],
        cwd: ROOT,
        env: { NO_COLOR: "1", TERM: "xterm", ...env },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      })
      : new Deno.Command(deno[0], {
        args: deno.slice(1),
        cwd: ROOT,
        env: { NO_COLOR: "1", ...env },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      });
    const child = command.spawn();
    this.#process = child;
    this.#stdin = child.stdin.getWriter();
    this.#reading = (async () => {
      const text = child.stdout.pipeThrough(new TextDecoderStream());
      for await (const chunk of text) this.output += chunk;
    })();
    this.#stderr = new Response(child.stderr).text();
  }

  get pid(): number {
    return this.#process.pid;
  }

  /** Output lines so far, the unfinished last one included. */
  get lines(): string[] {
    return this.output.split("\n").map((line) => line.replace(/\r$/, ""));
  }

  async type(text: string): Promise<void> {
    await this.#stdin.write(encoder.encode(text));
  }

  /** Waits for a line matching `pattern`; resolves to it. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    let found: string | undefined;
    await this.#until(
      () => {
        found = this.lines.find((line) => pattern.test(line));
        return found !== undefined;
      },
      `a line matching ${pattern}`,
      timeoutMs,
    );
    return found!;
  }

  /** Waits until the whole output matches `pattern`. */
  waitForOutput(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    return this.#until(
      () => pattern.test(this.output),
      `output matching ${pattern}`,
      timeoutMs,
    );
  }

  async #until(
    test: () => boolean,
    what: string,
    timeoutMs: number,
  ): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!test()) {
      if (performance.now() > deadline) {
        throw new Error(
          `No ${what} within ${timeoutMs} ms: ${JSON.stringify(this.output)}`,
        );
      }
      await sleep(10);
    }
  }

  /** Closes stdin and waits (bounded) for the exit. */
  async end(timeoutMs = 15_000): Promise<Deno.CommandStatus> {
    await this.#stdin.close().catch(() => {});
    return await this.exited(timeoutMs);
  }

  /** Waits (bounded) for the exit; stdin stays open meanwhile. */
  async exited(timeoutMs = 15_000): Promise<Deno.CommandStatus> {
    const timer = setTimeout(() => this.#kill("SIGKILL"), timeoutMs);
    try {
      const status = await this.#process.status;
      await this.#reading;
      const stderr = this.stderr = await this.#stderr;
      assert(!/^\s+at /m.test(stderr), `stack trace on stderr: ${stderr}`);
      return status;
    } finally {
      clearTimeout(timer);
    }
  }

  #kill(name: Deno.Signal): void {
    try {
      this.#process.kill(name);
    } catch {
      // Exited meanwhile.
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#kill("SIGTERM");
    const timer = setTimeout(() => this.#kill("SIGKILL"), 5_000);
    await this.#stdin.close().catch(() => {});
    await this.#process.status;
    clearTimeout(timer);
    await this.#reading.catch(() => {});
    await this.#stderr.catch(() => {});
  }
}

/** Sends `command` and resolves to the lines up to its `Totals:` line. */
export async function ask(
  prompt: PromptProcess,
  command: string,
  timeoutMs = 10_000,
): Promise<string[]> {
  const before = prompt.lines.length - 1;
  await prompt.type(`${command}\n`);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const lines = prompt.lines.slice(before);
    if (lines.some((line) => line.startsWith("Totals: "))) return lines;
    if (performance.now() > deadline) {
      throw new Error(`No answer to ${command}: ${lines.join(" | ")}`);
    }
    await sleep(5);
  }
}

/** `word` quoted for `sh`. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A tracker child on 127.0.0.1 port 0, with the address it listens on. */
export async function startTracker(): Promise<Child & { address: string }> {
  const tracker = spawnEntry("tracker.ts", [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ]);
  const line = await tracker.waitForLine(/listening on/, 20_000);
  return Object.assign(tracker, {
    address: line.slice(line.lastIndexOf(" ") + 1),
  });
}

let denoDir: Promise<string> | undefined;

/** Where this Deno keeps its cache, so a child with another HOME still finds it. */
function cacheDir(): Promise<string> {
  return denoDir ??= (async () => {
    const set = Deno.env.get("DENO_DIR");
    if (set) return set;
    const { stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return JSON.parse(new TextDecoder().decode(stdout)).denoDir;
  })();
}

/**
 * The environment of a prompt whose home and data folder are `home` (never
 * the real one), using `tracker`, off the LAN and the DHT.
 */
export async function isolatedEnv(
  home: string,
  tracker: string,
): Promise<Record<string, string>> {
  return {
    HOME: home,
    P2P_HOME: home,
    XDG_DATA_HOME: home,
    XDG_CONFIG_HOME: home,
    XDG_CACHE_HOME: home,
    P2P_TRACKER: tracker,
    P2P_NO_LAN: "1",
    P2P_NO_DHT: "1",
    DENO_DIR: await cacheDir(),
  };
}
