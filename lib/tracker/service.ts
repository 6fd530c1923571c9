/**
 * The tracker's registry, in memory and without I/O: which files exist (by
 * ID, with their metadata), which peers share each one and until when. The
 * server feeds it decoded messages; tests drive it with an injected clock.
 *
 * Registrations of one ID with different metadata (size, piece size or
 * piece hashes) are kept apart as variants, each with its own peers and
 * expiry, so that someone registering a real ID with wrong hashes cannot
 * lock honest sharers out: downloaders try the next variant when one fails
 * its whole-file check.
 *
 * @module
 */

import {
  MAX_FILES_PER_ANSWER,
  MAX_PEERS_PER_ANSWER,
  MAX_SEARCH_CHARS,
  MAX_VARIANTS_PER_FILE,
  REGISTRATION_TTL_MS,
} from "../protocol/limits.ts";
import {
  type ErrorCode,
  type FileMeta,
  type FileSummary,
  isFullId,
  isIdPrefix,
  type PeerAddress,
  type TrackerStats,
} from "../protocol/messages.ts";
import { HashPool } from "./hash_pool.ts";
import { HostTable } from "./hosts.ts";

/** Most (file, port) registrations one host may hold at once. */
export const MAX_REGISTRATIONS_PER_HOST = 10_000;
/** Most ports one host may register for one file (several peers behind one NAT). */
export const MAX_PORTS_PER_HOST_PER_FILE = 32;
/** Most piece-hash bytes the files one host registers may add up to: 128 MiB. */
export const MAX_HASH_BYTES_PER_HOST = 128 * 1024 * 1024;
/** Most piece-hash bytes the tracker holds in total: 512 MiB. */
export const MAX_TRACKER_HASH_BYTES = 512 * 1024 * 1024;
/** Most registrations the tracker holds in total. */
export const MAX_REGISTRATIONS = 1_000_000;

/** A request the registry refuses; `code` goes into the `error` reply. */
export class RegistryError extends Error {
  /** The protocol error code for this refusal. */
  readonly code: ErrorCode;

  /** Creates a refusal with a code and a one-sentence message. */
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "RegistryError";
    this.code = code;
  }
}

/** Options for {@linkcode TrackerService}. */
export interface TrackerServiceOptions {
  /** Ms a registration lives unless renewed. @default {REGISTRATION_TTL_MS} */
  ttlMs?: number;
  /** The clock, in ms. @default {performance.now} */
  now?: () => number;
  /** @default {MAX_REGISTRATIONS_PER_HOST} */
  maxRegistrationsPerHost?: number;
  /** @default {MAX_PORTS_PER_HOST_PER_FILE} */
  maxPortsPerHostPerFile?: number;
  /** @default {MAX_HASH_BYTES_PER_HOST} */
  maxHashBytesPerHost?: number;
  /** @default {MAX_TRACKER_HASH_BYTES} */
  maxHashBytes?: number;
  /** @default {MAX_REGISTRATIONS} */
  maxRegistrations?: number;
  /** @default {MAX_VARIANTS_PER_FILE} */
  maxVariants?: number;
}

/** The counters of {@linkcode TrackerStats} the registry knows. */
export type RegistryStats = Pick<
  TrackerStats,
  "files" | "peers" | "registrations"
>;

/** A `query` answer: one variant of a file and its live peers. */
export interface QueryResult {
  /** The variant's metadata (the registry's own: read it, do not change it). */
  meta: FileMeta;
  /** Live peers, freshest first, at most MAX_PEERS_PER_ANSWER. */
  peers: PeerAddress[];
  /** Which variant this is, 0 for the best supported. */
  variant: number;
  /** How many variants the file has (at least 1). */
  variants: number;
}

type Quotas = Required<Omit<TrackerServiceOptions, "ttlMs" | "now">>;

/** Registrations in a variant from which it keeps a host → registration map. */
export const INDEXED_VARIANT_PEERS = 64;
/** Registrations in an indexed variant below which its map is dropped again. */
const UNINDEXED_VARIANT_PEERS = 16;
/** Slots each table starts with before it first grows. */
const INITIAL_SLOTS = 1024;
/** Bytes of a file ID. */
const ID_BYTES = 32;
/** No file, variant or registration. */
const NONE = -1;
/** Char codes of the hex digits. */
const HEX_CODES = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

