/**
 * Keys of private shares and of a team tracker, as pure code. One secret
 * (the share link's, or the team's secret file) is stretched with
 * HKDF-SHA256 into keys that each serve one purpose, under distinct labels,
 * so none can stand in for another:
 *
 * - the lookup key: the only name the tracker sees and stores for a private
 *   file (64 lowercase hex chars, shaped like a file ID);
 * - the metadata key: seals the file's metadata (name, size, piece hashes)
 *   into the opaque blob the tracker stores ({@linkcode sealMetadata});
 * - the handshake PSK: mixed into the peer handshake (`NNpsk0`), so only
 *   holders of the link complete it;
 * - the team PSK: the same for a tracker started with `--secret-file`.
 *
 * @module
 */

import { createCipheriv, createDecipheriv, hkdfSync } from "node:crypto";

/** Fewest bytes a share secret may have: 128 bits. */
export const MIN_SHARE_SECRET_BYTES = 16;
/** Fewest bytes (after trimming whitespace) a team secret may have. */
export const MIN_TEAM_SECRET_BYTES = 16;
/** Random bytes in a secret {@linkcode generateTeamSecret} makes. */
export const TEAM_SECRET_BYTES = 32;
/** Bytes of every derived key. */
export const SHARE_KEY_BYTES = 32;
/** Version byte that starts a sealed metadata blob. */
export const SEALED_METADATA_VERSION = 1;
/** Bytes of a sealed blob's random nonce. */
export const SEALED_NONCE_BYTES = 12;
/** Bytes of a sealed blob's Poly1305 tag. */
export const SEALED_TAG_BYTES = 16;
/** Bytes a sealed blob adds to its plaintext: version, nonce, tag. */
export const SEALED_OVERHEAD_BYTES: number = 1 + SEALED_NONCE_BYTES +
  SEALED_TAG_BYTES;

/** HKDF labels ("info"): one per purpose; changing one changes every key. */
export const SHARE_KEY_LABELS = {
  lookup: "p2p/1 lookup key",
  metadata: "p2p/1 metadata key",
  psk: "p2p/1 handshake psk",
  team: "p2p/1 team psk",
} as const;

/** What a sealed blob authenticates besides its contents. */
const SEALED_AAD = new TextEncoder().encode("p2p/1 sealed metadata");
const NO_SALT = new Uint8Array(0);
const encoder = new TextEncoder();
/** Bytes trimmed from a team secret's ends: ASCII whitespace. */
const WHITESPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]);

/** The keys of one private share. */
export interface ShareKeys {
  /** The file's name at the tracker: 64 lowercase hex chars. */
  lookupKey: string;
  /** Seals and opens the file's metadata blob. */
  metadataKey: Uint8Array;
  /** The pre-shared key of the peer handshake (`NNpsk0`). */
  psk: Uint8Array;
}

/**
 * Derives a private share's keys from its secret (at least
 * MIN_SHARE_SECRET_BYTES bytes); the same secret always gives the same keys.
 *
 * @example
 * ```ts
 * const { lookupKey, metadataKey, psk } = deriveShareKeys(link.secret);
 * ```
 */
export function deriveShareKeys(secret: Uint8Array): ShareKeys {
  if (secret.length < MIN_SHARE_SECRET_BYTES) {
    throw new RangeError(
      `A share secret needs at least ${MIN_SHARE_SECRET_BYTES} bytes, got ${secret.length}`,
    );
  }
  return {
    lookupKey: derive(secret, SHARE_KEY_LABELS.lookup).toHex(),
    metadataKey: derive(secret, SHARE_KEY_LABELS.metadata),
    psk: derive(secret, SHARE_KEY_LABELS.psk),
  };
}

/**
 * Derives the handshake PSK of a team tracker from its secret: the file's
 * bytes (or text, as UTF-8) with whitespace trimmed from both ends. Throws
 * a `RangeError` with a sentence for the user if under
 * MIN_TEAM_SECRET_BYTES remain.
 */
