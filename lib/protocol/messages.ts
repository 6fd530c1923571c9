/**
 * Protocol messages: pure functions that turn frames into typed messages and
 * back, checking every field. A decoder throws `TypeError` or `RangeError`
 * on bad input; the connection that read it answers with an error and
 * closes. docs/PROTOCOL.md describes each message.
 *
 * @module
 */

import { bitfieldBytes } from "./bitfield.ts";
import type { Frame } from "./frame.ts";
import {
  FULL_ID_CHARS,
  HASH_BYTES,
  MAX_AGENT_CHARS,
  MAX_FILES_PER_ANSWER,
  MAX_IDS_PER_ANNOUNCE,
  MAX_NAME_BYTES,
  MAX_PEER_ENTRIES_READ,
  MAX_PEERS_PER_ANSWER,
  MAX_PIECE_SIZE,
  MAX_PIECES,
  MAX_SEARCH_CHARS,
  MAX_VARIANTS_PER_FILE,
  MIN_ID_PREFIX,
  MIN_PIECE_SIZE,
} from "./limits.ts";

/** What the tracker knows of one file, and what a sharer registers. */
export interface FileMeta {
  /** Full SHA-256 of the file, 64 lowercase hex chars. */
  id: string;
  /** The file's name as shared (not a path). */
  name: string;
  /** Size in bytes. */
  size: number;
  /** Bytes per piece; the last piece may be shorter. */
  pieceSize: number;
  /** The SHA-256 of every piece, concatenated (32 bytes each). */
  pieceHashes: Uint8Array;
}

/** A peer's listening address as the tracker hands it out. */
export interface PeerAddress {
  /** IP address the tracker saw the peer connect from. */
  host: string;
  /** Port the peer listens on. */
  port: number;
}

/** One line of a list or search answer. */
export interface FileSummary {
  /** Full file ID. */
  id: string;
  /** File name. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** Peers that hold it, whole or in part (registrations of its best variant). */
  peers: number;
  /**
   * Of `peers`, how many hold only part of it (they are downloading it).
   * Absent from trackers that cannot tell: read it as 0.
   */
  partial?: number;
}

/** Tracker counters reported by `stats`. */
export interface TrackerStats {
  /** Distinct files registered. */
  files: number;
  /** Distinct peer addresses with at least one registration. */
  peers: number;
  /** (file, peer) registrations. */
  registrations: number;
  /** Requests answered since start. */
  requests: number;
  /** Milliseconds since the tracker started. */
  uptimeMs: number;
}

/** Error codes carried by `error` messages. */
export type ErrorCode =
  | "bad-request"
  | "not-found"
  | "ambiguous"
  | "conflict"
  | "not-shared"
  | "busy";

/** Every message of the protocol. */
export type Message =
  | { type: "error"; code: ErrorCode; message: string; index?: number }
  | { type: "ok" }
  | { type: "register"; meta: FileMeta; port: number; partial?: boolean }
  | { type: "announce"; ids: string[]; port: number }
  | { type: "announced"; unknown: string[] }
  | { type: "unregister"; id: string; port: number }
  | { type: "query"; id: string; variant?: number }
  | {
    type: "file";
    meta: FileMeta;
    peers: PeerAddress[];
    variant?: number;
    variants?: number;
  }
  | { type: "list" }
  | { type: "search"; text: string }
  | { type: "files"; files: FileSummary[] }
  | { type: "stats" }
  | { type: "stats-reply"; stats: TrackerStats }
  | {
    type: "hello";
    version: number;
    id: string;
    port?: number;
    /** The sender's program and version, e.g. `p2p/0.10.0`. */
    agent?: string;
  }
  | { type: "welcome"; id: string; pieces: number; have?: Uint8Array }
  | { type: "request"; index: number }
  | { type: "piece"; index: number; data: Uint8Array }
  | { type: "have"; index: number }
  | { type: "cancel"; index: number }
  | { type: "choke" }
  | { type: "unchoke" };

/** The type names of {@linkcode Message}. */
export type MessageType = Message["type"];

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

/** Number of pieces a file of `size` bytes has with `pieceSize` pieces. */
export function pieceCount(size: number, pieceSize: number): number {
  return Math.ceil(size / pieceSize);
}

/** Byte length of piece `index` of a file. */
export function pieceLength(
  meta: Pick<FileMeta, "size" | "pieceSize">,
  index: number,
): number {
  return Math.min(meta.pieceSize, meta.size - index * meta.pieceSize);
}

/** True if `text` is a full 64-hex-char file ID. */
export function isFullId(text: string): boolean {
  return FULL_ID.test(text);
}

