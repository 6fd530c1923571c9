/**
 * A lab of network namespaces for tests and the benchmark: a getter side and
 * a sharer side joined through a router that emulates a real link (round
 * trip, loss, a rate limit with a finite queue), so downloads meet the
 * delays, drops and slow starts that 127.0.0.1 never shows.
 *
 * ```text
 *  getter ns  10.77.X.2 ── 10.77.X.1  router ns  10.77.X.129 ── 10.77.X.130  sharer ns
 *                          ip_forward=1, iptables mangle FORWARD → NFQUEUE 0/1
 *                          tools/linkemu (holds, drops, paces, then releases)
 * ```
 *
 * The kernel here has no netem, so the link is emulated in user space by
 * `tools/linkemu/linkemu.c` (see its header for what it models and not),
 * built on first use into a cache folder outside the repository. No lab has
 * an interface in the host's namespace, so nothing can leave it and a lab's
 * `10.77.X.0/24` may repeat another's without harm (X only helps tell labs
 * apart in logs). Needs Linux, root, `ip`, `iptables`, `cc` and
 * `libnetfilter-queue-dev`: {@linkcode netlabAvailable} says what is missing.
 *
 * @example
 * ```ts
 * const reason = await netlabAvailable();
 * if (reason) throw new Error(reason);
 * await using lab = await NetLab.create({ link: { rttMs: 40, rateBitsPerSecond: 1e6 } });
 * const tracker = lab.spawnEntry("sharer", "tracker.ts", [
 *   "--host", lab.host("sharer"), "--port", "0",
 * ]);
 * await tracker.waitForLine(/listening on/, 30_000);
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import {
  Child,
  completion,
  PERMISSIONS,
  ROOT,
  type RunResult,
  type SpawnOptions,
} from "./_child.ts";

/** The two ends of a lab's link: where downloads run, and where files are shared. */
export type Side = "getter" | "sharer";
/** A namespace of a lab: one of its sides, or the router between them. */
export type Place = Side | "router";

/** The emulated link, as one direction sees it. */
export interface LinkOptions {
  /** Round trip the link adds, in ms; each direction delays by half. @default {0} */
  rttMs?: number;
  /** Extra one-way delay, uniform in 0..jitterMs ms (never reordering). @default {0} */
  jitterMs?: number;
  /** Probability that a packet is lost, in each direction on its own (0..1). @default {0} */
  loss?: number;
  /** Bottleneck in bits a second; 0 for none. @default {0} */
  rateBitsPerSecond?: number;
  /** Bytes the bottleneck queues before it drops (tail drop). @default {DEFAULT_QUEUE_BYTES} */
  queueBytes?: number;
}

/** TCP settings of both sides' namespaces (new namespaces inherit the host's). */
export interface TcpOptions {
  /**
   * Congestion control, e.g. "reno" or "bbr"; it must be in the host's
   * `net.ipv4.tcp_allowed_congestion_control`. @default {the host's}
   */
  congestionControl?: string;
  /** Most bytes of a socket's send and receive buffers. @default {the host's} */
  maxBufferBytes?: number;
}

/** Options for {@linkcode NetLab.create}. */
export interface NetLabOptions {
  /**
   * Start of the namespaces' names; the pid and a counter follow. A tool
   * with its own prefix (the benchmark) never has its labs taken for stale
   * ones of another. @default {"p2plab"}
   */
  prefix?: string;
  /** The link, in both directions. @default {no delay, loss or limit} */
  link?: LinkOptions;
  /** What differs from `link` from the getter to the sharer. @default {link} */
  toSharer?: LinkOptions;
  /** What differs from `link` from the sharer to the getter (the data). @default {link} */
  toGetter?: LinkOptions;
  /** TCP settings of both sides. @default {the host's} */
  tcp?: TcpOptions;
}

