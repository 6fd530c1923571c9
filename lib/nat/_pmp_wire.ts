/**
 * The bytes of NAT-PMP (RFC 6886) and PCP (RFC 6887), the two port-mapping
 * protocols a gateway answers on UDP 5351, as pure code: requests to map a
 * TCP port (or delete the mapping, with lifetime 0) and to ask the external
 * address, and their answers, checked before anything is read from them.
 * A PCP MAP answer carries the external address; NAT-PMP needs a second
 * request for it.
 *
 * @module
 */

/** The UDP port a NAT-PMP or PCP server listens on, on the gateway. */
export const PMP_SERVER_PORT = 5351;

/** Bytes of a NAT-PMP external-address request, answer, map request and answer. */
const NAT_PMP_ADDRESS_REQUEST_BYTES = 2;
const NAT_PMP_ADDRESS_ANSWER_BYTES = 12;
const NAT_PMP_MAP_REQUEST_BYTES = 12;
const NAT_PMP_MAP_ANSWER_BYTES = 16;
/** Bytes of a PCP MAP request or answer: the 24-byte header and 36 of MAP. */
const PCP_MAP_BYTES = 60;
/** Bytes of the random nonce that ties a PCP mapping to its client. */
export const PCP_NONCE_BYTES = 12;
/** Bytes of the shortest answer that carries a version, opcode and result. */
const MIN_ANSWER_BYTES = 4;

const NAT_PMP_VERSION = 0;
const PCP_VERSION = 2;
/** Set on the opcode of every answer (NAT-PMP adds 128; PCP's R bit). */
const ANSWER_BIT = 0x80;
const NAT_PMP_OP_ADDRESS = 0;
const NAT_PMP_OP_MAP_TCP = 2;
const PCP_OP_MAP = 1;
const IPPROTO_TCP = 6;
/** The result code both protocols use for "I do not speak that version". */
const UNSUPPORTED_VERSION = 1;

const NAT_PMP_RESULTS = [
  "success",
  "unsupported version",
  "not authorized or refused",
  "network failure",
  "out of resources",
  "unsupported opcode",
];
const PCP_RESULTS = [
  "success",
  "unsupported version",
  "not authorized",
  "malformed request",
  "unsupported opcode",
  "unsupported option",
  "malformed option",
  "network failure",
  "no resources",
  "unsupported protocol",
  "user exceeded quota",
  "cannot provide external",
  "address mismatch",
  "excessive remote peers",
];

/** What a gateway granted for a map request. */
export interface PmpGrant {
  /** The external port; 0 when a deletion was confirmed. */
  externalPort: number;
  /** Seconds the mapping lasts (0 for a deletion). */
  lifetimeSeconds: number;
  /** The external IPv4 address (PCP says it; for NAT-PMP ask it apart). */
  externalHost?: string;
}

/**
 * One answer of a gateway: what it granted, a refusal (`error`, a short
 * phrase), or that it does not speak the version asked (a NAT-PMP gateway
 * asked in PCP, or the reverse).
 */
export type PmpAnswer<T> =
  | { kind: "ok"; value: T }
  | { kind: "unsupported-version" }
  | { kind: "error"; error: string };

/** Options for {@linkcode encodePcpMap}. */
export interface PcpMapRequest {
  /** The client's own IPv4 address, as the gateway sees it. */
  client: string;
  /** The nonce of this mapping ({@linkcode PCP_NONCE_BYTES} random bytes). */
  nonce: Uint8Array;
  /** The local TCP port to map. */
  internalPort: number;
  /** The external port asked for (0: any). */
  suggestedPort: number;
  /** Seconds asked for; 0 deletes the mapping. */
  lifetimeSeconds: number;
}

/** The NAT-PMP request for the gateway's external address. */
export function encodeNatPmpAddressRequest(): Uint8Array {
  const bytes = new Uint8Array(NAT_PMP_ADDRESS_REQUEST_BYTES);
  bytes[0] = NAT_PMP_VERSION;
  bytes[1] = NAT_PMP_OP_ADDRESS;
  return bytes;
}

/** A NAT-PMP request to map TCP `internalPort` (lifetime 0 deletes it). */
export function encodeNatPmpMap(
  internalPort: number,
  suggestedPort: number,
  lifetimeSeconds: number,
): Uint8Array {
  const bytes = new Uint8Array(NAT_PMP_MAP_REQUEST_BYTES);
  const view = new DataView(bytes.buffer);
  bytes[0] = NAT_PMP_VERSION;
  bytes[1] = NAT_PMP_OP_MAP_TCP;
  view.setUint16(4, internalPort);
  view.setUint16(6, suggestedPort);
  view.setUint32(8, lifetimeSeconds);
  return bytes;
}

/** A PCP MAP request for TCP (lifetime 0 deletes the mapping). */
export function encodePcpMap(request: PcpMapRequest): Uint8Array {
  if (request.nonce.length !== PCP_NONCE_BYTES) {
    throw new RangeError(
      `A PCP nonce has ${PCP_NONCE_BYTES} bytes, not ${request.nonce.length}.`,
    );
  }
  const bytes = new Uint8Array(PCP_MAP_BYTES);
  const view = new DataView(bytes.buffer);
  bytes[0] = PCP_VERSION;
  bytes[1] = PCP_OP_MAP;
  view.setUint32(4, request.lifetimeSeconds);
  bytes.set(mappedIpv4(request.client), 8);
  bytes.set(request.nonce, 24);
  bytes[36] = IPPROTO_TCP;
  view.setUint16(40, request.internalPort);
  view.setUint16(42, request.suggestedPort);
  // No preference for the external address: the IPv4-mapped 0.0.0.0.
  bytes.set(mappedIpv4("0.0.0.0"), 44);
  return bytes;
}

