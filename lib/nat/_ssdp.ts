/**
 * Finding a UPnP Internet Gateway Device with SSDP: an `M-SEARCH` sent to
 * the multicast group 239.255.255.250:1900 (and again, since UDP may lose
 * it), and the first answer that names a gateway's description by an
 * `http:` URL on the address the answer came from.
 *
 * @module
 */

import { exchangeUdp } from "./_udp_exchange.ts";

/** SSDP's multicast group and port. */
export const SSDP_ADDRESS = "239.255.255.250";
/** SSDP's UDP port. */
export const SSDP_PORT = 1900;
/** Seconds a device may wait before it answers (the `MX` header); 1 is the least allowed. */
const SSDP_MX_SECONDS = 1;
/** Ms after the first search at which it is sent again. */
const SSDP_RESEND_AT_MS = [400, 1_200];
/** Most bytes of an answer read; a real one is a few hundred. */
export const MAX_SSDP_ANSWER_BYTES = 4_096;

/** What gateways are searched for: IGD version 1 (which version 2 devices also answer) and 2. */
const SEARCH_TARGETS = [
  "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
  "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
];
/** Search targets and USNs of answers worth following. */
const GATEWAY_TYPE = /InternetGatewayDevice|WAN(?:IP|PPP)Connection/;

/** A gateway that answered: where its description is. */
export interface SsdpAnswer {
  /** The URL of its device description. */
  location: URL;
  /** The address the answer came from. */
  from: string;
}

/** Options for {@linkcode searchGateway}. */
export interface SsdpSearchOptions {
  /** Ms to wait for an answer. */
  timeoutMs: number;
  /** Ends the search early. */
  signal?: AbortSignal;
}

/** The first gateway that answers a search, or undefined if none does in time. Never throws. */
export function searchGateway(
  options: SsdpSearchOptions,
): Promise<SsdpAnswer | undefined> {
  return exchangeUdp({
    host: SSDP_ADDRESS,
    port: SSDP_PORT,
    requests: SEARCH_TARGETS.map(searchRequest),
    resendAtMs: SSDP_RESEND_AT_MS,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    accept: (bytes, from) => {
      const location = parseSsdpAnswer(bytes);
      // Only a device's own description: an answer may not send this host
      // to post SOAP to some other machine.
      return location?.hostname === from.address
        ? { location, from: from.address }
        : undefined;
    },
  });
}

/** An `M-SEARCH` for `target`. */
export function searchRequest(target: string): Uint8Array {
  return new TextEncoder().encode(
    "M-SEARCH * HTTP/1.1\r\n" +
      `HOST: ${SSDP_ADDRESS}:${SSDP_PORT}\r\n` +
      'MAN: "ssdp:discover"\r\n' +
      `MX: ${SSDP_MX_SECONDS}\r\n` +
      `ST: ${target}\r\n\r\n`,
  );
}

/**
 * The description URL in an SSDP answer from a gateway; undefined if
 * `bytes` is not one (another kind of device, no `http:` location, too
 * long, or not an answer at all).
 */
export function parseSsdpAnswer(bytes: Uint8Array): URL | undefined {
  if (bytes.length > MAX_SSDP_ANSWER_BYTES) return undefined;
  const lines = new TextDecoder().decode(bytes).split(/\r?\n/);
  if (!/^HTTP\/1\.[01] 200\b/.test(lines[0])) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    headers.set(
      line.slice(0, colon).trim().toLowerCase(),
      line.slice(colon + 1).trim(),
    );
  }
  const kind = `${headers.get("st") ?? ""} ${headers.get("usn") ?? ""}`;
  if (!GATEWAY_TYPE.test(kind)) return undefined;
  try {
    const location = new URL(headers.get("location") ?? "");
    return location.protocol === "http:" ? location : undefined;
  } catch {
    return undefined;
  }
}