/** Counters of one direction of the link, since the lab was made. */
export interface LinkCounters {
  /** Packets that reached the emulator. */
  packets: number;
  /** Their IP bytes. */
  bytes: number;
  /** Packets released on the other side. */
  delivered: number;
  /** Packets dropped as random loss. */
  lost: number;
  /** Packets dropped because the bottleneck's queue was full. */
  queueDrops: number;
  /** Packets held right now. */
  held: number;
}

/** {@linkcode LinkCounters} of both directions. */
export interface LinkStats {
  /** From the getter to the sharer. */
  toSharer: LinkCounters;
  /** From the sharer to the getter. */
  toGetter: LinkCounters;
}

/** Bytes the bottleneck queues when `queueBytes` is not given. */
export const DEFAULT_QUEUE_BYTES = 150_000;
/** The first two octets of every lab's addresses. */
export const LAB_NET = "10.77";
/** Ms any one `ip`, `iptables` or `sh` command may take. */
export const COMMAND_TIMEOUT_MS = 10_000;
/** Ms the compiler may take to build the emulator. */
export const BUILD_TIMEOUT_MS = 60_000;
/** Ms the emulator may take to bind its queues and say "ready". */
export const EMULATOR_READY_MS = 5_000;
/** Ms a child gets to exit after SIGTERM before SIGKILL, when the lab closes. */
export const CHILD_STOP_MS = 3_000;

/** The emulator's source in the repository. */
const EMULATOR_SOURCE = fileURLToPath(
  new URL("../tools/linkemu/linkemu.c", import.meta.url),
);
/** Where Debian puts libnetfilter-queue-dev's header. */
const NFQ_HEADER = "/usr/include/libnetfilter_queue/libnetfilter_queue.h";
/** NFQUEUE numbers of the two directions (numbers are per namespace). */
const QUEUE = { toSharer: 0, toGetter: 1 } as const;
/** Interface names: in the router, one per side; in a side, the one to the router. */
const SIDE_IFACE = "lab0";

let labCounter = 0;
let availability: Promise<string | undefined> | undefined;
let emulatorBuild: Promise<string> | undefined;

/**
 * Whether labs can be made here: undefined if so, else the reason (not
 * Linux, not root, a tool or header missing, the emulator does not build,
 * namespaces refused), for a test to skip with. Checked once per process.
 */
export function netlabAvailable(): Promise<string | undefined> {
  availability ??= checkAvailable().catch((error) =>
    `Cannot check for network labs: ${(error as Error).message}`
  );
  return availability;
}

async function checkAvailable(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") {
    return `Network labs need Linux (network namespaces); this is ${Deno.build.os}.`;
  }
  if (Deno.uid() !== 0) {
    return `Network labs need root (for namespaces and iptables); this runs as uid ${Deno.uid()}.`;
  }
  const missing = [
    ["ip", "iproute2"],
    ["iptables", "iptables"],
    ["cc", "gcc"],
  ].filter(([tool]) => !findTool(tool));
  if (!exists(NFQ_HEADER)) {
    missing.push(["libnetfilter_queue.h", "libnetfilter-queue-dev"]);
  }
  if (missing.length > 0) {
    return `Network labs need ${
      missing.map(([tool]) => tool).join(", ")
    }, not found: apt-get install ${missing.map(([, pkg]) => pkg).join(" ")}.`;
  }
  try {
    await buildEmulator();
    // Workers of one process (parallel test files) each count from 0.
    const probe = `p2plab-probe-${Deno.pid}-${crypto.randomUUID()}`;
    await ip(`netns add ${probe}`);
    await ip(`netns del ${probe}`);
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

/**
 * Builds tools/linkemu/linkemu.c (once per source version) into
 * `$XDG_CACHE_HOME/p2p-linkemu` (else `~/.cache`, else the temp folder)
 * and resolves to the binary's path; rejects saying what to install.
 */
export function buildEmulator(): Promise<string> {
  emulatorBuild ??= build().catch((error) => {
    emulatorBuild = undefined;
    throw error;
  });
  return emulatorBuild;
}

async function build(): Promise<string> {
  const source = await Deno.readFile(EMULATOR_SOURCE);
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 16);
  const dir = cacheDir();
  const binary = join(dir, `linkemu-${hash}`);
  if (exists(binary)) return binary;
  await Deno.mkdir(dir, { recursive: true });
  // Built beside and renamed: labs building at once never run half a file.
  const partial = `${binary}.${Deno.pid}.${crypto.randomUUID()}`;
  try {
    const libraries = ["-lnetfilter_queue", "-lnfnetlink"];
    const cc = ["cc", "-O2", "-Wall", "-o", partial, EMULATOR_SOURCE];
    await command([...cc, ...libraries], BUILD_TIMEOUT_MS);
    await Deno.rename(partial, binary);
  } catch (error) {
    await Deno.remove(partial).catch(() => {});
    throw new Error(
      `Cannot build the link emulator (tools/linkemu/linkemu.c): ${
        (error as Error).message
      } Install gcc and libnetfilter-queue-dev (apt-get install gcc libnetfilter-queue-dev).`,
    );
  }
  return binary;
}

