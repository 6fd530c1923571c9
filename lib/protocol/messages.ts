/**
 * Protocol messages: pure functions that turn frames into typed messages and
 * back, checking every field. A decoder throws `TypeError` or `RangeError`
 * on bad input; the connection that read it answers with an error and
 * closes. docs/PROTOCOL.md describes each message.
 *
 * @module
 */

import {
  array,
  errorCode,
  fileName,
  flag,
  folderMeta,
  fullId,
  host,
  idList,
  idPrefix,
  int,
  lookupKey,
  metaParts,
  noBinary,
  object,
  peerList,
  port,
  rate,
  reasonCounts,
  text,
  token,
} from "./_fields.ts";
import { hello, pieces, requests, welcome } from "./_peer_messages.ts";
import { folderLayoutOf } from "./folder_layout.ts";
import type { Frame } from "./frame.ts";
import type {
  FileMeta,
  FileSummary,
  Message,
  TrackerStats,
} from "./message_types.ts";
import {
  HASH_BYTES,
  MAX_FILES_PER_ANSWER,
  MAX_IDS_PER_ANNOUNCE,
  MAX_MANIFEST_ENTRIES,
  MAX_PEER_ENTRIES_READ,
  MAX_PIECE_SIZE,
  MAX_PIECES,
  MAX_SEALED_BLOB_BYTES,
  MAX_SEARCH_CHARS,
  MAX_VARIANTS_PER_FILE,
  MIN_PIECE_SIZE,
  MIN_SEALED_BLOB_BYTES,
} from "./limits.ts";

export type {
  ErrorCode,
  FileList,
  FileMeta,
  FileSummary,
  Message,
  MessageType,
  PeerAddress,
  SealedFile,
  TrackerStats,
} from "./message_types.ts";

export { isFullId, isIdPrefix } from "./_fields.ts";

/** Most files an `ambiguous` error lists as `candidates` (sent or read). */
export const MAX_AMBIGUOUS_CANDIDATES = 10;

/** Number of pieces a file of `size` bytes has with `pieceSize` pieces. */
export function pieceCount(size: number, pieceSize: number): number {
  return Math.ceil(size / pieceSize);
}

/**
 * Pieces of the file (or folder, whose files' pieces are laid one after
 * another: `folder_layout.ts`) that `meta` describes.
 */
export function piecesOf(
  meta: Pick<FileMeta, "size" | "pieceSize" | "manifest">,
): number {
  return folderLayoutOf(meta)?.pieces ?? pieceCount(meta.size, meta.pieceSize);
}

/** Byte length of piece `index` of a file (or folder). */
export function pieceLength(
  meta: Pick<FileMeta, "size" | "pieceSize" | "manifest">,
  index: number,
): number {
  const folder = folderLayoutOf(meta);
  if (folder) return folder.pieceLength(index);
  return Math.min(meta.pieceSize, meta.size - index * meta.pieceSize);
}