/** True if `text` is a usable ID or ID prefix (16 to 64 lowercase hex). */
export function isIdPrefix(text: string): boolean {
  return ID_PREFIX.test(text);
}

/** Encodes a message as the JSON part and binary part of a frame. */
export function toFrame(message: Message): Frame {
  const empty = new Uint8Array(0);
  switch (message.type) {
    case "register": {
      const { pieceHashes, ...meta } = message.meta;
      const header: Record<string, unknown> = {
        type: "register",
        ...meta,
        port: message.port,
      };
      if (message.partial !== undefined) header.partial = message.partial;
      return { header, binary: pieceHashes };
    }
    case "file": {
      const { pieceHashes, ...meta } = message.meta;
      const { peers, variant, variants } = message;
      const header: Record<string, unknown> = { type: "file", ...meta, peers };
      if (variant !== undefined) header.variant = variant;
      if (variants !== undefined) header.variants = variants;
      return { header, binary: pieceHashes };
    }
    case "stats-reply":
      return {
        header: { type: "stats-reply", ...message.stats },
        binary: empty,
      };
    case "piece":
      return {
        header: { type: "piece", index: message.index },
        binary: message.data,
      };
    case "welcome": {
      const { have, ...header } = message;
      return { header: { ...header }, binary: have ?? empty };
    }
    default:
      return { header: { ...message }, binary: empty };
  }
}

/** Decodes and validates a frame; throws `TypeError`/`RangeError` if bad. */
export function fromFrame(frame: Frame): Message {
  const h = frame.header;
  const type = h.type;
  switch (type) {
    case "error":
      noBinary(frame);
      return {
        type,
        code: errorCode(h.code),
        message: text(h, "message", 1000, true),
        ...(h.index === undefined
          ? {}
          : { index: int(h, "index", 0, MAX_PIECES) }),
      };
    case "ok":
    case "list":
    case "stats":
    case "choke":
    case "unchoke":
      noBinary(frame);
      return { type };
    case "register":
      return {
        type,
        meta: fileMeta(frame),
        port: port(h),
        ...(h.partial === undefined ? {} : { partial: flag(h, "partial") }),
      };
    case "announce":
      noBinary(frame);
      return { type, ids: idList(h.ids, MAX_IDS_PER_ANNOUNCE), port: port(h) };
    case "announced":
      noBinary(frame);
      return { type, unknown: idList(h.unknown, MAX_IDS_PER_ANNOUNCE) };
    case "unregister":
      noBinary(frame);
      return { type, id: fullId(h.id), port: port(h) };
    case "query":
      noBinary(frame);
      return { type, id: idPrefix(h.id), ...optionalVariant(h) };
    case "file":
      return {
        type,
        meta: fileMeta(frame),
        peers: peerList(h.peers),
        ...optionalVariant(h),
        ...(h.variants === undefined
          ? {}
          : { variants: int(h, "variants", 1, MAX_VARIANTS_PER_FILE) }),
      };
    case "search":
      noBinary(frame);
      return { type, text: text(h, "text", MAX_SEARCH_CHARS, true) };
    case "files":
      noBinary(frame);
      return { type, files: fileList(h.files) };
    case "stats-reply":
      noBinary(frame);
      return { type, stats: stats(h) };
    case "hello":
      noBinary(frame);
      return {
        type,
        version: int(h, "version", 0, 0xffff),
        id: fullId(h.id),
        ...(h.port === undefined ? {} : { port: port(h) }),
        ...(h.agent === undefined
          ? {}
          : { agent: text(h, "agent", MAX_AGENT_CHARS) }),
      };
    case "welcome":
      return welcome(frame);
    case "request":
    case "have":
    case "cancel":
      noBinary(frame);
      return { type, index: int(h, "index", 0, MAX_PIECES - 1) };
    case "piece":
      return {
        type,
        index: int(h, "index", 0, MAX_PIECES - 1),
        data: frame.binary,
      };
    default:
      throw new TypeError(`Unknown message type ${JSON.stringify(type)}`);
  }
}

function noBinary(frame: Frame): void {
  if (frame.binary.length > 0) {
    throw new TypeError(
      `Message "${frame.header.type}" must not carry a binary part`,
    );
  }
}