function cacheDir(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const home = Deno.env.get("HOME");
  const base = xdg || (home ? join(home, ".cache") : tmpdir());
  return join(base, "p2p-linkemu");
}

/**
 * A getter namespace and a sharer namespace joined through a router
 * namespace that emulates the link; processes run in them through
 * `ip netns exec`. Close it (`await using`, or {@linkcode close} in a
 * `finally`): that stops every process it started and deletes its
 * namespaces, and with them their interfaces and iptables rules.
 */
export class NetLab implements AsyncDisposable {
  readonly #names: Readonly<Record<Place, string>>;
  readonly #net: string;
  #children = new Set<Child>();
  #emulator?: { child: Child; process: Deno.ChildProcess };
  #closing?: Promise<void>;

  private constructor(names: Record<Place, string>, net: string) {
    this.#names = names;
    this.#net = net;
  }

  /**
   * Makes the namespaces, links them, starts the emulator and sends the
   * router's forwarded packets through it. Rejects with the reason if labs
   * cannot be made here, or with what failed (nothing is left behind).
   */
  static async create(options: NetLabOptions = {}): Promise<NetLab> {
    const emulator = [
      ...emulatorArgs({ ...options.link, ...options.toSharer }),
      "-q",
      String(QUEUE.toSharer),
      ...emulatorArgs({ ...options.link, ...options.toGetter }),
      "-q",
      String(QUEUE.toGetter),
    ];
    const reason = await netlabAvailable();
    if (reason) throw new Error(reason);
    const prefix = options.prefix ?? "p2plab";
    if (!/^[A-Za-z][A-Za-z0-9_]{0,30}$/.test(prefix)) {
      throw new RangeError(
        `Lab prefix "${prefix}" must be a letter, then letters, digits or _.`,
      );
    }
    await removeStaleLabs(prefix);
    const lab = await NetLab.#reserve(prefix);
    try {
      await lab.#wire();
      await lab.#tune(options.tcp ?? {});
      await lab.#startEmulator(emulator);
      return lab;
    } catch (error) {
      await lab.close().catch(() => {});
      throw error;
    }
  }

  /** The IPv4 address of `side` (programs there listen on it). */
  host(side: Side): string {
    return side === "getter" ? `${this.#net}.2` : `${this.#net}.130`;
  }

  /** The name of a namespace of the lab, for `ip netns exec`. */
  namespace(place: Place): string {
    return this.#names[place];
  }