/** Encodes a message as the JSON part and binary part of a frame. */
export function toFrame(message: Message): Frame {
  const empty = new Uint8Array(0);
  switch (message.type) {
    case "register": {
      const { fields, binary } = metaParts(message.meta);
      const header: Record<string, unknown> = {
        type: "register",
        ...fields,
        port: message.port,
      };
      if (message.partial !== undefined) header.partial = message.partial;
      if (message.unlisted !== undefined) header.unlisted = message.unlisted;
      return { header, binary };
    }
    case "file": {
      const { fields, binary } = metaParts(message.meta);
      const { peers, variant, variants, observed } = message;
      const header: Record<string, unknown> = {
        type: "file",
        ...fields,
        peers,
      };
      if (variant !== undefined) header.variant = variant;
      if (variants !== undefined) header.variants = variants;
      if (observed !== undefined) header.observed = observed;
      return { header, binary };
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
    case "meta": {
      const { fields, binary } = metaParts(message.meta);
      return { header: { type: "meta", ...fields }, binary };
    }
    case "welcome": {
      const { have, ...header } = message;
      return { header: { ...header }, binary: have ?? empty };
    }
    case "pieces": {
      const { data, ...header } = message;
      return { header: { ...header }, binary: data };
    }
    case "register-sealed":
    case "sealed": {
      const { blob, ...header } = message;
      return { header: { ...header }, binary: blob };
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
        ...candidates(h),
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
        ...(h.unlisted === undefined ? {} : { unlisted: flag(h, "unlisted") }),
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
    case "register-sealed":
      return {
        type,
        lookup: lookupKey(h.lookup),
        blob: sealedBlob(frame),
        port: port(h),
        ...(h.partial === undefined ? {} : { partial: flag(h, "partial") }),
      };
    case "query-sealed":
      noBinary(frame);
      return {
        type,
        lookup: lookupKey(h.lookup),
        ...(h.peersOnly === undefined
          ? {}
          : { peersOnly: flag(h, "peersOnly") }),
      };
    case "sealed":
      return sealed(frame);
    case "query":
      noBinary(frame);
      return {
        type,
        id: idPrefix(h.id),
        ...optionalVariant(h),
        ...(h.peersOnly === undefined
          ? {}
          : { peersOnly: flag(h, "peersOnly") }),
      };
    case "peers":
      noBinary(frame);
      return {
        type,
        id: fullId(h.id),
        peers: peerList(h.peers),
        ...optionalVariant(h),
        ...optionalVariants(h),
        ...observed(h),
      };
    case "file":
      return {
        type,
        meta: fileMeta(frame),
        peers: peerList(h.peers),
        ...optionalVariant(h),
        ...optionalVariants(h),
        ...observed(h),
      };
    case "search":
      noBinary(frame);
      return { type, text: text(h, "text", MAX_SEARCH_CHARS, true) };
    case "files":
      noBinary(frame);
      return {
        type,
        files: fileList(h.files),
        ...(h.more === undefined ? {} : { more: count(h, "more") }),
      };
    case "stats-reply":
      noBinary(frame);
      return { type, stats: stats(h) };
    case "reach":
      noBinary(frame);
      return {
        type,
        port: port(h),
        ...(h.mapped === undefined ? {} : { mapped: flag(h, "mapped") }),
      };
    case "reached":
      noBinary(frame);
      return {
        type,
        host: host(h),
        port: int(h, "port", 0, 65535),
        reachable: flag(h, "reachable"),
        ...(h.relay === undefined ? {} : { relay: port(h, "relay") }),
      };
    case "connect":
      noBinary(frame);
      return {
        type,
        host: host(h),
        port: port(h),
        ...optionalPort(h, "punch"),
        ...optionalPort(h, "local"),
      };
    case "connecting":
      noBinary(frame);
      return {
        type,
        token: token(h),
        relay: port(h, "relay"),
        ...optionalPort(h, "punch"),
      };
    case "incoming":
      noBinary(frame);
      return {
        type,
        token: token(h),
        host: host(h),
        relay: port(h, "relay"),
        ...optionalPort(h, "punch"),
      };
    case "punch":
      noBinary(frame);
      return { type, token: token(h), ...optionalPort(h, "port") };
    case "hello":
      return hello(frame);
    case "welcome":
      return welcome(frame);
    case "requests":
      return requests(frame);
    case "pieces":
      return pieces(frame);
    case "meta-request":
      noBinary(frame);
      return { type, id: fullId(h.id) };
    case "meta":
      return { type, meta: fileMeta(frame) };
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

/** `h[key]` as a port if it is there. */
function optionalPort(
  h: Record<string, unknown>,
  key: string,
): Record<string, number> {
  return h[key] === undefined ? {} : { [key]: port(h, key) };
}

/** The optional `observed` host of an answer. */
function observed(h: Record<string, unknown>): { observed?: string } {
  return h.observed === undefined
    ? {}
    : { observed: host({ host: h.observed }) };
}

function optionalVariants(
  h: Record<string, unknown>,
): { variants?: number } {
  return h.variants === undefined
    ? {}
    : { variants: int(h, "variants", 1, MAX_VARIANTS_PER_FILE) };
}

function optionalVariant(h: Record<string, unknown>): { variant?: number } {
  return h.variant === undefined
    ? {}
    : { variant: int(h, "variant", 0, MAX_VARIANTS_PER_FILE - 1) };
}

/** The files an `ambiguous` error names, and how many more, if any. */
function candidates(h: Record<string, unknown>): Partial<Candidates> {
  if (h.candidates === undefined) return {};
  return {
    candidates: fileList(h.candidates, "candidates", MAX_AMBIGUOUS_CANDIDATES),
    ...(h.more === undefined ? {} : { more: count(h, "more") }),
  };
}
type Candidates = { candidates: FileSummary[]; more: number };

function fileList(
  value: unknown,
  key = "files",
  max = MAX_FILES_PER_ANSWER,
): FileSummary[] {
  return array(value, key, max).map((entry) => {
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
      ...(file.files === undefined
        ? {}
        : { files: int(file, "files", 0, MAX_MANIFEST_ENTRIES) }),
    };
  });
}

function fileMeta(frame: Frame): FileMeta {
  const h = frame.header;
  const size = int(h, "size", 0, Number.MAX_SAFE_INTEGER);
  const pieceSize = int(h, "pieceSize", MIN_PIECE_SIZE, MAX_PIECE_SIZE);
  if (h.manifestBytes !== undefined) return folderMeta(frame, size, pieceSize);
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
 * A sealed-metadata blob (a `register-sealed`'s or a `sealed`'s binary
 * part): opaque bytes, checked only for length.
 */
function sealedBlob(frame: Frame): Uint8Array {
  const length = frame.binary.length;
  if (length === 0) {
    throw new TypeError(
      `Message "${frame.header.type}" must carry sealed metadata as its binary part`,
    );
  }
  if (length < MIN_SEALED_BLOB_BYTES || length > MAX_SEALED_BLOB_BYTES) {
    throw new RangeError(
      `Sealed metadata is ${length} bytes, outside ${MIN_SEALED_BLOB_BYTES}..${MAX_SEALED_BLOB_BYTES}`,
    );
  }
  return frame.binary;
}

/**
 * A `sealed` answer. Its `partial` counts listed peers, so it is capped at
 * what is left of the list once bad entries were skipped.
 */
function sealed(frame: Frame): Message {
  const h = frame.header;
  const peers = peerList(h.peers);
  const partial = h.partial === undefined
    ? undefined
    : int(h, "partial", 0, MAX_PEER_ENTRIES_READ);
  return {
    type: "sealed",
    lookup: lookupKey(h.lookup),
    blob: sealedBlob(frame),
    peers,
    ...(partial === undefined
      ? {}
      : { partial: Math.min(partial, peers.length) }),
    ...observed(h),
  };
}

/** `stats-reply` fields a tracker may leave out, each with its checker. */
const OPTIONAL_STATS: Readonly<
  Record<string, (h: Record<string, unknown>, key: string) => unknown>
> = {
  privateFiles: count,
  connections: count,
  pendingHandshakes: count,
  announces: count,
  queries: count,
  announcesPerSecond: rate,
  queriesPerSecond: rate,
  refused: reasonCounts,
  rateWaits: count,
  outOfFiles: count,
  bytesReceived: count,
};

function stats(h: Record<string, unknown>): TrackerStats {
  const out: Record<string, unknown> = {
    files: count(h, "files"),
    peers: count(h, "peers"),
    registrations: count(h, "registrations"),
    requests: count(h, "requests"),
    uptimeMs: count(h, "uptimeMs"),
  };
  for (const [key, check] of Object.entries(OPTIONAL_STATS)) {
    if (h[key] !== undefined) out[key] = check(h, key);
  }
  return out as unknown as TrackerStats;
}

function count(h: Record<string, unknown>, key: string): number {
  return int(h, key, 0, Number.MAX_SAFE_INTEGER);
}
