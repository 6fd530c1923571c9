/**
 * Child processes for the benchmark: spawn with piped output, wait for a
 * line or for exit with a timeout, sample peak RSS (VmHWM) from
 * /proc/PID/status, and stop gracefully then forcibly. Every wait is
 * bounded.
 *
 * @module
 */

/** How often peak RSS is sampled while a process runs. */
export const RSS_POLL_MS = 50;
/** Lines of stderr kept to explain a failure. */
export const STDERR_TAIL_LINES = 20;
/** Time a process gets to exit after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 5_000;
/** Time to wait after SIGKILL for the exit status. */
const KILL_WAIT_MS = 2_000;
/** Bytes in one KiB (/proc reports kB meaning KiB). */
const KIB = 1024;

/** Options for {@linkcode spawn}. */
export interface SpawnOptions {
  /** Working directory. @default {Deno.cwd()} */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** Every child still running, so an interrupted bench can stop them all. */
const live = new Set<Child>();

/** Stops every child this process started that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...live].map((child) => child.stop()));
}

/** A running child with its output collected and its peak RSS sampled. */
export class Child {
  /** Process id. */
  readonly pid: number;
  /** Command line, for messages. */
  readonly label: string;
  /** Wall-clock ms (performance.now) when spawned. */
  readonly startedAt: number;
  #process: Deno.ChildProcess;
  #lines: string[] = [];
  #stderr: string[] = [];
  #waiters = new Set<() => void>();
  #status?: Deno.CommandStatus;
  #exitedAt?: number;
  #peakKib = 0;
  #cpuSeconds = 0;
  #poller: ReturnType<typeof setInterval>;
  #done: Promise<Deno.CommandStatus>;

  /** Wraps a spawned process; use {@linkcode spawn}. */
  constructor(process: Deno.ChildProcess, label: string) {
    this.#process = process;
    this.pid = process.pid;
    this.label = label;
    this.startedAt = performance.now();
    this.#sampleRss();
    this.#poller = setInterval(() => this.#sampleRss(), RSS_POLL_MS);
    const out = collectLines(process.stdout, (line) => {
      this.#lines.push(line);
      this.#wake();
    });
    const err = collectLines(process.stderr, (line) => {
      this.#stderr.push(line);
      if (this.#stderr.length > STDERR_TAIL_LINES) this.#stderr.shift();
    });
    live.add(this);
    this.#done = process.status.then(async (status) => {
      this.#exitedAt = performance.now();
      live.delete(this);
      clearInterval(this.#poller);
      await Promise.allSettled([out, err]);
      this.#status = status;
      this.#wake();
      return status;
    });
  }

  /** Peak RSS seen so far (VmHWM), in bytes. */
  get peakRssBytes(): number {
    this.#sampleRss();
    return this.#peakKib * KIB;
  }

  /** Current RSS (VmRSS) in bytes, or 0 if the process is gone. */
  currentRssBytes(): number {
    return readStatusKib(this.pid, "VmRSS") * KIB;
  }

  /** User + system CPU seconds the process has used, or 0 if gone. */
  cpuSeconds(): number {
    return readCpuSeconds(this.pid);
  }

  /**
   * CPU seconds the process had used when last sampled (every RSS_POLL_MS
   * while it ran): after it exits, its total up to that much short.
   */
  get lastCpuSeconds(): number {
    this.#sampleRss();
    return this.#cpuSeconds;
  }

  /** Every stdout line so far. */
  get lines(): readonly string[] {
    return this.#lines;
  }

  /** The last lines of stderr, joined. */
  get stderrTail(): string {
    return this.#stderr.join("\n");
  }

  /** Ms from spawn to exit, once exited. */
  get wallMs(): number | undefined {
    return this.#exitedAt === undefined
      ? undefined
      : this.#exitedAt - this.startedAt;
  }

  /** Exit status once exited. */
  get status(): Deno.CommandStatus | undefined {
    return this.#status;
  }