function int(
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

function flag(h: Record<string, unknown>, key: string): boolean {
  const value = h[key];
  if (typeof value !== "boolean") {
    throw new TypeError(`Field "${key}" must be true or false`);
  }
  return value;
}

function text(
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

function optionalVariant(h: Record<string, unknown>): { variant?: number } {
  return h.variant === undefined
    ? {}
    : { variant: int(h, "variant", 0, MAX_VARIANTS_PER_FILE - 1) };
}

function port(h: Record<string, unknown>): number {
  return int(h, "port", 1, 65535);
}

function fullId(value: unknown): string {
  if (typeof value !== "string" || !FULL_ID.test(value)) {
    throw new TypeError(`File ID must be ${FULL_ID_CHARS} lowercase hex chars`);
  }
  return value;
}

function idPrefix(value: unknown): string {
  if (typeof value !== "string" || !ID_PREFIX.test(value)) {
    throw new TypeError(
      `File ID must be ${MIN_ID_PREFIX} to ${FULL_ID_CHARS} lowercase hex chars`,
    );
  }
  return value;
}

function errorCode(value: unknown): ErrorCode {
  if (typeof value !== "string" || !ERROR_CODES.has(value)) {
    throw new TypeError(`Unknown error code ${JSON.stringify(value)}`);
  }
  return value as ErrorCode;
}

function array(value: unknown, key: string, max: number): unknown[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`Field "${key}" must be a list`);
  }
  if (value.length > max) {
    throw new RangeError(`Field "${key}" has more than ${max} entries`);
  }
  return value;
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`${what} must be an object`);
  }
  return value as Record<string, unknown>;
}

function idList(value: unknown, max: number): string[] {
  return array(value, "ids", max).map(fullId);
}

/**
 * Peers from an answer. Entries that are not a valid address are skipped and
 * duplicates dropped, then the list is capped: one bad entry must not cost a
 * download its good peers.
 */
function peerList(value: unknown): PeerAddress[] {
  const peers = new Map<string, PeerAddress>();
  for (const entry of array(value, "peers", MAX_PEER_ENTRIES_READ)) {
    if (peers.size >= MAX_PEERS_PER_ANSWER) break;
    try {
      const peer = object(entry, "A peer");
      const address = { host: text(peer, "host", 64), port: port(peer) };
      peers.set(`${address.host} ${address.port}`, address);
    } catch {
      // Skipped: see above.
    }
  }
  return [...peers.values()];
}

function fileList(value: unknown): FileSummary[] {
  return array(value, "files", MAX_FILES_PER_ANSWER).map((entry) => {
    const file = object(entry, "A file");
    const peers = int(file, "peers", 0, Number.MAX_SAFE_INTEGER);
    return {
      id: fullId(file.id),
      name: fileName(file),
      size: int(file, "size", 0, Number.MAX_SAFE_INTEGER),
      peers,
      ...(file.partial === undefined
        ? {}
        : { partial: int(file, "partial", 0, peers) }),
    };
  });
}

function fileName(h: Record<string, unknown>): string {
  const name = text(h, "name", MAX_NAME_BYTES);
  if (encoder.encode(name).length > MAX_NAME_BYTES) {
    throw new RangeError(`Field "name" is over ${MAX_NAME_BYTES} bytes`);
  }
  return name;
}

function fileMeta(frame: Frame): FileMeta {
  const h = frame.header;
  const size = int(h, "size", 0, Number.MAX_SAFE_INTEGER);
  const pieceSize = int(h, "pieceSize", MIN_PIECE_SIZE, MAX_PIECE_SIZE);
  const pieces = pieceCount(size, pieceSize);
  if (pieces > MAX_PIECES) {
    throw new RangeError(`File has ${pieces} pieces, over ${MAX_PIECES}`);
  }
  if (frame.binary.length !== pieces * HASH_BYTES) {
    throw new RangeError(
      `Piece hash list is ${frame.binary.length} bytes, expected ${
        pieces * HASH_BYTES
      }`,
    );
  }
  return {
    id: fullId(h.id),
    name: fileName(h),
    size,
    pieceSize,
    pieceHashes: frame.binary,
  };
}

/**
 * A `welcome`: its binary part, when present, is the sender's bitfield and
 * must be exactly one bit per piece long; absent means it has every piece.
 */
function welcome(frame: Frame): Message {
  const h = frame.header;
  const pieces = int(h, "pieces", 0, MAX_PIECES);
  const message = { type: "welcome" as const, id: fullId(h.id), pieces };
  if (frame.binary.length === 0) return message;
  if (frame.binary.length !== bitfieldBytes(pieces)) {
    throw new RangeError(
      `Bitfield is ${frame.binary.length} bytes, expected ${
        bitfieldBytes(pieces)
      }`,
    );
  }
  return { ...message, have: frame.binary };
}

function stats(h: Record<string, unknown>): TrackerStats {
  const count = (key: string) => int(h, key, 0, Number.MAX_SAFE_INTEGER);
  return {
    files: count("files"),
    peers: count("peers"),
    registrations: count("registrations"),
    requests: count("requests"),
    uptimeMs: count("uptimeMs"),
  };
}
