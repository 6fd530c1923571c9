/**
 * The relay's few bytes of protocol, shared by the relay and the side that
 * connects to it: the 24-byte hello a peer opens with and the one status
 * byte the relay answers. Everything after the status byte is the two
 * peers' own (encrypted) stream, which the relay never parses.
 *
 * ```text
 * hello:  "P2PR" | version (1) | role (0 asker, 1 asked) | 0 0 | token (16)
 * answer: status (0 paired, 1 unknown, 2 no partner, 3 busy)
 * ```
 *
 * @module
 */

/** The first four bytes of a hello: ASCII "P2PR". */
export const RELAY_MAGIC: Uint8Array = new TextEncoder().encode("P2PR");
/** The relay protocol's version, the hello's fifth byte. */
export const RELAY_VERSION = 1;
/** Bytes of the token the tracker gives both peers. */
export const RELAY_TOKEN_SIZE = 16;
/** Bytes of the whole hello: magic, version, role, two reserved, token. */
export const RELAY_HELLO_SIZE = 24;
/**
 * Ms the relay waits, by default, for the second peer of a pair once the
 * first is there: the tracker tells both at once, so a partner that is coming
 * comes within a round trip or two; the side that connects waits this long
 * plus its own connect time for the answer.
 */
export const PAIR_TIMEOUT_MS = 10_000;

const VERSION_AT = 4;
const ROLE_AT = 5;
const RESERVED_AT = 6;
const TOKEN_AT = 8;

/** Which end of a relayed connection a peer is. */
export type RelayRole = "asker" | "asked";

/** The role byte of each role. */
export const ROLE_BYTE: Readonly<Record<RelayRole, number>> = {
  asker: 0,
  asked: 1,
};

/** The relay's one-byte answer to a hello. */
export const RelayStatus = {
  /** Both peers are here: from the next byte on, it is the partner's. */
  paired: 0,
  /** The token is not expected (never, expired, used) or not from this host. */
  unknown: 1,
  /** The partner did not come within the pair timeout. */
  noPartner: 2,
  /** The relay or this host has as many sessions as it may. */
  busy: 3,
} as const;

/** What a hello asks for. */
export interface RelayHello {
  /** Which end the sender is. */
  role: RelayRole;
  /** The token the tracker gave both ends. */
  token: Uint8Array;
}

/** The 24-byte hello of `role` presenting `token`. */
export function encodeHello(hello: RelayHello): Uint8Array {
  checkToken(hello.token);
  const bytes = new Uint8Array(RELAY_HELLO_SIZE);
  bytes.set(RELAY_MAGIC, 0);
  bytes[VERSION_AT] = RELAY_VERSION;
  bytes[ROLE_AT] = ROLE_BYTE[hello.role];
  bytes.set(hello.token, TOKEN_AT);
  return bytes;
}

/**
 * Reads a 24-byte hello; throws a `SyntaxError` naming what is wrong
 * (magic, version, role, reserved bytes) when it is not one.
 */
export function decodeHello(bytes: Uint8Array): RelayHello {
  if (bytes.length !== RELAY_HELLO_SIZE) {
    throw new SyntaxError(
      `A relay hello is ${RELAY_HELLO_SIZE} bytes, got ${bytes.length}`,
    );
  }
  if (!RELAY_MAGIC.every((byte, i) => bytes[i] === byte)) {
    throw new SyntaxError("Not a relay hello (wrong magic bytes)");
  }
  if (bytes[VERSION_AT] !== RELAY_VERSION) {
    throw new SyntaxError(
      `Unsupported relay version ${
        bytes[VERSION_AT]
      } (expected ${RELAY_VERSION})`,
    );
  }
  const role = bytes[ROLE_AT] === ROLE_BYTE.asker
    ? "asker"
    : bytes[ROLE_AT] === ROLE_BYTE.asked
    ? "asked"
    : undefined;
  if (!role) throw new SyntaxError(`Unknown relay role ${bytes[ROLE_AT]}`);
  if (bytes[RESERVED_AT] !== 0 || bytes[RESERVED_AT + 1] !== 0) {
    throw new SyntaxError("The relay hello's reserved bytes are not zero");
  }
  return { role, token: bytes.slice(TOKEN_AT) };
}

/** Throws a `RangeError` unless `token` is {@linkcode RELAY_TOKEN_SIZE} bytes. */
export function checkToken(token: Uint8Array): void {
  if (!(token instanceof Uint8Array) || token.length !== RELAY_TOKEN_SIZE) {
    throw new RangeError(
      `A relay token is ${RELAY_TOKEN_SIZE} bytes, got ${
        token instanceof Uint8Array ? token.length : typeof token
      }`,
    );
  }
}
