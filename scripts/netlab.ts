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
  type RunResult,
  type SpawnOptions,
} from "./_child.ts";
import {
  CHILD_STOP_MS,
  command,
  deleteNamespaces,
  entryArgv,
  escapeRegExp,
  exists,
  ip,
  iptables,
  prerequisiteProblem,
  probeNamespaces,
  removeStaleNamespaces,
  spawnIn,
  stopChildren,
  sysctl,
  tool,
  within,
} from "./_namespaces.ts";

export { CHILD_STOP_MS, COMMAND_TIMEOUT_MS } from "./_namespaces.ts";

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
/** Ms the compiler may take to build the emulator. */
export const BUILD_TIMEOUT_MS = 60_000;
/** Ms the emulator may take to bind its queues and say "ready". */
export const EMULATOR_READY_MS = 5_000;

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
  const problem = prerequisiteProblem("Network labs", [
    { name: "ip", pkg: "iproute2" },
    { name: "iptables", pkg: "iptables" },
    { name: "cc", pkg: "gcc" },
    {
      name: "libnetfilter_queue.h",
      path: NFQ_HEADER,
      pkg: "libnetfilter-queue-dev",
    },
  ]);
  if (problem) return problem;
  try {
    await buildEmulator();
    await probeNamespaces("p2plab");
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
    await removeStaleNamespaces(
      new RegExp(`^${escapeRegExp(prefix)}(\\d+)-\\d+-[grs]$`),
    );
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
    const child = spawnIn(this.#names[place], argv, options);
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
    return this.spawn(side, entryArgv(entry, args), {
      ...options,
      env: { NO_COLOR: "1", ...options.env },
    });
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
    await stopChildren(children);
    const emulator = this.#emulator;
    if (emulator) {
      await emulator.process.stdin.close().catch(() => {});
      await within(
        emulator.child.stop("SIGTERM", CHILD_STOP_MS),
        2 * CHILD_STOP_MS,
      );
    }
    const { sharer, getter, router } = this.#names;
    const problems = await deleteNamespaces([sharer, getter, router]);
    if (problems.length > 0) {
      throw new Error(
        `The network lab was not fully removed: ${problems.join("; ")}`,
      );
    }
  }

  /** Sets sysctl `key` (a path under /proc/sys) to `value` in `place`. */
  #sysctl(place: Place, key: string, value: string): Promise<void> {
    return sysctl(this.#names[place], key, value);
  }

  /** Adds iptables `rule` (words split at spaces) in `place`. */
  #iptables(place: Place, rule: string): Promise<void> {
    return iptables(this.#names[place], rule);
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
    // Whole GSO super-packets where only a delay applies (see linkemu.c).
    "-G",
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