/**
 * Reads a NAT-PMP external-address answer; undefined if `bytes` is not one
 * (too short, another opcode), to be ignored as a stray datagram.
 */
export function decodeNatPmpAddress(
  bytes: Uint8Array,
): PmpAnswer<string> | undefined {
  const head = answerHead(bytes, NAT_PMP_OP_ADDRESS);
  if (!head || head.kind !== "ok") return head;
  if (bytes.length < NAT_PMP_ADDRESS_ANSWER_BYTES) return undefined;
  return { kind: "ok", value: bytes.subarray(8, 12).join(".") };
}

/**
 * Reads a NAT-PMP answer to a TCP map request for `internalPort`; undefined
 * if `bytes` is not one.
 */
export function decodeNatPmpMap(
  bytes: Uint8Array,
  internalPort: number,
): PmpAnswer<PmpGrant> | undefined {
  const head = answerHead(bytes, NAT_PMP_OP_MAP_TCP);
  if (!head || head.kind !== "ok") return head;
  if (bytes.length < NAT_PMP_MAP_ANSWER_BYTES) return undefined;
  const view = viewOf(bytes);
  if (view.getUint16(8) !== internalPort) return undefined;
  return {
    kind: "ok",
    value: {
      externalPort: view.getUint16(10),
      lifetimeSeconds: view.getUint32(12),
    },
  };
}

/**
 * Reads a PCP MAP answer to the request with `nonce`; undefined if `bytes`
 * is not one. A NAT-PMP gateway answers a PCP request with its own
 * "unsupported version", which comes back as that.
 */
export function decodePcpMap(
  bytes: Uint8Array,
  nonce: Uint8Array,
): PmpAnswer<PmpGrant> | undefined {
  if (bytes.length < MIN_ANSWER_BYTES) return undefined;
  if (bytes[0] === NAT_PMP_VERSION) {
    // RFC 6887 appendix A: a NAT-PMP-only server answers in NAT-PMP.
    const code = viewOf(bytes).getUint16(2);
    return code === UNSUPPORTED_VERSION
      ? { kind: "unsupported-version" }
      : undefined;
  }
  if (bytes[0] !== PCP_VERSION || bytes[1] !== (ANSWER_BIT | PCP_OP_MAP)) {
    return undefined;
  }
  const code = bytes[3];
  if (code === UNSUPPORTED_VERSION) return { kind: "unsupported-version" };
  if (code !== 0) {
    return { kind: "error", error: resultText(PCP_RESULTS, code) };
  }
  if (bytes.length < PCP_MAP_BYTES) return undefined;
  if (!sameBytes(bytes.subarray(24, 36), nonce)) return undefined;
  const view = viewOf(bytes);
  return {
    kind: "ok",
    value: {
      externalPort: view.getUint16(42),
      lifetimeSeconds: view.getUint32(4),
      externalHost: ipv4FromMapped(bytes.subarray(44, 60)),
    },
  };
}

/** The version, opcode and result code of a NAT-PMP answer to `op`. */
function answerHead(
  bytes: Uint8Array,
  op: number,
): PmpAnswer<undefined> | undefined {
  if (bytes.length < MIN_ANSWER_BYTES) return undefined;
  if (bytes[0] !== NAT_PMP_VERSION) {
    // A PCP-only server answers NAT-PMP in PCP (RFC 6887 section 9).
    return bytes[0] === PCP_VERSION && bytes[3] === UNSUPPORTED_VERSION
      ? { kind: "unsupported-version" }
      : undefined;
  }
  if (bytes[1] !== (ANSWER_BIT | op)) return undefined;
  const code = viewOf(bytes).getUint16(2);
  if (code === UNSUPPORTED_VERSION) return { kind: "unsupported-version" };
  if (code !== 0) {
    return { kind: "error", error: resultText(NAT_PMP_RESULTS, code) };
  }
  return { kind: "ok", value: undefined };
}

function resultText(texts: readonly string[], code: number): string {
  return `${texts[code] ?? "unknown result"} (code ${code})`;
}

/** The 16 bytes of `host` (dotted IPv4) as an IPv4-mapped IPv6 address. */
function mappedIpv4(host: string): Uint8Array {
  const octets = host.split(".").map(Number);
  if (
    octets.length !== 4 ||
    octets.some((octet) => !Number.isInteger(octet) || octet < 0 || octet > 255)
  ) {
    throw new TypeError(`"${host}" is not an IPv4 address.`);
  }
  const bytes = new Uint8Array(16);
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  bytes.set(octets, 12);
  return bytes;
}

/** Dotted IPv4 from an IPv4-mapped address; undefined for any other IPv6. */
function ipv4FromMapped(bytes: Uint8Array): string | undefined {
  const mapped = bytes.subarray(0, 10).every((byte) => byte === 0) &&
    bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.subarray(12, 16).join(".") : undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
