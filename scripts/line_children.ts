/**
 * Child processes driven by lines: each is sent a line on its standard input
 * and answers with one JSON line on its standard output. The crowd of
 * simulated peers (`_crowd_fleet.ts`) and the flood floor's clients
 * (`bench/_flood_clients.ts`) split their connections over such children, so
 * that no process needs more open files than it may have.
 *
 * @module
 */

/** Options for {@linkcode spawnLineChild}. */
export interface LineChildOptions {
  /** What errors call the child, e.g. "Crowd child". */
  label: string;
  /** Ms a child may take to exit once its input is closed, before SIGKILL. */
  stopMs: number;
  /** Its `nice` value (children that stand for other machines). @default {0} */
  nice?: number;
}

/** One child process that answers a JSON line for each line it is sent. */
export class LineChild {
  /** The child's process ID. */
  readonly pid: number;
  #process: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;
  #label: string;
  #stopMs: number;

  /** Drives `process`, spawned with every standard stream piped. */
  constructor(
    process: Deno.ChildProcess,
    options: Omit<LineChildOptions, "nice">,
  ) {
    this.#process = process;
    this.pid = process.pid;
    this.#writer = process.stdin.getWriter();
    this.#lines = lines(process.stdout)[Symbol.asyncIterator]();
    this.#label = options.label;
    this.#stopMs = options.stopMs;
  }

  /** The next JSON line the child prints, within `timeoutMs`. */
  async answer<T>(timeoutMs: number): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.#label} ${this.pid} did not answer`)),
        timeoutMs,
      );
    });
    try {
      const next = await Promise.race([this.#lines.next(), late]);
      if (next.done) throw new Error(`${this.#label} ${this.pid} exited`);
      return JSON.parse(next.value) as T;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `line` and returns the JSON line answered within `timeoutMs`. */
  async ask<T>(line: string, timeoutMs: number): Promise<T> {
    await this.#writer.write(new TextEncoder().encode(`${line}\n`));
    return await this.answer<T>(timeoutMs);
  }

  /** Closes the child's input and waits for it to exit (killed if late). */
  async stop(): Promise<void> {
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.#process.kill("SIGKILL");
      } catch {
        // Exited meanwhile.
      }
    }, this.#stopMs);
    await this.#process.status;
    clearTimeout(timer);
    await this.#process.stderr.cancel().catch(() => {});
  }
}

/** Spawns `command` with `args` (under `nice` when asked) as a {@linkcode LineChild}. */
export function spawnLineChild(
  command: string,
  args: string[],
  options: LineChildOptions,
): LineChild {
  const nice = options.nice ?? 0;
  const process = new Deno.Command(nice > 0 ? "nice" : command, {
    args: nice > 0 ? ["-n", String(nice), command, ...args] : args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return new LineChild(process, options);
}

/** One child's share of a fleet's connections. */
export interface Share {
  /** Connections it opens. */
  count: number;
  /** Index of its first one in the whole fleet. */
  offset: number;
}

/**
 * `total` connections split over at most `processes` children, numbered from
 * `offset`: every share but the last holds ceil(total / processes).
 */
export function shares(total: number, processes: number, offset = 0): Share[] {
  const size = Math.ceil(total / processes);
  const result: Share[] = [];
  for (let start = 0; start < total; start += size) {
    result.push({
      count: Math.min(size, total - start),
      offset: offset + start,
    });
  }
  return result;
}

/**
 * Starts the children `start` makes, one per share, and waits for each one's
 * first answer (it has opened its connections) within `timeoutMs`; if any
 * fails, all are stopped and the error thrown.
 */
export async function openChildren(
  all: Share[],
  start: (share: Share) => LineChild,
  timeoutMs: number,
): Promise<LineChild[]> {
  const children: LineChild[] = [];
  try {
    for (const share of all) children.push(start(share));
    await Promise.all(children.map((child) => child.answer(timeoutMs)));
    return children;
  } catch (error) {
    await Promise.allSettled(children.map((child) => child.stop()));
    throw error;
  }
}

/** The lines of a byte stream, without their newlines. */
export async function* lines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    rest += text;
    let end;
    while ((end = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, end);
      rest = rest.slice(end + 1);
    }
  }
}
