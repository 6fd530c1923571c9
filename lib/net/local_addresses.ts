/**
 * Where others on this machine's networks can reach a server listening on
 * every address (`0.0.0.0`, `::`): the addresses of its interfaces, so the
 * server can say which to give them. Listing interfaces needs
 * `--allow-sys=networkInterfaces`; without it (asked without a prompt)
 * there are none to say.
 *
 * @module
 */

/** Most addresses named: a machine with many (containers, VPNs) lists the first. */
export const MAX_LOCAL_ADDRESSES = 4;

/** Options for {@linkcode localAddresses}. */
export interface LocalAddressesOptions {
  /**
   * This machine's interfaces.
   * @default {Deno.networkInterfaces(), if permitted, else none}
   */
  interfaces?: () => Deno.NetworkInterfaceInfo[];
}

/**
 * The addresses of this machine that a server on wildcard `host` answers
 * and another machine may reach: IPv4 for `0.0.0.0`, IPv4 and IPv6 for
 * `::`, leaving out loopback and link-local ones, each once, at most
 * {@linkcode MAX_LOCAL_ADDRESSES}. None for any other `host` (the server
 * listens there alone, and says so).
 *
 * @example
 * ```ts
 * localAddresses("0.0.0.0"); // ["192.168.1.20"] on a home network
 * localAddresses("127.0.0.1"); // []
 * ```
 */
export function localAddresses(
  host: string,
  options: LocalAddressesOptions = {},
): string[] {
  if (host !== "0.0.0.0" && host !== "::") return [];
  const found = new Set<string>();
  for (const { family, address } of (options.interfaces ?? interfaces)()) {
    if (family === "IPv6" && host !== "::") continue;
    if (isLocalOnly(address)) continue;
    found.add(address);
  }
  return [...found].slice(0, MAX_LOCAL_ADDRESSES);
}

/** This machine's interfaces, if listing them is permitted (no prompt). */
function interfaces(): Deno.NetworkInterfaceInfo[] {
  try {
    const permission = Deno.permissions.querySync({
      name: "sys",
      kind: "networkInterfaces",
    });
    return permission.state === "granted" ? Deno.networkInterfaces() : [];
  } catch {
    return [];
  }
}

/** Loopback and link-local addresses: no other machine reaches them by them. */
function isLocalOnly(address: string): boolean {
  const lower = address.toLowerCase();
  return lower.startsWith("127.") || lower === "::1" ||
    lower.startsWith("169.254.") || /^fe[89ab]/.test(lower) ||
    lower.startsWith("::ffff:127.");
}