  /**
   * Resolves with the first stdout line `match` accepts (and the ms since
   * spawn); throws if the process exits or `timeoutMs` passes first.
   */
  async waitForLine(
    match: (line: string) => boolean,
    timeoutMs: number,
  ): Promise<{ line: string; ms: number }> {
    const deadline = performance.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.#lines.length; seen++) {
        const line = this.#lines[seen];
        if (match(line)) {
          return { line, ms: performance.now() - this.startedAt };
        }
      }
      if (this.#status) {
        throw new Error(
          `${this.label} exited with code ${this.#status.code} before printing the expected line: ${this.stderrTail}`,
        );
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(
          `${this.label} did not print the expected line within ${timeoutMs} ms: ${this.stderrTail}`,
        );
      }
      await this.#nextEvent(left);
    }
  }

  /** Waits for exit; on timeout kills the process and throws. */
  async waitForExit(timeoutMs: number): Promise<Deno.CommandStatus> {
    const status = await withTimeout(this.#done, timeoutMs);
    if (status) return status;
    await this.kill();
    throw new Error(`${this.label} did not finish within ${timeoutMs} ms`);
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (this.#status) return;
    signal(this.#process, "SIGTERM");
    if (await withTimeout(this.#done, graceMs)) return;
    await this.kill();
  }

  /** SIGKILL and wait briefly for the exit status. */
  async kill(): Promise<void> {
    if (this.#status) return;
    signal(this.#process, "SIGKILL");
    await withTimeout(this.#done, KILL_WAIT_MS);
  }

  #sampleRss(): void {
    if (this.#status) return;
    const kib = readStatusKib(this.pid, "VmHWM");
    if (kib > this.#peakKib) this.#peakKib = kib;
    const cpu = readCpuSeconds(this.pid);
    if (cpu > this.#cpuSeconds) this.#cpuSeconds = cpu;
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  #nextEvent(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiters = this.#waiters;
      function done() {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
    });
  }
}

/** Spawns `command` with `args`, output piped and collected. */
export function spawn(
  command: string,
  args: string[],
  options: SpawnOptions = {},
): Child {
  const process = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const name = command === Deno.execPath() ? "deno" : command;
  return new Child(process, [name, ...args.slice(0, 3)].join(" "));
}

/** Spawns the running Deno binary with `args`. */
export function spawnDeno(args: string[], options: SpawnOptions = {}): Child {
  return spawn(Deno.execPath(), args, options);
}

/** Runs a command to completion (bounded) and returns its exit code and output. */
export async function run(
  command: string,
  args: string[],
  timeoutMs: number,
  options: SpawnOptions = {},
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const child = spawn(command, args, options);
  const status = await child.waitForExit(timeoutMs);
  return {
    code: status.code,
    stdout: child.lines.join("\n"),
    stderr: child.stderrTail,
    ms: child.wallMs ?? 0,
  };
}

/** True if `command` can be started and exits 0 with `args` (it is on PATH). */
export async function hasCommand(
  command: string,
  args = ["--version"],
): Promise<boolean> {
  try {
    const result = await run(command, args, STOP_GRACE_MS);
    return result.code === 0;
  } catch {
    return false;
  }
}

/** Resolves with `promise`'s value, or `undefined` after `ms`. */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A field of /proc/PID/status in KiB, or 0 if unreadable. */
export function readStatusKib(pid: number | "self", field: string): number {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Clock ticks per second for /proc/PID/stat (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;
/** Positions of utime and stime in /proc/PID/stat after the command name. */
const STAT_UTIME = 11;
const STAT_STIME = 12;

/**
 * Seconds all CPUs together have spent busy since boot (user, nice, system,
 * irq and softirq time in /proc/stat; idle, I/O wait and steal left out), or
 * 0 if unreadable: the difference over a run is the work every process and
 * the kernel did meanwhile.
 */
export function machineBusySeconds(): number {
  try {
    const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
    const [user, nice, system, _idle, _iowait, irq, softirq] = line
      .split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

function readCpuSeconds(pid: number): number {
  return cpuSecondsOf(pid) ?? 0;
}

/**
 * CPU seconds (user and system) process `pid` has used, from
 * /proc/PID/stat, or `undefined` if it is gone (or unreadable).
 */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[STAT_UTIME]) + Number(fields[STAT_STIME])) /
      CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

function signal(process: Deno.ChildProcess, name: Deno.Signal): void {
  try {
    process.kill(name);
  } catch {
    // Already gone.
  }
}

async function collectLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    rest += text;
    let end;
    while ((end = rest.indexOf("\n")) >= 0) {
      onLine(rest.slice(0, end).replace(/\r$/, ""));
      rest = rest.slice(end + 1);
    }
  }
  if (rest) onLine(rest);
}