  /**
   * Starts `argv` inside `place` with piped output; the lab stops it when
   * it closes. `options.env` is added to this process's environment.
   */
  spawn(place: Place, argv: string[], options: SpawnOptions = {}): Child {
    if (this.#closing) throw new Error("The network lab is closed.");
    const process = new Deno.Command(tool("ip"), {
      args: ["netns", "exec", this.#names[place], ...argv],
      cwd: options.cwd ?? ROOT,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const child = new Child(process);
    this.#children.add(child);
    return child;
  }

  /**
   * Starts `deno run` on `entry` (`tracker.ts` or `peer.ts`) in `side`,
   * with the permissions and V8 flags of `spawnEntry` (scripts/_child.ts).
   */
  spawnEntry(
    side: Side,
    entry: string,
    args: string[],
    options: SpawnOptions = {},
  ): Child {
    const permissions = PERMISSIONS[entry];
    if (!permissions) throw new TypeError(`No entry file "${entry}".`);
    return this.spawn(side, [
      Deno.execPath(),
      "run",
      ...permissions,
      `${ROOT}${entry}`,
      ...args,
    ], { ...options, env: { NO_COLOR: "1", ...options.env } });
  }

  /** Runs `entry` in `side` to completion, killing it after `timeoutMs` (30 s). */
  async runEntry(
    side: Side,
    entry: string,
    args: string[],
    options: SpawnOptions & { timeoutMs?: number } = {},
  ): Promise<RunResult> {
    const child = this.spawnEntry(side, entry, args, options);
    try {
      return await completion(child, options.timeoutMs);
    } finally {
      this.#children.delete(child);
    }
  }

  /**
   * Drops every TCP and UDP packet to `port` in `side` (iptables DROP, no
   * answer): a connect to it hangs, as to a host behind a firewall.
   */
  async blackhole(side: Side, port: number): Promise<void> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`Cannot black-hole port ${port}: not a TCP port.`);
    }
    for (const protocol of ["tcp", "udp"]) {
      await this.#iptables(
        side,
        `-A INPUT -p ${protocol} --dport ${port} -j DROP`,
      );
    }
  }

  /** The emulator's counters for both directions. */
  async stats(): Promise<LinkStats> {
    const emulator = this.#emulator;
    if (!emulator || this.#closing) {
      throw new Error("The network lab is not running.");
    }
    const before = emulator.child.stdout.length;
    Deno.kill(emulator.child.pid, "SIGUSR1");
    const deadline = performance.now() + 2_000;
    while (emulator.child.stdout.length < before + 2) {
      if (performance.now() > deadline) {
        throw new Error("The link emulator did not report its counters.");
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const lines = emulator.child.stdout.slice(before);
    return {
      toSharer: counters(lines, QUEUE.toSharer),
      toGetter: counters(lines, QUEUE.toGetter),
    };
  }

  /**
   * Stops every process of the lab (SIGTERM, then SIGKILL), the emulator,
   * and deletes the namespaces. Safe to call more than once; every wait is
   * bounded. Rejects if something could not be removed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#teardown();
    return this.#closing;
  }

  /** Same as {@linkcode close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Reserves names by making the router's namespace: the first free counter wins. */
  static async #reserve(prefix: string): Promise<NetLab> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const n = labCounter++;
      const base = `${prefix}${Deno.pid}-${n}`;
      const names = {
        getter: `${base}-g`,
        router: `${base}-r`,
        sharer: `${base}-s`,
      };
      if (Object.values(names).some((name) => exists(`/run/netns/${name}`))) {
        continue;
      }
      try {
        await ip(`netns add ${names.router}`);
      } catch (error) {
        // Another lab of this process (a parallel test) took it meanwhile.
        if (/exists/i.test((error as Error).message)) continue;
        throw error;
      }
      const net = `${LAB_NET}.${(Deno.pid * 31 + n) % 254 + 1}`;
      return new NetLab(names, net);
    }
    throw new Error(`Cannot find free namespace names starting "${prefix}".`);
  }

