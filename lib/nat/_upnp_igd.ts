/**
 * Mapping a TCP port with UPnP IGD: given the gateway SSDP found, read its
 * device description for the WAN connection service, then ask it by SOAP
 * for its external address (`GetExternalIPAddress`) and the mapping
 * (`AddPortMapping`, `DeletePortMapping`). Every HTTP exchange is bounded in
 * time (by the caller's signal) and in size.
 *
 * @module
 */

import type { Lease, MappingRequest } from "./_lease.ts";
import type { SsdpAnswer } from "./_ssdp.ts";

/** Most bytes of a device description read (a real one is a few KiB). */
export const MAX_DESCRIPTION_BYTES = 64 * 1024;
/** Most bytes of a SOAP answer read. */
export const MAX_SOAP_ANSWER_BYTES = 16 * 1024;
/** External ports tried at random after the gateway refuses the same port as the internal one. */
const UPNP_RANDOM_PORT_TRIES = 3;
/** Lowest external port asked for at random (below are well-known ports a gateway refuses). */
const MIN_RANDOM_PORT = 1024;

/** UPnP error codes that change what is asked next. */
const CONFLICT_IN_MAPPING_ENTRY = 718;
const ONLY_PERMANENT_LEASES_SUPPORTED = 725;

/** WAN connection services, the preferred first. */
const WAN_SERVICES = [
  "urn:schemas-upnp-org:service:WANIPConnection:2",
  "urn:schemas-upnp-org:service:WANIPConnection:1",
  "urn:schemas-upnp-org:service:WANPPPConnection:1",
];

/** A gateway's WAN connection service: where to send SOAP, in which service's name. */
export interface IgdService {
  /** The service type, as SOAP actions name it. */
  serviceType: string;
  /** Where its SOAP actions go. */
  controlUrl: URL;
}

/** What {@linkcode mapWithUpnp} needs beyond the request. */
export interface UpnpTarget extends MappingRequest {
  /** Shown on the gateway's list of mappings. */
  description: string;
}

/** A SOAP fault: the gateway refused an action. */
export class UpnpError extends Error {
  /** The UPnP error code (718: conflict, 725: only permanent leases…), or the HTTP status. */
  readonly code: number;

  /** A refusal with `code`, described by `message`. */
  constructor(code: number, message: string) {
    super(message);
    this.name = "UpnpError";
    this.code = code;
  }
}

/**
 * Maps `target.internalPort` on the gateway that answered `found`, asking
 * for the same external port first; resolves undefined (logged) if it
 * refuses or cannot be understood. Rejects only if `signal` aborts.
 */
export async function mapWithUpnp(
  target: UpnpTarget,
  found: SsdpAnswer,
  signal: AbortSignal,
): Promise<Lease | undefined> {
  try {
    const service = await describe(found.location, signal);
    const host = await externalAddress(service, signal);
    const client = await localAddressTowards(service.controlUrl, signal);
    return await addFirstFree(target, service, host, client, signal);
  } catch (error) {
    signal.throwIfAborted();
    target.log(
      `UPnP: the gateway at ${found.location} did not map the port: ${
        (error as Error).message
      }.`,
    );
    return undefined;
  }
}

/** Reads the description at `location`; throws if it has no WAN connection service. */
async function describe(
  location: URL,
  signal: AbortSignal,
): Promise<IgdService> {
  const response = await fetch(location, { signal });
  const xml = await readLimited(response, MAX_DESCRIPTION_BYTES);
  if (!response.ok) {
    throw new Error(`its description answered ${response.status}`);
  }
  const service = parseDescription(xml, location);
  if (!service) {
    throw new Error("its description has no WAN connection service");
  }
  return service;
}

/**
 * The preferred WAN connection service of a device description, its
 * control URL resolved against `URLBase` or `location`; undefined if it has
 * none reachable over `http:` on the host of `location`.
 */
export function parseDescription(
  xml: string,
  location: URL,
): IgdService | undefined {
  const base = textOf(xml, "URLBase") || location.href;
  const services = [
    ...xml.matchAll(
      /<(?:\w+:)?service(?:\s[^>]*)?>([\s\S]*?)<\/(?:\w+:)?service\s*>/g,
    ),
  ].map((match) => ({
    serviceType: textOf(match[1], "serviceType") ?? "",
    control: textOf(match[1], "controlURL"),
  }));
  for (const type of WAN_SERVICES) {
    const service = services.find((s) => s.serviceType === type && s.control);
    if (!service?.control) continue;
    try {
      const controlUrl = new URL(service.control, base);
      // SOAP goes to the device that described itself, nowhere else.
      const same = controlUrl.hostname === location.hostname;
      if (controlUrl.protocol === "http:" && same) {
        return { serviceType: type, controlUrl };
      }
    } catch {
      // A bad URL: try the next service.
    }
  }
  return undefined;
}

async function externalAddress(
  service: IgdService,
  signal: AbortSignal,
): Promise<string> {
  const answer = await soap(service, "GetExternalIPAddress", [], signal);
  const host = textOf(answer, "NewExternalIPAddress") ?? "";
  if (!/^\d{1,3}(?:\.\d{1,3}){3}$/.test(host) || host === "0.0.0.0") {
    throw new Error(`it has no external IPv4 address ("${host}")`);
  }
  return host;
}

