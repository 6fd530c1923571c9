/**
 * Asking the home router to forward a TCP port, so that peers outside can
 * connect to one behind it: PCP (RFC 6887), then NAT-PMP (RFC 6886), both on
 * the gateway's UDP 5351, while a UPnP IGD search runs alongside; UPnP maps
 * only if neither of the others did, so one router never holds two mappings
 * for one port. The mapping is renewed at half its lease and deleted by
 * {@linkcode PortMapping.close}; a process that dies without closing it
 * leaves it to expire with its lease.
 *
 * Needs `--allow-net`; NAT-PMP and PCP also need
 * `--allow-sys=networkInterfaces` to guess the gateway (see `_gateway.ts`).
 *
 * @module
 */

import { type Address, formatAddress } from "../net/connection.ts";
import { settleWithin } from "../util/settle_within.ts";
import { findGateway } from "./_gateway.ts";
import type { Lease, MappingRequest, PortMappingMethod } from "./_lease.ts";
import { mapWithNatPmp, mapWithPcp, type PmpTarget } from "./_pmp_client.ts";
import { searchGateway, type SsdpAnswer } from "./_ssdp.ts";
import { mapWithUpnp } from "./_upnp_igd.ts";

export type { PortMappingMethod } from "./_lease.ts";

/** Ms {@linkcode mapPort} tries in all, by default. */
export const MAP_PORT_TIMEOUT_MS = 5_000;
/**
 * Ms the UPnP search and the first PCP or NAT-PMP request wait for a
 * gateway to answer: a machine without one gives up after this long.
 */
export const GATEWAY_ANSWER_MS = 2_500;
/** Seconds of lease asked for, by default. */
export const DEFAULT_LIFETIME_SECONDS = 3_600;
/** Fewest seconds of lease that may be asked for. */
export const MIN_LIFETIME_SECONDS = 2;
/** Most seconds of lease that may be asked for (a day). */
export const MAX_LIFETIME_SECONDS = 86_400;
/** Ms one renewal, or the deletion in close(), may take. */
export const LEASE_REQUEST_TIMEOUT_MS = 3_000;
/** Most ms between tries to renew once one failed. */
export const RENEW_RETRY_MS = 30_000;
/** Fewest ms between two renewals. */
const MIN_RENEW_DELAY_MS = 1_000;
/** Every method, in the order tried. */
const ALL_METHODS: readonly PortMappingMethod[] = ["pcp", "nat-pmp", "upnp"];

/** A port the router forwards to this host, until closed. */
export interface PortMapping extends AsyncDisposable {
  /**
   * The public address and port that reach the local port. It changes only
   * if a renewal is granted another port (after a router restart).
   */
  readonly external: Address;
  /** The protocol that made it. */
  readonly method: PortMappingMethod;
  /**
   * Stops renewing and deletes the mapping on the router, within
   * {@linkcode LEASE_REQUEST_TIMEOUT_MS}. Never rejects (a mapping the
   * router keeps expires with its lease); safe to call more than once.
   */
  close(): Promise<void>;
}

/** Options for {@linkcode mapPort}. */
export interface MapPortOptions {
  /** The local TCP port to forward to (the same external port is asked for first). */
  port: number;
  /** Seconds of lease to ask for; renewed at half of what is granted. @default {DEFAULT_LIFETIME_SECONDS} */
  lifetimeSeconds?: number;
  /** Ms to try in all before resolving undefined. @default {MAP_PORT_TIMEOUT_MS} */
  timeoutMs?: number;
  /** Gives up at once (rejecting with the abort reason) when aborted. */
  signal?: AbortSignal;
  /** Told what was tried and what happened, one line at a time (also later: renewals, the deletion). @default {no logging} */
  log?: (line: string) => void;
  /** The protocols that may be used (the order tried stays PCP, NAT-PMP, UPnP). @default {["pcp", "nat-pmp", "upnp"]} */
  methods?: readonly PortMappingMethod[];
}

/**
 * Asks the router to forward TCP `options.port` to this host. Resolves to
 * the mapping, or to undefined if no router here maps ports (none answered
 * within {@linkcode GATEWAY_ANSWER_MS}, or all refused), never throwing for
 * that. Rejects with a RangeError for bad options, or with the abort reason.
 *
 * @example
 * ```ts
 * const mapping = await mapPort({ port: 7000 });
 * if (mapping) console.log(`reachable at ${mapping.external.host}:${mapping.external.port}`);
 * // …serve…
 * await mapping?.close();
 * ```
 */
