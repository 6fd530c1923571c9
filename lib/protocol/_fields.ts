/**
 * The field kinds of docs/PROTOCOL.md section 2 (integers in range, ports,
 * IDs, names, lists, peer addresses): one checker each, shared by the
 * decoders in `messages.ts`. Each throws `TypeError` (missing, wrong type)
 * or `RangeError` (out of range) and reads only the object's own keys.
 * Also a folder's metadata as fields and binary part (hashes, then its
 * manifest), both ways: `messages.ts` and `sealed_meta.ts` share it.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { type FolderLayout, folderLayoutOf } from "./folder_layout.ts";
import { ManifestError } from "./_manifest_rules.ts";
import type { Frame } from "./frame.ts";
import {
  FULL_ID_CHARS,
  HASH_BYTES,
  MAX_NAME_BYTES,
  MAX_PEER_ENTRIES_READ,
  MAX_PEERS_PER_ANSWER,
  MAX_PIECES,
  MAX_WIRE_MANIFEST_BYTES,
  MIN_ID_PREFIX,
} from "./limits.ts";
import type { ErrorCode, FileMeta, PeerAddress } from "./message_types.ts";

const FULL_ID = /^[0-9a-f]{64}$/;
const ID_PREFIX = /^[0-9a-f]{16,64}$/;
const ERROR_CODES: ReadonlySet<string> = new Set([
  "bad-request",
  "not-found",
  "ambiguous",
  "conflict",
  "not-shared",
  "busy",
]);
const encoder = new TextEncoder();

/** True if `text` is a full 64-hex-char file ID. */
export function isFullId(text: string): boolean {
  return FULL_ID.test(text);
}

/** True if `text` is a usable ID or ID prefix (16 to 64 lowercase hex). */
export function isIdPrefix(text: string): boolean {
  return ID_PREFIX.test(text);
}

/** Throws unless `frame` has no binary part. */
export function noBinary(frame: Frame): void {
  if (frame.binary.length > 0) {
    throw new TypeError(
      `Message "${frame.header.type}" must not carry a binary part`,
    );
  }
}

/** `h[key]` as a safe integer within `min..max` (`int a..b`). */
export function int(
  h: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
): number {
  const value = h[key];
  if (!Number.isSafeInteger(value)) {
    throw new TypeError(`Field "${key}" must be an integer`);
  }
  if ((value as number) < min || (value as number) > max) {
    throw new RangeError(`Field "${key}" must be within ${min}..${max}`);
  }
  return value as number;
}

/** `h[key]` as `true` or `false`. */
export function flag(h: Record<string, unknown>, key: string): boolean {
  const value = h[key];
  if (typeof value !== "boolean") {
    throw new TypeError(`Field "${key}" must be true or false`);
  }
  return value;
}

/** `h[key]` as a string of at most `maxChars` UTF-16 code units (`text n`). */
export function text(
  h: Record<string, unknown>,
  key: string,
  maxChars: number,
  allowEmpty = false,
): string {
  const value = h[key];
  if (typeof value !== "string") {
    throw new TypeError(`Field "${key}" must be a string`);
  }
  if (value.length > maxChars || (!allowEmpty && value.length === 0)) {
    throw new RangeError(`Field "${key}" must have 1..${maxChars} characters`);
  }
  return value;
}

/** `h[key]` (`h.port` unless said) as a TCP port, 1..65535. */
export function port(h: Record<string, unknown>, key = "port"): number {
  return int(h, key, 1, 65535);
}

/** `value` as a full file ID: 64 lowercase hex chars. */
export function fullId(value: unknown): string {
  if (typeof value !== "string" || !FULL_ID.test(value)) {
    throw new TypeError(`File ID must be ${FULL_ID_CHARS} lowercase hex chars`);
  }
  return value;
}

/** A private file's lookup key: shaped like a full ID, named apart in errors. */
export function lookupKey(value: unknown): string {
  if (typeof value !== "string" || !FULL_ID.test(value)) {
    throw new TypeError(
      `Lookup key must be ${FULL_ID_CHARS} lowercase hex chars`,
    );
  }
  return value;
}

