/**
 * A lab of network namespaces for NAT traversal tests: a small public
 * internet (one switch), public hosts on it, and home networks that reach it
 * only through a router that masquerades and firewalls as home routers do.
 *
 * ```text
 *              wan ns: bridge br0, the lab's internet, 10.78.0.0/24
 *   ┌────────────────┬──────────────┴────────┬───────────────────────┐
 *  public host      public host       router of NAT 0         router of NAT i
 *  10.78.0.1        10.78.0.2 …       WAN 10.78.0.100         WAN 10.78.0.(100+i)
 *                                     LAN 10.78.1.1           LAN 10.78.(i+1).1
 *                                          │                       │
 *                                     LAN host 10.78.1.2      LAN host 10.78.(i+1).2
 * ```
 *
 * Each router forwards, masquerades what leaves its WAN side (keeping the
 * source port when it can, or picking a random one with `randomPorts`),
 * and lets in only what conntrack ties to a connection from inside: a
 * connect from outside is dropped without an answer and times out. Public
 * hosts have no route beyond the switch's subnet, so no one reaches a LAN
 * but through its router; a router drops, without an answer, what its LAN
 * sends to another LAN. No lab has an interface in the host's namespace
 * and IPv6 is off in all of them, so nothing leaves the lab or goes around
 * a NAT. Needs Linux, root, `ip` and `iptables`: {@linkcode natlabAvailable}
 * says what is missing.
 *
 * A NAT made with `upnp: true` also maps ports on request, by UPnP IGD,
 * NAT-PMP and PCP (miniupnpd, see `_upnp_router.ts`); that needs
 * `miniupnpd` and `nftables` too: {@linkcode miniupnpdAvailable}.
 *
 * @example
 * ```ts
 * const reason = await natlabAvailable();
 * if (reason) throw new Error(reason);
 * await using lab = await NatLab.create({
 *   publicHosts: ["tracker"],
 *   nats: [{ name: "home" }, { name: "office", randomPorts: true }],
 * });
 * const tracker = lab.spawnEntry("tracker", "tracker.ts", [
 *   "--host", lab.host("tracker"), "--port", "0",
 * ]);
 * await tracker.waitForLine(/listening on/, 30_000);
 * // A peer in "home" reaches the tracker, which sees it as lab.wan("home").
 * ```
 *
 * @module
 */

import {
  type Child,
  completion,
  type RunResult,
  type SpawnOptions,
} from "./_child.ts";
import {
  COMMAND_TIMEOUT_MS,
  deleteNamespaces,
  entryArgv,
  escapeRegExp,
  execIn,
  exists,
  ip,
  iptables,
  prerequisiteProblem,
  probeNamespaces,
  removeStaleNamespaces,
  spawnIn,
  stopChildren,
  sysctl,
} from "./_namespaces.ts";
import {
  miniupnpdAvailable,
  startUpnpRouter,
  type UpnpRouter,
} from "./_upnp_router.ts";

export { miniupnpdAvailable } from "./_upnp_router.ts";

/** One NAT of a lab: a router and the one host on its LAN. */
export interface NatOptions {
  /** Names the NAT and its LAN host (letters, digits, _; a letter first). */
  name: string;
  /**
   * Masquerade with `--random-fully`: every connection leaves from a random
   * public port. Without it the router keeps the host's source port when
   * that port is free on its WAN address, as most home routers do.
   * @default {false}
   */
  randomPorts?: boolean;
  /**
   * Run miniupnpd on the router, once wired: LAN hosts may then map ports
   * by UPnP IGD, NAT-PMP or PCP. Needs {@linkcode miniupnpdAvailable}.
   * @default {false}
   */
  upnp?: boolean;
}

/** Options for {@linkcode NatLab.create}. */
export interface NatLabOptions {
  /**
   * Start of the namespaces' names; the pid and a counter follow. A tool
   * with its own prefix never has its labs taken for stale ones of another.
   * @default {"p2pnat"}
   */
  prefix?: string;
  /** Hosts with a public address, on the lab's internet. @default {[]} */
  publicHosts?: string[];
  /** Home networks, each behind its own router. @default {[]} */
  nats?: NatOptions[];
}