/** Liveness of one variant, for ranking. */
interface Support {
  variant: number;
  hosts: number;
  peers: number;
}

/**
 * Files and the peers sharing them, with expiry.
 *
 * Everything lives in parallel typed arrays indexed by small numbers, not
 * in objects (a registration costs about 30 bytes rather than a kilobyte):
 * - files: the 32 ID bytes; files are found through a map keyed on the
 *   ID's first 8 hex chars (an int32), chained on collisions, which also
 *   answers a 16-char prefix without scanning every file;
 * - variants: size, piece size, age, name, first registration, count;
 *   their piece hashes live in a {@linkcode HashPool};
 * - registrations: host number (see {@linkcode HostTable}), port, expiry,
 *   in a doubly linked list per variant in which one host's ports are kept
 *   next to each other, so "which ports does this host have here" is one
 *   run; variants with many peers also map host → start of its run.
 * Free slots of each table are chained through its `next` array.
 */
export class TrackerService {
  #ttlMs: number;
  #now: () => number;
  #quotas: Quotas;
  #hosts = new HostTable();
  #hashes = new HashPool();
  #registrations = 0;
  #hashBytes = 0;
  #created = 0;
  /** For every lookup by ID: its bytes, and how many hex chars were given. */
  #wanted = new Uint8Array(ID_BYTES);
  /** Scratch char codes of an ID being turned into a string. */
  #idCodes: number[] = new Array(2 * ID_BYTES).fill(0);

  /** First 8 hex chars of an ID as int32 → first file of that chain. */
  #byKey = new Map<number, number>();
  #fileTop = 0;
  #fileFree = NONE;
  #fileIds = new Uint8Array(INITIAL_SLOTS * ID_BYTES);
  /** Next file with the same key, or next free slot. */
  #fileNext = new Int32Array(INITIAL_SLOTS);
  /** First variant; NONE for a free slot. */
  #fileFirst = new Int32Array(INITIAL_SLOTS);

  #variantTop = 0;
  #variantFree = NONE;
  /** Owning file; NONE for a free slot. */
  #variantFile = new Int32Array(INITIAL_SLOTS);
  /** Next variant of the same file, or next free slot. */
  #variantNext = new Int32Array(INITIAL_SLOTS);
  #variantHead = new Int32Array(INITIAL_SLOTS);
  #variantPeers = new Int32Array(INITIAL_SLOTS);
  #variantSize = new Float64Array(INITIAL_SLOTS);
  #variantPieceSize = new Float64Array(INITIAL_SLOTS);
  #variantCreated = new Float64Array(INITIAL_SLOTS);
  #variantName: string[] = [];
  /** Variant → (host → first registration of its run), for large variants. */
  #runIndex = new Map<number, Map<number, number>>();

  #regTop = 0;
  #regFree = NONE;
  /** Owning variant; NONE for a free slot. */
  #regVariant = new Int32Array(INITIAL_SLOTS);
  /** Next registration of the same variant, or next free slot. */
  #regNext = new Int32Array(INITIAL_SLOTS);
  #regPrev = new Int32Array(INITIAL_SLOTS);
  #regHost = new Int32Array(INITIAL_SLOTS);
  #regPort = new Uint16Array(INITIAL_SLOTS);
  #regExpires = new Float64Array(INITIAL_SLOTS);

