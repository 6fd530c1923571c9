/**
 * Mapping a TCP port with PCP or NAT-PMP: requests to the gateway's UDP
 * 5351, sent again on RFC 6886's doubling schedule until it answers or the
 * time is up, and only answers from the gateway itself believed.
 *
 * @module
 */

import type { Lease, MappingRequest } from "./_lease.ts";
import {
  decodeNatPmpAddress,
  decodeNatPmpMap,
  decodePcpMap,
  encodeNatPmpAddressRequest,
  encodeNatPmpMap,
  encodePcpMap,
  PCP_NONCE_BYTES,
  PMP_SERVER_PORT,
  type PmpAnswer,
  type PmpGrant,
} from "./_pmp_wire.ts";
import {
  doublingSchedule,
  exchangeUdp,
  type UdpSource,
} from "./_udp_exchange.ts";

/** Ms before a request is first sent again (RFC 6886 section 3.1). */
export const PMP_FIRST_RESEND_MS = 250;
/** Times a request is sent again, the wait doubling each time, within its deadline. */
const PMP_RESENDS = 4;

/** How an attempt with one protocol went. */
export type PmpAttempt =
  | { kind: "mapped"; lease: Lease }
  /** The gateway answered that it does not speak this protocol. */
  | { kind: "unsupported" }
  /** The gateway answered, and refused (logged). */
  | { kind: "refused" }
  /** Nothing answered in time. */
  | { kind: "silent" };

/** A gateway to ask, and the limit of one request to it. */
export interface PmpTarget extends MappingRequest {
  /** The gateway's IPv4 address. */
  gateway: string;
  /** Ms one request (with its resends) may take. */
  timeoutMs: number;
}

type Ask = (
  suggestedPort: number,
  lifetimeSeconds: number,
  signal: AbortSignal,
) => Promise<PmpAnswer<PmpGrant> | undefined>;

/**
 * Maps `target.internalPort` with PCP, asking for the same external port;
 * `client` is this host's address on the gateway's network (PCP checks it
 * against the packet's source).
 */
export async function mapWithPcp(
  target: PmpTarget,
  client: string,
  signal: AbortSignal,
): Promise<PmpAttempt> {
  const nonce = crypto.getRandomValues(new Uint8Array(PCP_NONCE_BYTES));
  const ask: Ask = (suggestedPort, lifetimeSeconds, signal) =>
    exchange(
      target,
      encodePcpMap({
        client,
        nonce,
        internalPort: target.internalPort,
        suggestedPort,
        lifetimeSeconds,
      }),
      (bytes) => decodePcpMap(bytes, nonce),
      signal,
    );
  const answer = await ask(target.internalPort, target.lifetimeSeconds, signal);
  if (answer?.kind !== "ok") return failure("PCP", target, answer);
  const lease = pcpLease(target, ask, answer.value);
  if (lease) return { kind: "mapped", lease };
  target.log(`PCP: ${target.gateway} gave no IPv4 external address.`);
  return { kind: "refused" };
}

/**
 * Maps `target.internalPort` with NAT-PMP, asking for the same external
 * port; asks the external address first (which also tells whether anyone
 * answers).
 */
export async function mapWithNatPmp(
  target: PmpTarget,
  signal: AbortSignal,
): Promise<PmpAttempt> {
  const address = await exchange(
    target,
    encodeNatPmpAddressRequest(),
    decodeNatPmpAddress,
    signal,
  );
  if (address?.kind !== "ok") return failure("NAT-PMP", target, address);
  const ask: Ask = (suggestedPort, lifetimeSeconds, signal) =>
    exchange(
      target,
      encodeNatPmpMap(target.internalPort, suggestedPort, lifetimeSeconds),
      (bytes) => decodeNatPmpMap(bytes, target.internalPort),
      signal,
    );
  const answer = await ask(target.internalPort, target.lifetimeSeconds, signal);
  if (answer?.kind !== "ok") return failure("NAT-PMP", target, answer);
  return {
    kind: "mapped",
    lease: natPmpLease(target, ask, address.value, answer.value),
  };
}

function pcpLease(
  target: PmpTarget,
  ask: Ask,
  grant: PmpGrant,
): Lease | undefined {
  if (!grant.externalHost) return undefined;
  const external = { host: grant.externalHost, port: grant.externalPort };
  return {
    method: "pcp",
    external,
    lifetimeSeconds: grant.lifetimeSeconds,
    renew: async (signal) => {
      const answer = await ask(external.port, target.lifetimeSeconds, signal);
      const lease = pcpLease(target, ask, granted("PCP", answer, signal));
      if (!lease) throw new Error("PCP: no IPv4 external address");
      return lease;
    },
    remove: async (signal) => {
      granted("PCP", await ask(external.port, 0, signal), signal);
    },
  };
}

function natPmpLease(
  target: PmpTarget,
  ask: Ask,
  host: string,
  grant: PmpGrant,
): Lease {
  const external = { host, port: grant.externalPort };
  return {
    method: "nat-pmp",
    external,
    lifetimeSeconds: grant.lifetimeSeconds,
    renew: async (signal) => {
      const answer = await ask(external.port, target.lifetimeSeconds, signal);
      return natPmpLease(target, ask, host, granted("NAT-PMP", answer, signal));
    },
    remove: async (signal) => {
      // RFC 6886 section 3.4: a deletion suggests external port 0.
      granted("NAT-PMP", await ask(0, 0, signal), signal);
    },
  };
}

/** The attempt a first answer that is not a grant makes, logged. */
function failure(
  protocol: string,
  target: PmpTarget,
  answer: Exclude<PmpAnswer<unknown>, { kind: "ok" }> | undefined,
): PmpAttempt {
  const gateway = `${target.gateway}:${PMP_SERVER_PORT}`;
  if (answer === undefined) {
    target.log(`${protocol}: no answer from ${gateway}.`);
    return { kind: "silent" };
  }
  if (answer.kind === "unsupported-version") {
    target.log(`${protocol}: ${gateway} does not speak it.`);
    return { kind: "unsupported" };
  }
  target.log(`${protocol}: ${gateway} refused: ${answer.error}.`);
  return { kind: "refused" };
}

/** The grant of a renewal or deletion; throws an Error saying why there is none. */
function granted(
  protocol: string,
  answer: PmpAnswer<PmpGrant> | undefined,
  signal: AbortSignal,
): PmpGrant {
  signal.throwIfAborted();
  if (answer === undefined) throw new Error(`${protocol}: no answer`);
  if (answer.kind === "unsupported-version") {
    throw new Error(`${protocol}: the gateway no longer speaks it`);
  }
  if (answer.kind === "error") throw new Error(`${protocol}: ${answer.error}`);
  return answer.value;
}

/** One request to the gateway and its answer, or undefined if none came. */
function exchange<T>(
  target: PmpTarget,
  request: Uint8Array,
  decode: (bytes: Uint8Array) => T | undefined,
  signal: AbortSignal,
): Promise<T | undefined> {
  return exchangeUdp({
    host: target.gateway,
    port: PMP_SERVER_PORT,
    requests: [request],
    resendAtMs: doublingSchedule(PMP_FIRST_RESEND_MS, PMP_RESENDS),
    timeoutMs: target.timeoutMs,
    signal,
    accept: (bytes: Uint8Array, from: UdpSource) =>
      from.address === target.gateway && from.port === PMP_SERVER_PORT
        ? decode(bytes)
        : undefined,
  });
}
