/**
 * A NAT lab router that forwards ports on request, as a home router with
 * UPnP does: miniupnpd (Debian's `miniupnpd`, built for nftables) on the
 * router's namespace, answering UPnP IGD, NAT-PMP and PCP on its LAN side
 * and adding its forwards to its own nftables chains. `natlab.ts` starts
 * one on each NAT made with `upnp: true`.
 *
 * Two things make the lab's router fit for it:
 *
 * - The lab's iptables is the nftables kind; miniupnpd's iptables build
 *   (`miniupnpd-iptables`) writes through the legacy interface, which does
 *   not see those tables. The nftables build puts its rules in a table of
 *   its own (`inet miniupnpd`, made here as Debian's `nft_init.sh` would);
 *   the router's FORWARD chain lets through what they DNAT
 *   (`--ctstate DNAT`), as OpenWrt's firewall does.
 * - miniupnpd refuses to forward while its WAN address is a private one,
 *   as the lab's 10.78.0.x are, unless STUN (`ext_perform_stun`) shows the
 *   address is reachable unfiltered. A STUN responder on the router's own
 *   WAN address answers it: this file, run as a program.
 *
 * ```sh
 * deno run --allow-net scripts/_upnp_router.ts stun HOST PORT
 *   # answers STUN binding requests on HOST:PORT with the address they
 *   # came from; prints "stun listening on HOST:PORT"
 * ```
 *
 * @module
 */

import { createSocket } from "node:dgram";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { Child } from "./_child.ts";
import {
  command,
  execIn,
  iptables,
  prerequisiteProblem,
  tool,
} from "./_namespaces.ts";

/** TCP port of miniupnpd's HTTP server (description, SOAP) on a router's LAN side. */
export const UPNP_HTTP_PORT = 5000;
/** UDP ports of SSDP and of NAT-PMP/PCP, opened on a router's LAN side. */
const SSDP_PORT = 1900;
const PMP_PORT = 5351;
/** UDP port of the STUN responder on a router's WAN address. */
const STUN_PORT = 3478;
/** Ms miniupnpd (with its STUN check) and the responder may take to start. */
const UPNP_START_MS = 20_000;
/** Bytes of a STUN header, and of the one attribute the responder sends. */
const STUN_HEADER_BYTES = 20;
const MAPPED_ADDRESS_BYTES = 12;

const SELF = fileURLToPath(import.meta.url);

let availability: Promise<string | undefined> | undefined;

/**
 * Whether NAT lab routers can map ports here: undefined if so, else the
 * reason (what labs need, or miniupnpd or nft missing, or miniupnpd's
 * iptables build), for a test to skip with. Checked once per process.
 */
export function miniupnpdAvailable(): Promise<string | undefined> {
  availability ??= checkMiniupnpd().catch((error) =>
    `Cannot check for miniupnpd: ${(error as Error).message}`
  );
  return availability;
}

async function checkMiniupnpd(): Promise<string | undefined> {
  const problem = prerequisiteProblem("UPnP routers", [
    { name: "miniupnpd", pkg: "miniupnpd" },
    { name: "nft", pkg: "nftables" },
  ]);
  if (problem) return problem;
  // It prints its version and backend ("using netfilter(nftables) backend").
  const shown = await command([
    "sh",
    "-c",
    '"$0" --version 2>&1 || true',
    tool("miniupnpd"),
  ]).catch((error) => (error as Error).message);
  if (!/nftables/.test(shown)) {
    return `UPnP routers need miniupnpd's nftables build (apt-get install miniupnpd-nftables); this one says: ${
      shown.trim().split("\n").join(" ")
    }`;
  }
  return undefined;
}

/** Where a UPnP router is, in the lab. */
export interface UpnpRouterOptions {
  /** The router's namespace. */
  ns: string;
  /** Its WAN interface and address. */
  wanIface: string;
  wanAddress: string;
  /** Its LAN interface, and the LAN's subnet (`10.78.1.0/24`). */
  lanIface: string;
  lanSubnet: string;
  /** Starts a process in the router's namespace that the lab stops when it closes. */
  spawn(argv: string[]): Child;
}

/** A running UPnP router: its processes are the lab's; this removes its files. */
export interface UpnpRouter {
  /** Deletes the router's configuration folder. */
  close(): Promise<void>;
}

/**
 * Opens the router's firewall to its LAN's requests, makes miniupnpd's
 * nftables chains, and starts the STUN responder and miniupnpd; resolves
 * once miniupnpd listens with forwarding enabled, rejects with its output
 * if it does not.
 */