export async function mapPort(
  options: MapPortOptions,
): Promise<PortMapping | undefined> {
  const methods = new Set(options.methods ?? ALL_METHODS);
  const request: MappingRequest = {
    internalPort: options.port,
    lifetimeSeconds: options.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS,
    log: options.log ?? (() => {}),
  };
  const timeoutMs = options.timeoutMs ?? MAP_PORT_TIMEOUT_MS;
  checkOptions(request, timeoutMs, methods);
  options.signal?.throwIfAborted();
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const signal = options.signal
    ? AbortSignal.any([options.signal, deadline.signal])
    : deadline.signal;
  try {
    const lease = await mapFirst(request, methods, signal);
    if (lease && options.signal?.aborted) {
      await settleWithin(removeWithin(lease), LEASE_REQUEST_TIMEOUT_MS);
    }
    options.signal?.throwIfAborted();
    if (!lease) {
      request.log(`No router mapped port ${request.internalPort}.`);
      return undefined;
    }
    return new Mapping(lease, request.log);
  } catch (error) {
    options.signal?.throwIfAborted();
    if (!signal.aborted) throw error;
    // The deadline, in the middle of a request.
    request.log(
      `Gave up mapping port ${request.internalPort} after ${timeoutMs} ms.`,
    );
    return undefined;
  } finally {
    clearTimeout(timer);
    deadline.abort(); // Ends a UPnP search still running.
  }
}

/** PCP, then NAT-PMP, then UPnP on the gateway the search found meanwhile. */
async function mapFirst(
  request: MappingRequest,
  methods: ReadonlySet<PortMappingMethod>,
  signal: AbortSignal,
): Promise<Lease | undefined> {
  const search: Promise<SsdpAnswer | undefined> = methods.has("upnp")
    ? searchGateway({ timeoutMs: GATEWAY_ANSWER_MS, signal })
    : Promise.resolve(undefined);
  const lease = await mapWithPmp(request, methods, signal);
  if (lease || !methods.has("upnp")) return lease;
  const found = await search;
  if (!found) {
    request.log("UPnP: no gateway answered the search.");
    return undefined;
  }
  return await mapWithUpnp(
    { ...request, description: `p2p port ${request.internalPort}` },
    found,
    signal,
  );
}

/** PCP, then NAT-PMP unless the gateway said nothing to PCP. */
async function mapWithPmp(
  request: MappingRequest,
  methods: ReadonlySet<PortMappingMethod>,
  signal: AbortSignal,
): Promise<Lease | undefined> {
  if (!methods.has("pcp") && !methods.has("nat-pmp")) return undefined;
  const route = findGateway();
  if (!route) {
    request.log(
      "PCP and NAT-PMP: no gateway known (listing interfaces needs --allow-sys=networkInterfaces).",
    );
    return undefined;
  }
  const target: PmpTarget = {
    ...request,
    gateway: route.gateway,
    timeoutMs: GATEWAY_ANSWER_MS,
  };
  if (methods.has("pcp")) {
    const attempt = await mapWithPcp(target, route.local, signal);
    if (attempt.kind === "mapped") return attempt.lease;
    // No one listens on 5351: NAT-PMP would wait as long for nothing.
    if (attempt.kind === "silent") return undefined;
  }
  if (methods.has("nat-pmp")) {
    const attempt = await mapWithNatPmp(target, signal);
    if (attempt.kind === "mapped") return attempt.lease;
  }
  return undefined;
}