  async #wire(): Promise<void> {
    const { getter, router, sharer } = this.#names;
    await ip(`netns add ${getter}`);
    await ip(`netns add ${sharer}`);
    for (const ns of [getter, router, sharer]) {
      await ip(`-n ${ns} link set lo up`);
    }
    const net = this.#net;
    const sides = [
      { side: "getter", ns: getter, host: `${net}.2`, gateway: `${net}.1` },
      { side: "sharer", ns: sharer, host: `${net}.130`, gateway: `${net}.129` },
    ];
    for (const { side, ns, host, gateway } of sides) {
      // Made in the router with its peer straight in the side: the host's
      // namespace never holds either end.
      await ip(
        `-n ${router} link add ${side} type veth peer name ${SIDE_IFACE} netns ${ns}`,
      );
      await ip(`-n ${router} addr add ${gateway}/25 dev ${side}`);
      await ip(`-n ${ns} addr add ${host}/25 dev ${SIDE_IFACE}`);
      await ip(`-n ${router} link set ${side} up`);
      await ip(`-n ${ns} link set ${SIDE_IFACE} up`);
      await ip(`-n ${ns} route add default via ${gateway}`);
    }
    await this.#sysctl("router", "net/ipv4/ip_forward", "1");
  }

  async #tune(tcp: TcpOptions): Promise<void> {
    for (const side of ["getter", "sharer"] as const) {
      if (tcp.congestionControl) {
        const name = tcp.congestionControl;
        await this.#sysctl(side, "net/ipv4/tcp_congestion_control", name)
          .catch(() => {
            const allowed = Deno.readTextFileSync(
              "/proc/sys/net/ipv4/tcp_allowed_congestion_control",
            ).trim();
            throw new Error(
              `Cannot use congestion control "${name}" in a lab: a namespace may only pick one of "${allowed}" (net.ipv4.tcp_allowed_congestion_control of the host).`,
            );
          });
      }
      if (tcp.maxBufferBytes) {
        const max = Math.round(tcp.maxBufferBytes);
        await this.#sysctl(side, "net/ipv4/tcp_wmem", `4096 16384 ${max}`);
        await this.#sysctl(side, "net/ipv4/tcp_rmem", `4096 131072 ${max}`);
      }
    }
  }

  /** Starts the emulator with `args` (its queues), then queues the router's traffic to it. */
  async #startEmulator(args: string[]): Promise<void> {
    const binary = await buildEmulator();
    const process = new Deno.Command(tool("ip"), {
      args: [
        "netns",
        "exec",
        this.#names.router,
        binary,
        // Exits by itself if this process dies and stdin closes.
        "--stdin-lifeline",
        ...args,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const child = new Child(process);
    this.#emulator = { child, process };
    try {
      await child.waitForLine(/^ready$/, EMULATOR_READY_MS);
    } catch (error) {
      throw new Error(
        `The link emulator did not start: ${(error as Error).message}`,
      );
    }
    for (
      const [from, to, queue] of [
        ["getter", "sharer", QUEUE.toSharer],
        ["sharer", "getter", QUEUE.toGetter],
      ] as const
    ) {
      await this.#iptables(
        "router",
        `-t mangle -A FORWARD -i ${from} -o ${to} -j NFQUEUE --queue-num ${queue}`,
      );
    }
  }

  async #teardown(): Promise<void> {
    const children = [...this.#children];
    this.#children.clear();
    await Promise.all(
      children.map((child) =>
        within(child.stop("SIGTERM", CHILD_STOP_MS), 2 * CHILD_STOP_MS)
      ),
    );
    const emulator = this.#emulator;
    if (emulator) {
      await emulator.process.stdin.close().catch(() => {});
      await within(
        emulator.child.stop("SIGTERM", CHILD_STOP_MS),
        2 * CHILD_STOP_MS,
      );
    }
    const problems: string[] = [];
    for (const place of ["sharer", "getter", "router"] as const) {
      const ns = this.#names[place];
      if (!exists(`/run/netns/${ns}`)) continue;
      await killLeftovers(ns).catch((error) => problems.push(error.message));
      await ip(`netns del ${ns}`).catch((error) =>
        problems.push(error.message)
      );
    }
    if (problems.length > 0) {
      throw new Error(
        `The network lab was not fully removed: ${problems.join("; ")}`,
      );
    }
  }

  /** Sets sysctl `key` (a path under /proc/sys) to `value` in `place`. */
  async #sysctl(place: Place, key: string, value: string): Promise<void> {
    // /proc/sys/net belongs to the namespace of whoever opens it.
    const write = 'printf "%s\\n" "$1" > "/proc/sys/$2"';
    await this.#exec(place, ["sh", "-c", write, "sh", value, key]);
  }

  /** Adds iptables `rule` (words split at spaces) in `place`. */
  async #iptables(place: Place, rule: string): Promise<void> {
    // -w: wait for the xtables lock that all namespaces share.
    const iptables = [tool("iptables"), "-w", "5"];
    await this.#exec(place, [...iptables, ...rule.split(" ")]);
  }

  /** Runs a short command in `place`, within COMMAND_TIMEOUT_MS. */
  #exec(place: Place, argv: string[]): Promise<string> {
    return command(["ip", "netns", "exec", this.#names[place], ...argv]);
  }
}