export function deriveTeamPsk(secretText: string | Uint8Array): Uint8Array {
  const secret = trimWhitespace(
    typeof secretText === "string" ? encoder.encode(secretText) : secretText,
  );
  if (secret.length < MIN_TEAM_SECRET_BYTES) {
    throw new RangeError(
      `The team secret is too short: it needs at least ${MIN_TEAM_SECRET_BYTES} characters.`,
    );
  }
  return derive(secret, SHARE_KEY_LABELS.team);
}

/** A fresh team secret: TEAM_SECRET_BYTES random bytes as base64url text. */
export function generateTeamSecret(): string {
  return crypto.getRandomValues(new Uint8Array(TEAM_SECRET_BYTES))
    .toBase64({ alphabet: "base64url", omitPadding: true });
}

/**
 * Seals `plaintext` under `metadataKey` (SHARE_KEY_BYTES): one version
 * byte, a random nonce, then the ChaCha20-Poly1305 ciphertext and tag.
 */
export function sealMetadata(
  metadataKey: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  checkKey(metadataKey);
  const nonce = crypto.getRandomValues(new Uint8Array(SEALED_NONCE_BYTES));
  const cipher = createCipheriv("chacha20-poly1305", metadataKey, nonce, {
    authTagLength: SEALED_TAG_BYTES,
  });
  cipher.setAAD(SEALED_AAD, { plaintextLength: plaintext.length });
  const body = cipher.update(plaintext);
  cipher.final();
  const out = new Uint8Array(SEALED_OVERHEAD_BYTES + plaintext.length);
  out[0] = SEALED_METADATA_VERSION;
  out.set(nonce, 1);
  out.set(body, 1 + SEALED_NONCE_BYTES);
  out.set(cipher.getAuthTag(), 1 + SEALED_NONCE_BYTES + body.length);
  return out;
}

/**
 * Opens a blob {@linkcode sealMetadata} made. Throws a `TypeError` if it is
 * cut short, of an unknown version, altered, or sealed under another key.
 */
export function openMetadata(
  metadataKey: Uint8Array,
  blob: Uint8Array,
): Uint8Array {
  checkKey(metadataKey);
  if (blob.length < SEALED_OVERHEAD_BYTES) {
    throw new TypeError(
      `Sealed metadata is cut short: ${blob.length} bytes, under ${SEALED_OVERHEAD_BYTES}`,
    );
  }
  if (blob[0] !== SEALED_METADATA_VERSION) {
    throw new TypeError(`Sealed metadata has unknown version ${blob[0]}`);
  }
  const nonce = blob.subarray(1, 1 + SEALED_NONCE_BYTES);
  const tagAt = blob.length - SEALED_TAG_BYTES;
  const decipher = createDecipheriv("chacha20-poly1305", metadataKey, nonce, {
    authTagLength: SEALED_TAG_BYTES,
  });
  decipher.setAAD(SEALED_AAD, {
    plaintextLength: tagAt - 1 - SEALED_NONCE_BYTES,
  });
  decipher.setAuthTag(blob.subarray(tagAt));
  const body = decipher.update(blob.subarray(1 + SEALED_NONCE_BYTES, tagAt));
  try {
    decipher.final();
  } catch {
    throw new TypeError(
      "Sealed metadata failed authentication: wrong key, or altered",
    );
  }
  return new Uint8Array(body);
}

function derive(secret: Uint8Array, label: string): Uint8Array {
  return new Uint8Array(
    hkdfSync("sha256", secret, NO_SALT, label, SHARE_KEY_BYTES),
  );
}

function checkKey(key: Uint8Array): void {
  if (key.length !== SHARE_KEY_BYTES) {
    throw new RangeError(
      `A metadata key must be ${SHARE_KEY_BYTES} bytes, got ${key.length}`,
    );
  }
}

function trimWhitespace(bytes: Uint8Array): Uint8Array {
  let start = 0;
  let end = bytes.length;
  while (start < end && WHITESPACE.has(bytes[start])) start++;
  while (end > start && WHITESPACE.has(bytes[end - 1])) end--;
  return bytes.subarray(start, end);
}