export async function startUpnpRouter(
  options: UpnpRouterOptions,
): Promise<UpnpRouter> {
  const dir = await Deno.makeTempDir({ prefix: "p2p-upnp-" });
  const router = {
    close: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  };
  try {
    await openFirewall(options);
    const rules = join(dir, "miniupnpd.nft");
    await Deno.writeTextFile(rules, NFT_RULES);
    await execIn(options.ns, [tool("nft"), "-f", rules]);
    const stun = options.spawn([
      Deno.execPath(),
      "run",
      "--allow-net",
      SELF,
      "stun",
      options.wanAddress,
      String(STUN_PORT),
    ]);
    await stun.waitForLine(/^stun listening/, UPNP_START_MS);
    const config = join(dir, "miniupnpd.conf");
    await Deno.writeTextFile(config, miniupnpdConfig(options));
    const daemon = options.spawn([
      "sh",
      "-c",
      // Its log goes to stderr; the lab's children are read on stdout.
      'exec "$0" -f "$1" -d -P "$2" 2>&1',
      tool("miniupnpd"),
      config,
      join(dir, "miniupnpd.pid"),
    ]);
    await daemon.waitForLine(/Listening for NAT-PMP/, UPNP_START_MS);
    if (!daemon.stdout.some((line) => /forwarding is now enabled/.test(line))) {
      throw new Error(
        `miniupnpd started with port forwarding off: ${
          daemon.stdout.join(" | ")
        }`,
      );
    }
    return router;
  } catch (error) {
    await router.close();
    throw error;
  }
}

/** Lets the LAN reach SSDP, NAT-PMP/PCP and miniupnpd's HTTP, and lets in what it forwards. */
async function openFirewall(options: UpnpRouterOptions): Promise<void> {
  const lan = `-A INPUT -i ${options.lanIface}`;
  for (
    const rule of [
      `${lan} -p udp --dport ${SSDP_PORT} -j ACCEPT`,
      `${lan} -p udp --dport ${PMP_PORT} -j ACCEPT`,
      `${lan} -p tcp --dport ${UPNP_HTTP_PORT} -j ACCEPT`,
      `-A FORWARD -i ${options.wanIface} -o ${options.lanIface} -m conntrack --ctstate DNAT -j ACCEPT`,
    ]
  ) {
    await iptables(options.ns, rule);
  }
}

/**
 * miniupnpd's own table: its forward chain only accepts (the lab's FORWARD
 * chain drops the rest), its prerouting chain holds the DNATs.
 */
const NFT_RULES = `table inet miniupnpd {
  chain forward {
    type filter hook forward priority 0; policy accept;
    jump miniupnpd
  }
  chain miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
}
`;

function miniupnpdConfig(options: UpnpRouterOptions): string {
  return [
    `ext_ifname=${options.wanIface}`,
    `listening_ip=${options.lanIface}`,
    `http_port=${UPNP_HTTP_PORT}`,
    "enable_upnp=yes",
    "enable_natpmp=yes",
    // Each LAN host may map ports to itself only.
    "secure_mode=yes",
    "system_uptime=yes",
    "ext_perform_stun=yes",
    `ext_stun_host=${options.wanAddress}`,
    `ext_stun_port=${STUN_PORT}`,
    "upnp_table_name=miniupnpd",
    "upnp_nat_table_name=miniupnpd",
    "upnp_forward_chain=miniupnpd",
    "upnp_nat_chain=prerouting_miniupnpd",
    "upnp_nat_postrouting_chain=postrouting_miniupnpd",
    `uuid=${crypto.randomUUID()}`,
    `allow 1024-65535 ${options.lanSubnet} 1024-65535`,
    "deny 0-65535 0.0.0.0/0 0-65535",
    "",
  ].join("\n");
}

/**
 * Answers each STUN binding request (RFC 5389) on `host:port` with a
 * MAPPED-ADDRESS of where it came from; miniupnpd asks four, with change
 * requests this ignores, and wants all four answered from the same address.
 */
function serveStun(host: string, port: number): void {
  const socket = createSocket("udp4");
  socket.on("message", (request: Uint8Array, from) => {
    if (
      request.length < STUN_HEADER_BYTES || request[0] !== 0 || request[1] !== 1
    ) {
      return; // Not a binding request.
    }
    const answer = new Uint8Array(STUN_HEADER_BYTES + MAPPED_ADDRESS_BYTES);
    const view = new DataView(answer.buffer);
    view.setUint16(0, 0x0101); // Binding success response.
    view.setUint16(2, MAPPED_ADDRESS_BYTES);
    answer.set(request.subarray(4, STUN_HEADER_BYTES), 4); // Cookie and transaction.
    view.setUint16(20, 0x0001); // MAPPED-ADDRESS…
    view.setUint16(22, 8); // …of 8 bytes: 0, family IPv4, port, address.
    view.setUint8(25, 1);
    view.setUint16(26, from.port);
    answer.set(from.address.split(".").map(Number), 28);
    socket.send(answer, from.port, from.address);
  });
  socket.bind(
    port,
    host,
    () => console.log(`stun listening on ${host}:${port}`),
  );
}

if (import.meta.main) {
  const [mode, host, port] = Deno.args;
  if (mode !== "stun" || !host || !port) {
    console.error("Usage: _upnp_router.ts stun HOST PORT");
    Deno.exit(2);
  }
  serveStun(host, Number(port));
}