/**
 * Deletes namespaces left by labs of `prefix` whose process is gone (it
 * was killed before it could close them). Only names are removed: a
 * namespace with processes still in it lives on until they exit.
 */
async function removeStaleLabs(prefix: string): Promise<void> {
  const listing = await ip("netns list");
  const pattern = new RegExp(`^${escapeRegExp(prefix)}(\\d+)-\\d+-[grs]$`);
  for (const line of listing.split("\n")) {
    const name = line.split(" ")[0];
    const pid = pattern.exec(name)?.[1];
    if (pid === undefined || exists(`/proc/${pid}`)) continue;
    await ip(`netns del ${name}`).catch(() => {});
  }
}

/** SIGKILLs whatever still runs in namespace `ns` (started there by the lab's children). */
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

/** The emulator's options for one direction. */
function emulatorArgs(link: LinkOptions): string[] {
  const rtt = check("rttMs", link.rttMs ?? 0, Infinity);
  const jitter = check("jitterMs", link.jitterMs ?? 0, Infinity);
  const loss = check("loss", link.loss ?? 0, 1);
  const rate = check("rateBitsPerSecond", link.rateBitsPerSecond ?? 0, 1e12);
  const queue = check(
    "queueBytes",
    link.queueBytes ?? DEFAULT_QUEUE_BYTES,
    1e9,
  );
  return [
    "-d",
    String(rtt / 2),
    "-j",
    String(jitter),
    "-l",
    String(loss),
    "-r",
    String(Math.round(rate)),
    "-b",
    String(Math.round(queue)),
  ];
}

function check(name: string, value: number, most: number): number {
  if (!(value >= 0 && value <= most)) {
    throw new RangeError(
      `Link option ${name} is ${value}; it must be from 0 to ${most}.`,
    );
  }
  return value;
}

/** One queue's counters from the emulator's `stats q<N> key=value…` lines. */
function counters(lines: string[], queue: number): LinkCounters {
  const line = lines.find((l) => l.startsWith(`stats q${queue} `)) ?? "";
  const value = (key: string) =>
    Number(new RegExp(`\\b${key}=(\\d+)`).exec(line)?.[1] ?? NaN);
  return {
    packets: value("rx"),
    bytes: value("rx_bytes"),
    delivered: value("tx"),
    lost: value("lost"),
    queueDrops: value("qdrop") + value("ringdrop"),
    held: value("held"),
  };
}

/** Runs `ip` with `args` (words split at spaces); resolves to its stdout. */
function ip(args: string): Promise<string> {
  return command(["ip", ...args.split(" ")]);
}

/**
 * Runs `argv` (its first element a tool name or path) to completion within
 * `timeoutMs`; resolves to stdout, rejects with the command and its stderr.
 */
async function command(
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
function tool(name: string): string {
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

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Waits for `promise`, but at most `ms` (resolving undefined then). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | void> {
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

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