  /** An empty registry. */
  constructor(options: TrackerServiceOptions = {}) {
    this.#ttlMs = options.ttlMs ?? REGISTRATION_TTL_MS;
    this.#now = options.now ?? (() => performance.now());
    this.#quotas = {
      maxRegistrationsPerHost: options.maxRegistrationsPerHost ??
        MAX_REGISTRATIONS_PER_HOST,
      maxPortsPerHostPerFile: options.maxPortsPerHostPerFile ??
        MAX_PORTS_PER_HOST_PER_FILE,
      maxHashBytesPerHost: options.maxHashBytesPerHost ??
        MAX_HASH_BYTES_PER_HOST,
      maxHashBytes: options.maxHashBytes ?? MAX_TRACKER_HASH_BYTES,
      maxRegistrations: options.maxRegistrations ?? MAX_REGISTRATIONS,
      maxVariants: options.maxVariants ?? MAX_VARIANTS_PER_FILE,
    };
  }

  /**
   * Registers (or renews) `peer` as a sharer of `meta`. Metadata that
   * differs from what others registered for the ID becomes a variant of its
   * own; past MAX_VARIANTS_PER_FILE the least supported variant is dropped
   * to make room, so a newcomer is never locked out. Throws
   * {@linkcode RegistryError} `busy` past a quota, and `conflict` when the
   * same host already shares different metadata for the ID (one host backs
   * one variant, so one liar cannot fill every slot). A different name alone
   * is not a difference: the name is not covered by the ID, so the first is
   * kept.
   */
  register(meta: FileMeta, peer: PeerAddress): void {
    if (!isFullId(meta.id)) {
      throw new RegistryError(
        "bad-request",
        "A file ID must be 64 lowercase hex characters.",
      );
    }
    const now = this.#now();
    let file = this.#fileOf(meta.id);
    let host = this.#hosts.find(peer.host);
    if (file !== NONE && host !== NONE) {
      this.#dropExpiredOf(file, host, now);
      file = this.#fileOf(meta.id);
      host = this.#hosts.find(peer.host);
    }
    let variant = file === NONE ? NONE : this.#variantWith(file, meta);
    const mine = file === NONE || host === NONE
      ? NONE
      : this.#variantOfHost(file, host);
    if (mine !== NONE && mine === variant) {
      const held = this.#regOf(variant, host, peer.port);
      if (held !== NONE) {
        this.#regExpires[held] = now + this.#ttlMs;
        return;
      }
    }
    if (mine !== NONE && mine !== variant) {
      throw new RegistryError(
        "conflict",
        `${peer.host} already shares file ${
          meta.id.slice(0, 16)
        } with different metadata; share it with the same piece size on every port.`,
      );
    }
    const ports = mine === NONE ? 0 : this.#portsOf(mine, host);
    this.#checkQuotas(meta, peer.host, ports, variant === NONE);
    if (variant === NONE) {
      if (file !== NONE) this.#makeRoom(file, now);
      file = this.#fileOf(meta.id);
      if (file === NONE) file = this.#addFile();
      variant = this.#addVariant(file, meta);
    }
    host = this.#hosts.intern(peer.host);
    this.#addRegistration(variant, host, peer.port, now + this.#ttlMs);
    this.#hosts.add(host, 1, ports === 0 ? meta.pieceHashes.length : 0);
    this.#registrations++;
  }

  /** Renews `peer`'s registrations of `ids`; returns the IDs it has none for. */
  announce(ids: readonly string[], peer: PeerAddress): string[] {
    const now = this.#now();
    const unknown: string[] = [];
    const host = this.#hosts.find(peer.host);
    for (const id of ids) {
      const held = this.#heldBy(id, host, peer.port);
      if (held !== NONE && this.#regExpires[held] > now) {
        this.#regExpires[held] = now + this.#ttlMs;
      } else {
        unknown.push(id);
      }
    }
    return unknown;
  }

  /** Removes `peer`'s registration of `id`, if there is one. */
  unregister(id: string, peer: PeerAddress): void {
    const held = this.#heldBy(id, this.#hosts.find(peer.host), peer.port);
    if (held !== NONE) this.#drop(held);
  }

  /**
   * Variant `variant` (default 0, the best supported) of the file whose ID
   * is or starts with `idOrPrefix`, and its live peers (freshest first, at
   * most {@linkcode MAX_PEERS_PER_ANSWER}). Variants are ordered by live
   * hosts, then live peers, most first, then oldest first. Throws
   * {@linkcode RegistryError} `not-found`, `ambiguous` or `bad-request`.
   */
  query(idOrPrefix: string, variant = 0): QueryResult {
    if (!isIdPrefix(idOrPrefix)) {
      throw new RegistryError(
        "bad-request",
        "A file ID must be 16 to 64 lowercase hex characters.",
      );
    }
    const file = this.#find(idOrPrefix);
    const now = this.#now();
    const ranked = this.#ranked(file, now);
    const chosen = ranked[variant];
    if (chosen === undefined) {
      throw new RegistryError(
        "not-found",
        `File ${
          this.#idOf(file).slice(0, 16)
        } has ${ranked.length} variant(s); there is no variant ${variant}.`,
      );
    }
    return {
      meta: this.#metaOf(chosen.variant),
      peers: this.#freshest(chosen.variant, now),
      variant,
      variants: ranked.length,
    };
  }

  /** Files with live peers, at most {@linkcode MAX_FILES_PER_ANSWER}. */
  list(): FileSummary[] {
    return this.#summaries(() => true);
  }

  /**
   * Files whose name contains `text`, ignoring case, at most
   * {@linkcode MAX_FILES_PER_ANSWER}. Empty text matches every file.
   */
  search(text: string): FileSummary[] {
    if (text.length > MAX_SEARCH_CHARS) {
      throw new RegistryError(
        "bad-request",
        `Search text must be at most ${MAX_SEARCH_CHARS} characters.`,
      );
    }
    const needle = text.toLowerCase();
    return this.#summaries((name) => name.toLowerCase().includes(needle));
  }

  /** Counts of live files, peer addresses and registrations. */
  stats(): RegistryStats {
    const now = this.#now();
    const liveFiles = new Uint8Array(this.#fileTop);
    // Most hosts use one port: remember each host's first, and keep only
    // the (rare) further ports in a set.
    const firstPort = new Int32Array(this.#hosts.capacity).fill(NONE);
    const morePorts = new Set<number>();
    let registrations = 0;
    let peers = 0;
    for (let reg = 0; reg < this.#regTop; reg++) {
      const variant = this.#regVariant[reg];
      if (variant === NONE || this.#regExpires[reg] <= now) continue;
      registrations++;
      liveFiles[this.#variantFile[variant]] = 1;
      const host = this.#regHost[reg];
      const port = this.#regPort[reg];
      if (firstPort[host] === NONE) {
        firstPort[host] = port;
        peers++;
      } else if (firstPort[host] !== port) {
        const key = host * 65536 + port;
        if (!morePorts.has(key)) peers++;
        morePorts.add(key);
      }
    }
    const files = liveFiles.reduce((sum, flag) => sum + flag, 0);
    return { files, peers, registrations };
  }

  /** Forgets expired registrations and files left without peers; returns how many registrations went. */
  sweep(): number {
    const now = this.#now();
    let removed = 0;
    for (let reg = 0; reg < this.#regTop; reg++) {
      if (this.#regVariant[reg] === NONE) continue;
      if (this.#regExpires[reg] > now) continue;
      this.#drop(reg);
      removed++;
    }
    return removed;
  }

  // --- Lookups ---------------------------------------------------------

  /** The file with full ID `id`, or NONE. */
  #fileOf(id: string): number {
    const key = this.#wantId(id);
    for (let file = this.#byKey.get(key) ?? NONE; file !== NONE;) {
      if (this.#idMatches(file, ID_BYTES * 2)) return file;
      file = this.#fileNext[file];
    }
    return NONE;
  }

  /** The registration of `host`:`port` for file `id`, or NONE. */
  #heldBy(id: string, host: number, port: number): number {
    if (host === NONE || !isFullId(id)) return NONE;
    const file = this.#fileOf(id);
    if (file === NONE) return NONE;
    const variant = this.#variantOfHost(file, host);
    return variant === NONE ? NONE : this.#regOf(variant, host, port);
  }

  /** Puts the bytes of hex `text` into #wanted; returns its first 8 chars as int32. */
  #wantId(text: string): number {
    const wanted = this.#wanted;
    for (let i = 0; i + 1 < text.length; i += 2) {
      wanted[i >> 1] = (nibble(text.charCodeAt(i)) << 4) |
        nibble(text.charCodeAt(i + 1));
    }
    if (text.length & 1) {
      wanted[text.length >> 1] = nibble(text.charCodeAt(text.length - 1)) << 4;
    }
    return keyOf(wanted);
  }

  /** True if file `file`'s ID starts with the first `chars` hex chars of #wanted. */
  #idMatches(file: number, chars: number): boolean {
    const ids = this.#fileIds;
    const base = file * ID_BYTES;
    const whole = chars >> 1;
    // The first 4 bytes are the key, equal already.
    for (let i = 4; i < whole; i++) {
      if (ids[base + i] !== this.#wanted[i]) return false;
    }
    return (chars & 1) === 0 ||
      (ids[base + whole] & 0xf0) === this.#wanted[whole];
  }

  /** The live file whose ID is or starts with `idOrPrefix`; throws if none or several. */
  #find(idOrPrefix: string): number {
    const key = this.#wantId(idOrPrefix);
    const matches: number[] = [];
    for (let file = this.#byKey.get(key) ?? NONE; file !== NONE;) {
      const next = this.#fileNext[file];
      if (this.#idMatches(file, idOrPrefix.length) && this.#isLive(file)) {
        matches.push(file);
      }
      file = next;
    }
    if (matches.length > 1) {
      throw new RegistryError(
        "ambiguous",
        `ID ${idOrPrefix} matches more than one file; give more of its characters.`,
      );
    }
    if (matches.length === 1) return matches[0];
    throw new RegistryError(
      "not-found",
      `No file with ID ${idOrPrefix} is known to the tracker.`,
    );
  }

  /** True if any peer of `file` is live; a dead file is dropped. */
  #isLive(file: number): boolean {
    const now = this.#now();
    let variant = this.#fileFirst[file];
    for (; variant !== NONE; variant = this.#variantNext[variant]) {
      let reg = this.#variantHead[variant];
      for (; reg !== NONE; reg = this.#regNext[reg]) {
        if (this.#regExpires[reg] > now) return true;
      }
    }
    this.#dropFile(file);
    return false;
  }

  /** The variant of `file` with the same content as `meta`, or NONE. */
  #variantWith(file: number, meta: FileMeta): number {
    let variant = this.#fileFirst[file];
    for (; variant !== NONE; variant = this.#variantNext[variant]) {
      if (
        this.#variantSize[variant] === meta.size &&
        this.#variantPieceSize[variant] === meta.pieceSize &&
        this.#hashes.equals(variant, meta.pieceHashes)
      ) {
        return variant;
      }
    }
    return NONE;
  }

  /** The variant of `file` in which `host` holds registrations, or NONE. */
  #variantOfHost(file: number, host: number): number {
    let variant = this.#fileFirst[file];
    for (; variant !== NONE; variant = this.#variantNext[variant]) {
      if (this.#runOf(variant, host) !== NONE) return variant;
    }
    return NONE;
  }

  /** The first of `host`'s registrations in `variant`, or NONE. */
  #runOf(variant: number, host: number): number {
    const index = this.#runIndex.get(variant);
    if (index) return index.get(host) ?? NONE;
    let reg = this.#variantHead[variant];
    while (reg !== NONE && this.#regHost[reg] !== host) {
      reg = this.#regNext[reg];
    }
    return reg;
  }

  /** `host`:`port`'s registration in `variant`, or NONE. */
  #regOf(variant: number, host: number, port: number): number {
    let reg = this.#runOf(variant, host);
    for (
      ;
      reg !== NONE && this.#regHost[reg] === host;
      reg = this.#regNext[reg]
    ) {
      if (this.#regPort[reg] === port) return reg;
    }
    return NONE;
  }

  /** How many ports `host` registered in `variant`. */
  #portsOf(variant: number, host: number): number {
    let count = 0;
    let reg = this.#runOf(variant, host);
    for (
      ;
      reg !== NONE && this.#regHost[reg] === host;
      reg = this.#regNext[reg]
    ) {
      count++;
    }
    return count;
  }

  // --- Answers ---------------------------------------------------------

  /** The live variants of `file`, best supported first; dead ones are dropped. */
  #ranked(file: number, now: number): Support[] {
    const out: Support[] = [];
    for (let variant = this.#fileFirst[file]; variant !== NONE;) {
      const next = this.#variantNext[variant];
      let hosts = 0;
      let peers = 0;
      let lastHost = NONE;
      let reg = this.#variantHead[variant];
      for (; reg !== NONE; reg = this.#regNext[reg]) {
        if (this.#regExpires[reg] <= now) continue;
        peers++;
        // One host's registrations are adjacent: a new host starts a run.
        if (this.#regHost[reg] !== lastHost) hosts++;
        lastHost = this.#regHost[reg];
      }
      if (peers === 0) this.#dropVariant(variant);
      else out.push({ variant, hosts, peers });
      variant = next;
    }
    return out.sort((a, b) =>
      b.hosts - a.hosts || b.peers - a.peers ||
      this.#variantCreated[a.variant] - this.#variantCreated[b.variant]
    );
  }

  /** Live peers of `variant`, freshest first, at most MAX_PEERS_PER_ANSWER. */
  #freshest(variant: number, now: number): PeerAddress[] {
    const live: number[] = [];
    let reg = this.#variantHead[variant];
    for (; reg !== NONE; reg = this.#regNext[reg]) {
      if (this.#regExpires[reg] > now) live.push(reg);
    }
    const expires = this.#regExpires;
    live.sort((a, b) => expires[b] - expires[a]);
    if (live.length > MAX_PEERS_PER_ANSWER) live.length = MAX_PEERS_PER_ANSWER;
    return live.map((reg) => ({
      host: this.#hosts.name(this.#regHost[reg]),
      port: this.#regPort[reg],
    }));
  }

  #metaOf(variant: number): FileMeta {
    return {
      id: this.#idOf(this.#variantFile[variant]),
      name: this.#variantName[variant],
      size: this.#variantSize[variant],
      pieceSize: this.#variantPieceSize[variant],
      pieceHashes: this.#hashes.get(variant),
    };
  }

  /** File `file`'s ID as hex, built flat (a string of 32 concatenations is slow to serialise). */
  #idOf(file: number): string {
    const codes = this.#idCodes;
    const base = file * ID_BYTES;
    for (let i = 0; i < ID_BYTES; i++) {
      const byte = this.#fileIds[base + i];
      codes[2 * i] = HEX_CODES[byte >> 4];
      codes[2 * i + 1] = HEX_CODES[byte & 15];
    }
    return String.fromCharCode.apply(null, codes);
  }

  /** Summaries of each matching file's best supported variant, oldest ID first. */
  #summaries(match: (name: string) => boolean): FileSummary[] {
    const now = this.#now();
    const out: FileSummary[] = [];
    for (const first of this.#byKey.values()) {
      for (let file = first; file !== NONE;) {
        if (out.length >= MAX_FILES_PER_ANSWER) return out;
        const next = this.#fileNext[file];
        const summary = this.#summary(file, match, now);
        if (summary) out.push(summary);
        file = next;
      }
    }
    return out;
  }

  #summary(
    file: number,
    match: (name: string) => boolean,
    now: number,
  ): FileSummary | undefined {
    let variant = this.#fileFirst[file];
    while (variant !== NONE && !match(this.#variantName[variant])) {
      variant = this.#variantNext[variant];
    }
    if (variant === NONE) return undefined;
    const top = this.#ranked(file, now)[0];
    if (!top || !match(this.#variantName[top.variant])) return undefined;
    return {
      id: this.#idOf(file),
      name: this.#variantName[top.variant],
      size: this.#variantSize[top.variant],
      peers: top.peers,
    };
  }

  // --- Changes ---------------------------------------------------------

  #checkQuotas(
    meta: FileMeta,
    hostName: string,
    ports: number,
    newVariant: boolean,
  ): void {
    const q = this.#quotas;
    const host = this.#hosts.find(hostName);
    const bytes = meta.pieceHashes.length;
    const over = this.#registrations >= q.maxRegistrations ||
      (newVariant && this.#hashBytes + bytes > q.maxHashBytes) ||
      this.#hosts.registrations(host) >= q.maxRegistrationsPerHost ||
      ports >= q.maxPortsPerHostPerFile ||
      (ports === 0 &&
        this.#hosts.hashBytes(host) + bytes > q.maxHashBytesPerHost);
    if (over) {
      throw new RegistryError(
        "busy",
        `The tracker is holding all the registrations it allows from ${hostName}; try again later.`,
      );
    }
  }

  /** Drops dead variants of `file` and, if it is still full, the least supported. */
  #makeRoom(file: number, now: number): void {
    const ranked = this.#ranked(file, now);
    if (ranked.length >= this.#quotas.maxVariants) {
      this.#dropVariant(ranked[ranked.length - 1].variant);
    }
  }

  /** Drops `host`'s expired registrations of `file`, before it registers again. */
  #dropExpiredOf(file: number, host: number, now: number): void {
    const variant = this.#variantOfHost(file, host);
    if (variant === NONE) return;
    const expired: number[] = [];
    let reg = this.#runOf(variant, host);
    for (
      ;
      reg !== NONE && this.#regHost[reg] === host;
      reg = this.#regNext[reg]
    ) {
      if (this.#regExpires[reg] <= now) expired.push(reg);
    }
    for (const each of expired) this.#drop(each);
  }

  /** A new file slot for the ID in #wanted, chained under its key. */
  #addFile(): number {
    let file = this.#fileFree;
    if (file !== NONE) {
      this.#fileFree = this.#fileNext[file];
    } else {
      file = this.#fileTop++;
      if (file >= this.#fileFirst.length) this.#growFiles(2 * file);
    }
    this.#fileIds.set(this.#wanted, file * ID_BYTES);
    this.#fileFirst[file] = NONE;
    this.#fileNext[file] = NONE;
    // Appended, so list() keeps files in the order they came.
    const key = keyOf(this.#wanted);
    const first = this.#byKey.get(key);
    if (first === undefined) {
      this.#byKey.set(key, file);
    } else {
      let last = first;
      while (this.#fileNext[last] !== NONE) last = this.#fileNext[last];
      this.#fileNext[last] = file;
    }
    return file;
  }

  #addVariant(file: number, meta: FileMeta): number {
    let variant = this.#variantFree;
    if (variant !== NONE) {
      this.#variantFree = this.#variantNext[variant];
    } else {
      variant = this.#variantTop++;
      if (variant >= this.#variantFile.length) this.#growVariants(2 * variant);
    }
    this.#variantFile[variant] = file;
    this.#variantHead[variant] = NONE;
    this.#variantPeers[variant] = 0;
    this.#variantSize[variant] = meta.size;
    this.#variantPieceSize[variant] = meta.pieceSize;
    this.#variantCreated[variant] = this.#created++;
    this.#variantName[variant] = meta.name;
    this.#hashes.store(variant, meta.pieceHashes);
    this.#hashBytes += meta.pieceHashes.length;
    // Appended, so variants of equal support stay in order of age.
    let last = this.#fileFirst[file];
    if (last === NONE) {
      this.#fileFirst[file] = variant;
    } else {
      while (this.#variantNext[last] !== NONE) last = this.#variantNext[last];
      this.#variantNext[last] = variant;
    }
    this.#variantNext[variant] = NONE;
    return variant;
  }

  /** Links a new registration in, next to `host`'s others in `variant`. */
  #addRegistration(
    variant: number,
    host: number,
    port: number,
    expires: number,
  ): void {
    let reg = this.#regFree;
    if (reg !== NONE) {
      this.#regFree = this.#regNext[reg];
    } else {
      reg = this.#regTop++;
      if (reg >= this.#regVariant.length) this.#growRegistrations(2 * reg);
    }
    this.#regVariant[reg] = variant;
    this.#regHost[reg] = host;
    this.#regPort[reg] = port;
    this.#regExpires[reg] = expires;
    const run = this.#runOf(variant, host);
    const prev = run;
    const next = run === NONE ? this.#variantHead[variant] : this.#regNext[run];
    this.#regPrev[reg] = prev;
    this.#regNext[reg] = next;
    if (prev === NONE) this.#variantHead[variant] = reg;
    else this.#regNext[prev] = reg;
    if (next !== NONE) this.#regPrev[next] = reg;
    const index = this.#runIndex.get(variant);
    if (index && run === NONE) index.set(host, reg);
    if (++this.#variantPeers[variant] === INDEXED_VARIANT_PEERS) {
      this.#indexRuns(variant);
    }
  }

  #indexRuns(variant: number): void {
    const index = new Map<number, number>();
    let reg = this.#variantHead[variant];
    for (; reg !== NONE; reg = this.#regNext[reg]) {
      if (!index.has(this.#regHost[reg])) index.set(this.#regHost[reg], reg);
    }
    this.#runIndex.set(variant, index);
  }

  /** Removes one registration, and its variant and file with their last one. */
  #drop(reg: number): void {
    const variant = this.#regVariant[reg];
    const host = this.#regHost[reg];
    const prev = this.#regPrev[reg];
    const next = this.#regNext[reg];
    const samePrev = prev !== NONE && this.#regHost[prev] === host;
    const sameNext = next !== NONE && this.#regHost[next] === host;
    const index = this.#runIndex.get(variant);
    if (index && !samePrev) {
      if (sameNext) index.set(host, next);
      else index.delete(host);
    }
    if (prev === NONE) this.#variantHead[variant] = next;
    else this.#regNext[prev] = next;
    if (next !== NONE) this.#regPrev[next] = prev;
    this.#regVariant[reg] = NONE;
    this.#regNext[reg] = this.#regFree;
    this.#regFree = reg;
    const lastPort = !samePrev && !sameNext;
    this.#hosts.add(host, -1, lastPort ? -this.#hashes.length(variant) : 0);
    this.#registrations--;
    const peers = --this.#variantPeers[variant];
    if (index && peers < UNINDEXED_VARIANT_PEERS) {
      this.#runIndex.delete(variant);
    }
    if (peers === 0) this.#removeVariant(variant);
  }

  /** Removes a variant with all its registrations. */
  #dropVariant(variant: number): void {
    while (this.#variantFile[variant] !== NONE) {
      this.#drop(this.#variantHead[variant]);
    }
  }

  #dropFile(file: number): void {
    while (this.#fileFirst[file] !== NONE) {
      this.#dropVariant(this.#fileFirst[file]);
    }
  }

  /** Unlinks an empty variant, and its file if it was the last. */
  #removeVariant(variant: number): void {
    const file = this.#variantFile[variant];
    let prev = NONE;
    let at = this.#fileFirst[file];
    while (at !== variant) {
      prev = at;
      at = this.#variantNext[at];
    }
    if (prev === NONE) this.#fileFirst[file] = this.#variantNext[variant];
    else this.#variantNext[prev] = this.#variantNext[variant];
    this.#hashBytes -= this.#hashes.length(variant);
    this.#hashes.free(variant);
    this.#variantName[variant] = "";
    this.#variantFile[variant] = NONE;
    this.#variantNext[variant] = this.#variantFree;
    this.#variantFree = variant;
    if (this.#fileFirst[file] === NONE) this.#removeFile(file);
  }

  #removeFile(file: number): void {
    const key = keyOf(this.#fileIds, file * ID_BYTES);
    const first = this.#byKey.get(key)!;
    const next = this.#fileNext[file];
    if (first === file) {
      if (next === NONE) this.#byKey.delete(key);
      else this.#byKey.set(key, next);
    } else {
      let prev = first;
      while (this.#fileNext[prev] !== file) prev = this.#fileNext[prev];
      this.#fileNext[prev] = next;
    }
    this.#fileNext[file] = this.#fileFree;
    this.#fileFree = file;
  }

  // --- Growth ----------------------------------------------------------

  #growFiles(length: number): void {
    this.#fileIds = grown(this.#fileIds, length * ID_BYTES);
    this.#fileNext = grown(this.#fileNext, length);
    this.#fileFirst = grown(this.#fileFirst, length);
  }

  #growVariants(length: number): void {
    this.#variantFile = grown(this.#variantFile, length);
    this.#variantNext = grown(this.#variantNext, length);
    this.#variantHead = grown(this.#variantHead, length);
    this.#variantPeers = grown(this.#variantPeers, length);
    this.#variantSize = grown(this.#variantSize, length);
    this.#variantPieceSize = grown(this.#variantPieceSize, length);
    this.#variantCreated = grown(this.#variantCreated, length);
  }

  #growRegistrations(length: number): void {
    this.#regVariant = grown(this.#regVariant, length);
    this.#regNext = grown(this.#regNext, length);
    this.#regPrev = grown(this.#regPrev, length);
    this.#regHost = grown(this.#regHost, length);
    this.#regPort = grown(this.#regPort, length);
    this.#regExpires = grown(this.#regExpires, length);
  }
}

type TypedArray = Uint8Array | Uint16Array | Int32Array | Float64Array;

/** A copy of `array`, `length` long. */
function grown<T extends TypedArray>(array: T, length: number): T {
  const next = new (array.constructor as new (length: number) => T)(length);
  next.set(array);
  return next;
}

/** The value of lowercase hex char code `code`. */
function nibble(code: number): number {
  return code <= 57 ? code - 48 : code - 87;
}

/** The first 4 ID bytes at `offset` as an int32: the lookup key. */
function keyOf(bytes: Uint8Array, offset = 0): number {
  return (bytes[offset] << 24) | (bytes[offset + 1] << 16) |
    (bytes[offset + 2] << 8) | bytes[offset + 3];
}