/** The address this host reaches `url` from: the one to map to. */
async function localAddressTowards(
  url: URL,
  signal: AbortSignal,
): Promise<string> {
  const conn = await Deno.connect({
    hostname: url.hostname,
    port: Number(url.port || 80),
    signal,
  });
  try {
    return (conn.localAddr as Deno.NetAddr).hostname;
  } finally {
    conn.close();
  }
}

/** Maps the same external port, or if that one is taken, others at random. */
async function addFirstFree(
  target: UpnpTarget,
  service: IgdService,
  host: string,
  client: string,
  signal: AbortSignal,
): Promise<Lease> {
  let port = target.internalPort;
  for (let tried = 0;; tried++) {
    try {
      return await addMapping(target, service, { host, port }, client, signal);
    } catch (error) {
      const conflict = error instanceof UpnpError &&
        error.code === CONFLICT_IN_MAPPING_ENTRY;
      if (!conflict || tried >= UPNP_RANDOM_PORT_TRIES) throw error;
      target.log(`UPnP: external port ${port} is taken; trying another.`);
      port = MIN_RANDOM_PORT +
        Math.floor(Math.random() * (65_536 - MIN_RANDOM_PORT));
    }
  }
}

/** `AddPortMapping` for `external`, falling back to a permanent lease if the gateway knows no other. */
async function addMapping(
  target: UpnpTarget,
  service: IgdService,
  external: { host: string; port: number },
  client: string,
  signal: AbortSignal,
): Promise<Lease> {
  const add = (lifetimeSeconds: number, signal: AbortSignal) =>
    soap(service, "AddPortMapping", [
      ["NewRemoteHost", ""],
      ["NewExternalPort", String(external.port)],
      ["NewProtocol", "TCP"],
      ["NewInternalPort", String(target.internalPort)],
      ["NewInternalClient", client],
      ["NewEnabled", "1"],
      ["NewPortMappingDescription", target.description],
      ["NewLeaseDuration", String(lifetimeSeconds)],
    ], signal);
  let lifetimeSeconds = target.lifetimeSeconds;
  try {
    await add(lifetimeSeconds, signal);
  } catch (error) {
    if (
      !(error instanceof UpnpError) ||
      error.code !== ONLY_PERMANENT_LEASES_SUPPORTED
    ) {
      throw error;
    }
    // Kept until close() deletes it, or the gateway restarts.
    lifetimeSeconds = 0;
    await add(lifetimeSeconds, signal);
  }
  const lease: Lease = {
    method: "upnp",
    external,
    lifetimeSeconds,
    // Adding the same mapping again for the same client extends it.
    renew: async (signal) => {
      await add(lifetimeSeconds, signal);
      return lease;
    },
    remove: async (signal) => {
      await soap(service, "DeletePortMapping", [
        ["NewRemoteHost", ""],
        ["NewExternalPort", String(external.port)],
        ["NewProtocol", "TCP"],
      ], signal);
    },
  };
  return lease;
}

/**
 * Calls SOAP `action` with `args` on `service`; resolves to the answer's
 * XML, throws a {@linkcode UpnpError} for a fault or an HTTP error.
 */
async function soap(
  service: IgdService,
  action: string,
  args: [string, string][],
  signal: AbortSignal,
): Promise<string> {
  const body = '<?xml version="1.0"?>\r\n' +
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" ' +
    's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    `<s:Body><u:${action} xmlns:u="${service.serviceType}">` +
    args.map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
      .join("") +
    `</u:${action}></s:Body></s:Envelope>\r\n`;
  const response = await fetch(service.controlUrl, {
    method: "POST",
    headers: {
      "Content-Type": 'text/xml; charset="utf-8"',
      "SOAPAction": `"${service.serviceType}#${action}"`,
    },
    body,
    signal,
  });
  const answer = await readLimited(response, MAX_SOAP_ANSWER_BYTES);
  if (response.ok) return answer;
  const code = Number(textOf(answer, "errorCode") ?? response.status);
  const description = textOf(answer, "errorDescription") ??
    `HTTP ${response.status}`;
  throw new UpnpError(code, `${action} failed: ${description} (${code})`);
}

/** The body of `response`, throwing once it passes `limit` bytes. */
async function readLimited(response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? 0);
  if (declared > limit) {
    await response.body?.cancel();
    throw new RangeError(`an answer of ${declared} bytes is over ${limit}`);
  }
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel();
      throw new RangeError(`an answer is over ${limit} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(bytes);
}

/** The text of the first element `name` (any namespace prefix), entities decoded. */
export function textOf(xml: string, name: string): string | undefined {
  const match = new RegExp(
    `<(?:[\\w.-]+:)?${name}(?:\\s[^>]*)?>([^<]*)</(?:[\\w.-]+:)?${name}\\s*>`,
  ).exec(xml);
  return match ? decodeEntities(match[1].trim()) : undefined;
}

const ENTITIES: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
};

function decodeEntities(text: string): string {
  return text.replace(
    /&(amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g,
    (entity, name: string) => {
      if (!name.startsWith("#")) return ENTITIES[name];
      const code = name.startsWith("#x")
        ? parseInt(name.slice(2), 16)
        : Number(name.slice(1));
      return code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    },
  );
}

function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) =>
      `&${Object.keys(ENTITIES).find((name) => ENTITIES[name] === char)};`,
  );
}