/** `value` as a file ID or a prefix of one: 16 to 64 lowercase hex chars. */
export function idPrefix(value: unknown): string {
  if (typeof value !== "string" || !ID_PREFIX.test(value)) {
    throw new TypeError(
      `File ID must be ${MIN_ID_PREFIX} to ${FULL_ID_CHARS} lowercase hex chars`,
    );
  }
  return value;
}

/** `value` as one of the known error codes. */
export function errorCode(value: unknown): ErrorCode {
  if (typeof value !== "string" || !ERROR_CODES.has(value)) {
    throw new TypeError(`Unknown error code ${JSON.stringify(value)}`);
  }
  return value as ErrorCode;
}

/** `value` as a list of at most `max` entries (`key` names it in errors). */
export function array(value: unknown, key: string, max: number): unknown[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`Field "${key}" must be a list`);
  }
  if (value.length > max) {
    throw new RangeError(`Field "${key}" has more than ${max} entries`);
  }
  return value;
}

/** `value` as a plain object (not null, not a list). */
export function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`${what} must be an object`);
  }
  return value as Record<string, unknown>;
}

/** Most reasons a `stats-reply`'s `refused` counts may name. */
export const MAX_REFUSAL_REASONS = 32;
/** A reason in `refused`: a lowercase word, hyphens between. */
const REASON = /^[a-z][a-z0-9-]{0,31}$/;

/** `h[key]` as a rate: a finite number, at least 0 (`rate`). */
export function rate(h: Record<string, unknown>, key: string): number {
  const value = h[key];
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TypeError(`Field "${key}" must be a number`);
  }
  if (value < 0 || value > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`Field "${key}" must be at least 0`);
  }
  return value;
}

/**
 * `h[key]` as counts by reason (`reasons`): an object of at most
 * {@linkcode MAX_REFUSAL_REASONS} lowercase names, each a `count`.
 */
export function reasonCounts(
  h: Record<string, unknown>,
  key: string,
): Record<string, number> {
  const counts = object(h[key], `Field "${key}"`);
  const names = Object.keys(counts);
  if (names.length > MAX_REFUSAL_REASONS) {
    throw new RangeError(
      `Field "${key}" has more than ${MAX_REFUSAL_REASONS} entries`,
    );
  }
  const out: Record<string, number> = {};
  for (const name of names) {
    if (!REASON.test(name)) {
      throw new TypeError(
        `Field "${key}" has a bad reason ${JSON.stringify(name.slice(0, 40))}`,
      );
    }
    out[name] = int(counts, name, 0, Number.MAX_SAFE_INTEGER);
  }
  return out;
}

/** `value` as a list of at most `max` full IDs. */
export function idList(value: unknown, max: number): string[] {
  return array(value, "ids", max).map(fullId);
}

/**
 * Peers from an answer. Entries that are not a valid address are skipped and
 * duplicates dropped, then the list is capped: one bad entry must not cost a
 * download its good peers.
 */
export function peerList(value: unknown): PeerAddress[] {
  const peers = new Map<string, PeerAddress>();
  for (const entry of array(value, "peers", MAX_PEER_ENTRIES_READ)) {
    if (peers.size >= MAX_PEERS_PER_ANSWER) break;
    try {
      const peer = object(entry, "A peer");
      const address: PeerAddress = {
        host: text(peer, "host", MAX_HOST_CHARS),
        port: port(peer),
      };
      if (peer.reachable === false) address.reachable = false;
      if (peer.mapped === true) address.mapped = true;
      peers.set(`${address.host} ${address.port}`, address);
    } catch {
      // Skipped: see above.
    }
  }
  return [...peers.values()];
}

/** Most characters of a host in a message: an IPv6 address fits. */
export const MAX_HOST_CHARS = 64;
/** Characters of a relay token: 16 random bytes in lowercase hex. */
export const TOKEN_CHARS = 32;

/** `h.host`: an IP address as text (not checked further). */
export function host(h: Record<string, unknown>): string {
  return text(h, "host", MAX_HOST_CHARS);
}

/** `h.token`: TOKEN_CHARS lowercase hex characters. */
export function token(h: Record<string, unknown>): string {
  const value = h.token;
  if (typeof value !== "string" || !/^[0-9a-f]{32}$/.test(value)) {
    throw new TypeError(`Field "token" must be ${TOKEN_CHARS} hex characters`);
  }
  return value;
}

