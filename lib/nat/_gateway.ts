/**
 * Where the home gateway is (NAT-PMP and PCP talk to it) and this host's
 * address on its network (PCP must say it), from `Deno.networkInterfaces()`.
 * That needs `--allow-sys=networkInterfaces`; without it there is no guess,
 * and only UPnP (which finds its gateway by multicast) is tried.
 *
 * The route table would name the gateway, but Deno lets a program read
 * `/proc` only with `--allow-all`, so the gateway is taken to be the first
 * address of the subnet, as on most home networks.
 *
 * @module
 */

/** The gateway to ask and this host's address beside it. */
export interface GatewayRoute {
  /** The gateway's IPv4 address (a guess: the subnet's first host). */
  gateway: string;
  /** This host's IPv4 address on the gateway's network. */
  local: string;
}

/** Longest netmask of a LAN with a gateway on it (a /31 or /32 is a point-to-point link or a VPN). */
const MAX_LAN_PREFIX = 30;

/**
 * The gateway of the first private IPv4 network this host is on, or
 * undefined if there is none or interfaces may not be listed. Never throws.
 */
export function findGateway(): GatewayRoute | undefined {
  // Asked first: calling it unpermitted would prompt on a terminal.
  const permission = Deno.permissions.querySync({
    name: "sys",
    kind: "networkInterfaces",
  });
  if (permission.state !== "granted") return undefined;
  let interfaces: Deno.NetworkInterfaceInfo[];
  try {
    interfaces = Deno.networkInterfaces();
  } catch {
    return undefined;
  }
  for (const info of interfaces) {
    if (info.family !== "IPv4") continue;
    const route = guessGateway(info.address, info.netmask);
    if (route) return route;
  }
  return undefined;
}

/**
 * The gateway guessed for an interface at `address` with `netmask`: the
 * first host of its subnet, if the subnet is private, not loopback, wide
 * enough for a gateway, and `address` is not that host itself.
 */
export function guessGateway(
  address: string,
  netmask: string,
): GatewayRoute | undefined {
  const local = parseIpv4(address);
  const mask = parseIpv4(netmask);
  if (local === undefined || mask === undefined) return undefined;
  if (prefixLength(mask) > MAX_LAN_PREFIX || !isPrivate(local)) {
    return undefined;
  }
  const gateway = ((local & mask) >>> 0) + 1;
  if (gateway === local) return undefined;
  return { gateway: formatIpv4(gateway), local: address };
}

/** 10/8, 172.16/12, 192.168/16 and the carrier-grade 100.64/10: where a home gateway's LAN is. */
function isPrivate(address: number): boolean {
  const a = address >>> 24;
  const b = (address >>> 16) & 0xff;
  return a === 10 || (a === 172 && b >= 16 && b < 32) ||
    (a === 192 && b === 168) || (a === 100 && b >= 64 && b < 128);
}

function prefixLength(mask: number): number {
  let bits = 0;
  for (let bit = 31; bit >= 0 && (mask >>> bit) & 1; bit--) bits++;
  return bits;
}

/** A dotted IPv4 address as a number, or undefined if it is not one. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part))) {
    return undefined;
  }
  const octets = parts.map(Number);
  if (octets.some((octet) => octet > 255)) return undefined;
  return ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) |
    octets[3]) >>> 0;
}

function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join(".");
}