/** Throws a RangeError naming the first bad option. */
function checkOptions(
  request: MappingRequest,
  timeoutMs: number,
  methods: ReadonlySet<PortMappingMethod>,
): void {
  const { internalPort: port, lifetimeSeconds } = request;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new RangeError(`Cannot map port ${port}: a TCP port is 1 to 65535.`);
  }
  if (
    !Number.isInteger(lifetimeSeconds) ||
    lifetimeSeconds < MIN_LIFETIME_SECONDS ||
    lifetimeSeconds > MAX_LIFETIME_SECONDS
  ) {
    throw new RangeError(
      `Cannot ask for a lease of ${lifetimeSeconds} s: it must be ${MIN_LIFETIME_SECONDS} to ${MAX_LIFETIME_SECONDS} s.`,
    );
  }
  if (!(timeoutMs > 0)) {
    throw new RangeError(`The time limit ${timeoutMs} ms must be above 0.`);
  }
  const unknown = [...methods].find((method) => !ALL_METHODS.includes(method));
  if (unknown !== undefined || methods.size === 0) {
    throw new RangeError(
      `Cannot map ports by "${unknown ?? "nothing"}": use ${
        ALL_METHODS.map((method) => `"${method}"`).join(", ")
      }.`,
    );
  }
}

/** Deletes `lease` within {@linkcode LEASE_REQUEST_TIMEOUT_MS}. */
function removeWithin(lease: Lease): Promise<void> {
  return lease.remove(AbortSignal.timeout(LEASE_REQUEST_TIMEOUT_MS));
}

/** A lease, renewed on a timer until closed. */
class Mapping implements PortMapping {
  #lease: Lease;
  #log: (line: string) => void;
  /** performance.now() when the lease runs out (Infinity: never). */
  #expiresAt: number;
  #timer?: ReturnType<typeof setTimeout>;
  #renewing?: Promise<void>;
  #stop = new AbortController();
  #closing?: Promise<void>;

  constructor(lease: Lease, log: (line: string) => void) {
    this.#lease = lease;
    this.#log = log;
    this.#expiresAt = this.#granted(lease);
    log(
      `Mapped ${formatAddress(lease.external)} by ${lease.method}, ${
        lease.lifetimeSeconds
          ? `for ${lease.lifetimeSeconds} s`
          : "until removed"
      }.`,
    );
  }

  get external(): Address {
    return this.#lease.external;
  }

  get method(): PortMappingMethod {
    return this.#lease.method;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Notes a grant; schedules its renewal; returns when it expires. */
  #granted(lease: Lease): number {
    if (lease.lifetimeSeconds === 0) return Infinity;
    // A gateway may grant up to 2^32 s; a timer waits at most 2^31 ms.
    const lifetimeMs = Math.min(lease.lifetimeSeconds, MAX_LIFETIME_SECONDS) *
      1000;
    this.#schedule(Math.max(MIN_RENEW_DELAY_MS, lifetimeMs / 2));
    return performance.now() + lifetimeMs;
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#renewing = this.#renew();
    }, delayMs);
    // A mapping must not keep a process alive that has nothing else to do.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  async #renew(): Promise<void> {
    const signal = AbortSignal.any([
      this.#stop.signal,
      AbortSignal.timeout(LEASE_REQUEST_TIMEOUT_MS),
    ]);
    try {
      const lease = await this.#lease.renew(signal);
      if (this.#stop.signal.aborted) return;
      if (formatAddress(lease.external) !== formatAddress(this.external)) {
        this.#log(
          `The router moved the mapping to ${formatAddress(lease.external)}.`,
        );
      }
      this.#lease = lease;
      this.#expiresAt = this.#granted(lease);
      this.#log(
        `Renewed ${
          formatAddress(lease.external)
        } for ${lease.lifetimeSeconds} s.`,
      );
    } catch (error) {
      if (this.#stop.signal.aborted) return;
      const left = this.#expiresAt - performance.now();
      this.#log(`Could not renew the mapping: ${(error as Error).message}.`);
      this.#schedule(
        left > 0
          ? Math.min(RENEW_RETRY_MS, Math.max(MIN_RENEW_DELAY_MS, left / 2))
          : RENEW_RETRY_MS,
      );
    }
  }

  async #close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#stop.abort();
    // A renewal in flight must not add the mapping back after the deletion.
    if (this.#renewing) {
      await settleWithin(this.#renewing, LEASE_REQUEST_TIMEOUT_MS);
    }
    const external = formatAddress(this.external);
    try {
      await removeWithin(this.#lease);
      this.#log(`Removed the mapping of ${external}.`);
    } catch (error) {
      this.#log(
        `Could not remove the mapping of ${external}: ${
          (error as Error).message
        }.`,
      );
    }
  }
}