/** `h.name` as a file name of 1..MAX_NAME_BYTES UTF-8 bytes. */
export function fileName(h: Record<string, unknown>): string {
  const name = text(h, "name", MAX_NAME_BYTES);
  if (encoder.encode(name).length > MAX_NAME_BYTES) {
    throw new RangeError(`Field "name" is over ${MAX_NAME_BYTES} bytes`);
  }
  return name;
}

/**
 * The JSON fields and binary part that carry `meta` in a `register` or a
 * `file` (and in sealed metadata): the piece hashes, then a folder's
 * manifest with its length in `manifestBytes`. A single file's are the
 * fields and hashes as they are, so its frames are as they always were.
 */
export function metaParts(
  meta: FileMeta,
): { fields: Record<string, unknown>; binary: Uint8Array } {
  const { pieceHashes, manifest, ...fields } = meta;
  if (manifest === undefined) return { fields, binary: pieceHashes };
  return {
    fields: { ...fields, manifestBytes: manifest.length },
    binary: joined(pieceHashes, manifest),
  };
}

/** `a` then `b`: one view if they lie side by side in one buffer (as decoded), else a copy. */
function joined(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  if (a.buffer === b.buffer && a.byteOffset + a.length === b.byteOffset) {
    return new Uint8Array(a.buffer, a.byteOffset, a.length + b.length);
  }
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * The metadata of a folder: its binary part is the piece hashes followed by
 * `manifestBytes` bytes of manifest, whose SHA-256 must be the (full) ID,
 * and which must decode and lay out into exactly as many pieces as there
 * are hashes and `size` bytes. Decoding leaves the layout cached for the
 * manifest (`folderLayoutOf`), so whoever reads it next does not decode
 * the manifest again.
 */
export function folderMeta(
  frame: Frame,
  size: number,
  pieceSize: number,
): FileMeta {
  const h = frame.header;
  const manifestBytes = int(h, "manifestBytes", 1, MAX_WIRE_MANIFEST_BYTES);
  const id = fullId(h.id);
  const name = fileName(h);
  const binary = frame.binary;
  const hashBytes = binary.length - manifestBytes;
  if (hashBytes < 0) {
    throw new RangeError(
      `Binary part is ${binary.length} bytes, shorter than its manifest of ${manifestBytes}`,
    );
  }
  if (hashBytes % HASH_BYTES !== 0 || hashBytes > MAX_PIECES * HASH_BYTES) {
    throw new RangeError(
      `Piece hash list is ${hashBytes} bytes, not a whole number of hashes up to ${MAX_PIECES}`,
    );
  }
  const manifest = binary.subarray(hashBytes);
  const hash = createHash("sha256").update(manifest).digest("hex");
  if (hash !== id) {
    throw new TypeError(
      `Manifest's SHA-256 is ${hash.slice(0, 16)}…, not the ID ${
        id.slice(0, 16)
      }…`,
    );
  }
  const layout = folderLayout(manifest, pieceSize);
  if (layout.pieces * HASH_BYTES !== hashBytes) {
    throw new RangeError(
      `Piece hash list is ${hashBytes} bytes, expected ${
        layout.pieces * HASH_BYTES
      } for the manifest's ${layout.pieces} pieces`,
    );
  }
  if (layout.size !== size) {
    throw new RangeError(
      `Field "size" is ${size}, but the manifest's files add up to ${layout.size} bytes`,
    );
  }
  return {
    id,
    name,
    size,
    pieceSize,
    pieceHashes: binary.subarray(0, hashBytes),
    manifest,
  };
}

/**
 * The layout of a folder's `manifest`: a manifest the path rules refuse
 * throws its {@linkcode ManifestError}, and one that is malformed some
 * other way (cut short, out of order, bad UTF-8) throws one too, so the
 * receiving side tells a folder it must not save from a broken frame.
 */
function folderLayout(manifest: Uint8Array, pieceSize: number): FolderLayout {
  try {
    return folderLayoutOf({ manifest, pieceSize })!;
  } catch (error) {
    if (error instanceof ManifestError) throw error;
    const detail = (error as Error).message ?? String(error);
    throw new ManifestError(
      `Refusing a shared folder whose manifest is malformed: ${
        detail.charAt(0).toLowerCase() + detail.slice(1)
      }.`,
    );
  }
}