/** The first three octets of the lab's internet (a /24). */
export const NAT_LAB_WAN = "10.78.0";
/** Every address of a NAT lab: its internet and its LANs. */
const LAB_NET = "10.78.0.0/16";
/** Most public hosts a lab can have (10.78.0.1 to .99). */
export const MAX_PUBLIC_HOSTS = 99;
/** Most NATs a lab can have (WAN 10.78.0.100 to .253). */
export const MAX_NATS = 154;

/** Interface names: a host's or router's uplink, a router's and LAN host's LAN side. */
const WAN_IFACE = "wan0";
const LAN_IFACE = "lan0";
const BRIDGE = "br0";
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,30}$/;

let labCounter = 0;
let availability: Promise<string | undefined> | undefined;

/**
 * Whether NAT labs can be made here: undefined if so, else the reason (not
 * Linux, not root, `ip` or `iptables` missing, namespaces, bridges or NAT
 * refused), for a test to skip with. Checked once per process.
 */
export function natlabAvailable(): Promise<string | undefined> {
  availability ??= checkAvailable().catch((error) =>
    `Cannot check for NAT labs: ${(error as Error).message}`
  );
  return availability;
}

async function checkAvailable(): Promise<string | undefined> {
  const problem = prerequisiteProblem("NAT labs", [
    { name: "ip", pkg: "iproute2" },
    { name: "iptables", pkg: "iptables" },
  ]);
  if (problem) return problem;
  try {
    await probeNamespaces("p2pnat", async (ns) => {
      await ip(`-n ${ns} link add ${BRIDGE} type bridge`);
      await iptables(
        ns,
        `-t nat -A POSTROUTING -o ${BRIDGE} -j MASQUERADE --random-fully`,
      );
    });
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

/** Where a host of the lab is. */
interface HostPlace {
  ns: string;
  address: string;
}

/** A NAT's router. */
interface RouterPlace extends HostPlace {
  index: number;
  randomPorts: boolean;
  upnp: boolean;
}

/**
 * Public hosts and NATs joined by a switch, each in its own namespace;
 * processes run in them through `ip netns exec`. Close it (`await using`,
 * or {@linkcode close} in a `finally`): that stops every process it started
 * and deletes its namespaces, and with them their interfaces and rules.
 */
export class NatLab implements AsyncDisposable {
  readonly #wan: string;
  readonly #hosts: ReadonlyMap<string, HostPlace>;
  readonly #routers: ReadonlyMap<string, RouterPlace>;
  #children = new Set<Child>();
  #upnpRouters: UpnpRouter[] = [];
  #closing?: Promise<void>;

  private constructor(
    wan: string,
    hosts: Map<string, HostPlace>,
    routers: Map<string, RouterPlace>,
  ) {
    this.#wan = wan;
    this.#hosts = hosts;
    this.#routers = routers;
  }

  /**
   * Makes the namespaces, the switch, the hosts and the routers with their
   * rules. Rejects with the reason if labs cannot be made here, with a
   * RangeError for bad options, or with what failed (nothing is left).
   */
  static async create(options: NatLabOptions = {}): Promise<NatLab> {
    const prefix = options.prefix ?? "p2pnat";
    const publicHosts = options.publicHosts ?? [];
    const nats = options.nats ?? [];
    checkOptions(prefix, publicHosts, nats);
    const reason = await natlabAvailable() ??
      (nats.some((nat) => nat.upnp) ? await miniupnpdAvailable() : undefined);
    if (reason) throw new Error(reason);
    await removeStaleNamespaces(
      new RegExp(`^${escapeRegExp(prefix)}(\\d+)-\\d+-(?:w|[hr]-\\w+)$`),
    );
    const base = await reserve(prefix);
    const hosts = new Map<string, HostPlace>();
    const routers = new Map<string, RouterPlace>();
    publicHosts.forEach((name, i) =>
      hosts.set(name, { ns: `${base}-h-${name}`, address: publicAddress(i) })
    );
    nats.forEach(({ name, randomPorts, upnp }, i) => {
      hosts.set(name, { ns: `${base}-h-${name}`, address: lanAddress(i, 2) });
      routers.set(name, {
        ns: `${base}-r-${name}`,
        address: `${NAT_LAB_WAN}.${100 + i}`,
        index: i,
        randomPorts: randomPorts ?? false,
        upnp: upnp ?? false,
      });
    });
    const lab = new NatLab(`${base}-w`, hosts, routers);
    try {
      await lab.#wire(publicHosts);
      return lab;
    } catch (error) {
      await lab.close().catch(() => {});
      throw error;
    }
  }

  /** The IPv4 address of public host `name`, or of NAT `name`'s LAN host. */
  host(name: string): string {
    return this.#host(name).address;
  }

  /** The public (WAN) IPv4 address of NAT `nat`'s router. */
  wan(nat: string): string {
    return this.#router(nat).address;
  }

  /** The namespace of host `name` (public, or NAT `name`'s LAN host), for `ip netns exec`. */
  namespace(name: string): string {
    return this.#host(name).ns;
  }

  /** The namespace of NAT `nat`'s router, for `ip netns exec`. */
  routerNamespace(nat: string): string {
    return this.#router(nat).ns;
  }

  /**
   * Starts `argv` on host `name` with piped output; the lab stops it when
   * it closes. `options.env` is added to this process's environment.
   */
  spawn(name: string, argv: string[], options: SpawnOptions = {}): Child {
    return this.#spawn(this.#host(name).ns, argv, options);
  }

  /** Starts `argv` on NAT `nat`'s router, as {@linkcode spawn} does on a host. */
  spawnOnRouter(
    nat: string,
    argv: string[],
    options: SpawnOptions = {},
  ): Child {
    return this.#spawn(this.#router(nat).ns, argv, options);
  }

  /**
   * Starts `deno run` on `entry` (`tracker.ts` or `peer.ts`) on host `name`,
   * with the permissions and V8 flags of `spawnEntry` (scripts/_child.ts).
   */
  spawnEntry(
    name: string,
    entry: string,
    args: string[],
    options: SpawnOptions = {},
  ): Child {
    return this.spawn(name, entryArgv(entry, args), {
      ...options,
      env: { NO_COLOR: "1", ...options.env },
    });
  }

  /** Runs `entry` on host `name` to completion, killing it after `timeoutMs` (30 s). */
  async runEntry(
    name: string,
    entry: string,
    args: string[],
    options: SpawnOptions & { timeoutMs?: number } = {},
  ): Promise<RunResult> {
    const child = this.spawnEntry(name, entry, args, options);
    try {
      return await completion(child, options.timeoutMs);
    } finally {
      this.#children.delete(child);
    }
  }

  /**
   * Runs a short command on host `name`, killed after `timeoutMs`; resolves
   * to its stdout, rejects with its stderr if it fails.
   */
  exec(
    name: string,
    argv: string[],
    options: { timeoutMs?: number } = {},
  ): Promise<string> {
    return this.#exec(this.#host(name).ns, argv, options.timeoutMs);
  }

  /** Runs a short command on NAT `nat`'s router, as {@linkcode exec} does on a host. */
  execOnRouter(
    nat: string,
    argv: string[],
    options: { timeoutMs?: number } = {},
  ): Promise<string> {
    return this.#exec(this.#router(nat).ns, argv, options.timeoutMs);
  }

  /**
   * Stops every process of the lab (SIGTERM, then SIGKILL) and deletes the
   * namespaces. Safe to call more than once; every wait is bounded.
   * Rejects if something could not be removed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#teardown();
    return this.#closing;
  }

  /** Same as {@linkcode close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #host(name: string): HostPlace {
    const place = this.#hosts.get(name);
    if (!place) {
      throw new RangeError(
        `No host "${name}" in the NAT lab; it has ${quoted(this.#hosts)}.`,
      );
    }
    return place;
  }

  #router(nat: string): RouterPlace {
    const place = this.#routers.get(nat);
    if (!place) {
      throw new RangeError(
        `No NAT "${nat}" in the NAT lab; it has ${quoted(this.#routers)}.`,
      );
    }
    return place;
  }

  #spawn(ns: string, argv: string[], options: SpawnOptions): Child {
    if (this.#closing) throw new Error("The NAT lab is closed.");
    const child = spawnIn(ns, argv, options);
    this.#children.add(child);
    return child;
  }

  async #exec(ns: string, argv: string[], timeoutMs?: number): Promise<string> {
    if (this.#closing) throw new Error("The NAT lab is closed.");
    return await execIn(ns, argv, timeoutMs ?? COMMAND_TIMEOUT_MS);
  }

  /** Every namespace, the switch's last (so its ports go with their hosts first). */
  #namespaces(): string[] {
    return [
      ...[...this.#hosts.values()].map((host) => host.ns),
      ...[...this.#routers.values()].map((router) => router.ns),
      this.#wan,
    ];
  }

  async #wire(publicHosts: string[]): Promise<void> {
    // The switch's namespace is made by reserve().
    await ip(`-n ${this.#wan} link add ${BRIDGE} type bridge`);
    await ip(`-n ${this.#wan} link set ${BRIDGE} up`);
    for (const [i, name] of publicHosts.entries()) {
      const host = this.#host(name);
      await addNamespace(host.ns);
      await this.#plug(`h${i}`, host);
    }
    for (const [name, router] of this.#routers) {
      await this.#buildNat(router, this.#host(name));
    }
    for (const router of this.#routers.values()) {
      if (router.upnp) await this.#startUpnp(router);
    }
  }

  /** Starts miniupnpd on `router`; the lab stops it with its other children. */
  async #startUpnp(router: RouterPlace): Promise<void> {
    const upnp = await startUpnpRouter({
      ns: router.ns,
      wanIface: WAN_IFACE,
      wanAddress: router.address,
      lanIface: LAN_IFACE,
      lanSubnet: `${lanAddress(router.index, 0)}/24`,
      spawn: (argv) => this.#spawn(router.ns, argv, {}),
    });
    this.#upnpRouters.push(upnp);
  }

  /** Links `place` to the switch through port `port`, at its address on the /24. */
  async #plug(port: string, place: HostPlace): Promise<void> {
    // Made in the switch with its peer straight in the host: the host's
    // (this machine's) namespace never holds either end.
    await ip(
      `-n ${this.#wan} link add ${port} type veth peer name ${WAN_IFACE} netns ${place.ns}`,
    );
    await ip(`-n ${this.#wan} link set ${port} master ${BRIDGE}`);
    await ip(`-n ${this.#wan} link set ${port} up`);
    await ip(`-n ${place.ns} addr add ${place.address}/24 dev ${WAN_IFACE}`);
    await ip(`-n ${place.ns} link set ${WAN_IFACE} up`);
  }

  async #buildNat(router: RouterPlace, lan: HostPlace): Promise<void> {
    const gateway = lanAddress(router.index, 1);
    await addNamespace(router.ns);
    await addNamespace(lan.ns);
    await this.#plug(`r${router.index}`, router);
    await ip(
      `-n ${router.ns} link add ${LAN_IFACE} type veth peer name ${LAN_IFACE} netns ${lan.ns}`,
    );
    await ip(`-n ${router.ns} addr add ${gateway}/24 dev ${LAN_IFACE}`);
    await ip(`-n ${lan.ns} addr add ${lan.address}/24 dev ${LAN_IFACE}`);
    await ip(`-n ${router.ns} link set ${LAN_IFACE} up`);
    await ip(`-n ${lan.ns} link set ${LAN_IFACE} up`);
    await ip(`-n ${lan.ns} route add default via ${gateway}`);
    // What the router cannot route (another NAT's LAN) vanishes, as on the
    // internet; without it the router's "network unreachable" errors come
    // or not as the kernel's ICMP rate limit (about one a second) allows.
    await ip(`-n ${router.ns} route add blackhole ${LAB_NET}`);
    const random = router.randomPorts ? " --random-fully" : "";
    for (
      const rule of [
        `-t nat -A POSTROUTING -o ${WAN_IFACE} -j MASQUERADE${random}`,
        "-P FORWARD DROP",
        "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        `-A FORWARD -i ${LAN_IFACE} -o ${WAN_IFACE} -j ACCEPT`,
        "-P INPUT DROP",
        "-A INPUT -i lo -j ACCEPT",
        "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
      ]
    ) {
      await iptables(router.ns, rule);
    }
    // Last, so nothing is forwarded before the firewall stands.
    await sysctl(router.ns, "net/ipv4/ip_forward", "1");
  }

  async #teardown(): Promise<void> {
    const children = [...this.#children];
    this.#children.clear();
    await stopChildren(children);
    await Promise.all(this.#upnpRouters.map((upnp) => upnp.close()));
    const problems = await deleteNamespaces(this.#namespaces());
    if (problems.length > 0) {
      throw new Error(
        `The NAT lab was not fully removed: ${problems.join("; ")}`,
      );
    }
  }
}

/** Throws a RangeError naming the first bad option. */
function checkOptions(
  prefix: string,
  publicHosts: string[],
  nats: NatOptions[],
): void {
  if (!NAME.test(prefix)) {
    throw new RangeError(
      `NAT lab prefix "${prefix}" must be a letter, then letters, digits or _.`,
    );
  }
  if (publicHosts.length > MAX_PUBLIC_HOSTS || nats.length > MAX_NATS) {
    throw new RangeError(
      `A NAT lab holds at most ${MAX_PUBLIC_HOSTS} public hosts and ${MAX_NATS} NATs; asked for ${publicHosts.length} and ${nats.length}.`,
    );
  }
  const seen = new Set<string>();
  for (const name of [...publicHosts, ...nats.map((nat) => nat.name)]) {
    if (!NAME.test(name)) {
      throw new RangeError(
        `NAT lab host name "${name}" must be a letter, then up to 30 letters, digits or _.`,
      );
    }
    if (seen.has(name)) {
      throw new RangeError(`NAT lab host name "${name}" is given twice.`);
    }
    seen.add(name);
  }
}

/** Reserves a name base by making its switch's namespace: the first free counter wins. */
async function reserve(prefix: string): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = `${prefix}${Deno.pid}-${labCounter++}`;
    if (exists(`/run/netns/${base}-w`)) continue;
    try {
      await addNamespace(`${base}-w`);
      return base;
    } catch (error) {
      // Another lab of this process (a parallel test file) took it meanwhile.
      if (/exists/i.test((error as Error).message)) continue;
      throw error;
    }
  }
  throw new Error(`Cannot find free namespace names starting "${prefix}".`);
}

/** Makes namespace `ns` with loopback up and IPv6 off (IPv4 is what the NATs translate). */
async function addNamespace(ns: string): Promise<void> {
  await ip(`netns add ${ns}`);
  await ip(`-n ${ns} link set lo up`);
  for (const scope of ["all", "default"]) {
    await sysctl(ns, `net/ipv6/conf/${scope}/disable_ipv6`, "1")
      .catch(() => {}); // A kernel without IPv6 has nothing to turn off.
  }
}

function publicAddress(index: number): string {
  return `${NAT_LAB_WAN}.${index + 1}`;
}

/** Address `last` on the LAN of NAT `index` (1 the router, 2 its host). */
function lanAddress(index: number, last: number): string {
  return `10.78.${index + 1}.${last}`;
}

function quoted(map: ReadonlyMap<string, unknown>): string {
  const names = [...map.keys()].map((name) => `"${name}"`);
  return names.length > 0 ? names.join(", ") : "none";
}
