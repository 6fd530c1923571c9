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
} from "./limits.ts";
import {
  type ErrorCode,
  type FileMeta,
  type FileSummary,
  isIdPrefix,
  type PeerAddress,
  type TrackerStats,
} from "./messages.ts";

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

interface Registration {
  peer: PeerAddress;
  expires: number;
}

/** One set of metadata registered for an ID, and the peers that share it. */
interface Variant {
  meta: FileMeta;
  /** Keyed by {@linkcode peerKey}. */
  peers: Map<string, Registration>;
  /** Order of creation, for "oldest first" among equals. */
  created: number;
}

interface FileEntry {
  id: string;
  variants: Variant[];
}

/** What one host registered for one ID: always a single variant. */
interface HostFile {
  variant: Variant;
  /** Peer keys (one a port) of this host in that variant. */
  keys: Set<string>;
}

interface HostUsage {
  registrations: number;
  hashBytes: number;
  /** File ID → what this host registered for it. */
  files: Map<string, HostFile>;
}

type Quotas = Required<Omit<TrackerServiceOptions, "ttlMs" | "now">>;

/** Files and the peers sharing them, with expiry. */
export class TrackerService {
  #ttlMs: number;
  #now: () => number;
  #quotas: Quotas;
  #files = new Map<string, FileEntry>();
  #hosts = new Map<string, HostUsage>();
  #registrations = 0;
  #hashBytes = 0;
  #created = 0;

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
    const now = this.#now();
    const key = peerKey(peer);
    let entry = this.#files.get(meta.id);
    if (entry) this.#dropExpiredOf(entry, peer.host, now);
    entry = this.#files.get(meta.id);
    let variant = entry?.variants.find((v) => sameContent(v.meta, meta));
    const held = variant?.peers.get(key);
    if (held) {
      held.expires = now + this.#ttlMs;
      return;
    }
    const mine = this.#hosts.get(peer.host)?.files.get(meta.id);
    if (mine && mine.variant !== variant) {
      throw new RegistryError(
        "conflict",
        `${peer.host} already shares file ${
          meta.id.slice(0, 16)
        } with different metadata; share it with the same piece size on every port.`,
      );
    }
    this.#checkQuotas(meta, peer, mine, variant === undefined);
    if (!entry) {
      entry = { id: meta.id, variants: [] };
      this.#files.set(meta.id, entry);
    }
    if (!variant) variant = this.#addVariant(entry, meta, now);
    variant.peers.set(key, {
      peer: { host: peer.host, port: peer.port },
      expires: now + this.#ttlMs,
    });
    this.#count(peer.host, entry.id, variant, key, +1);
  }

  /** Renews `peer`'s registrations of `ids`; returns the IDs it has none for. */
  announce(ids: readonly string[], peer: PeerAddress): string[] {
    const key = peerKey(peer);
    const now = this.#now();
    const unknown: string[] = [];
    const usage = this.#hosts.get(peer.host);
    for (const id of ids) {
      const registration = usage?.files.get(id)?.variant.peers.get(key);
      if (registration && registration.expires > now) {
        registration.expires = now + this.#ttlMs;
      } else {
        unknown.push(id);
      }
    }
    return unknown;
  }

  /** Removes `peer`'s registration of `id`, if there is one. */
  unregister(id: string, peer: PeerAddress): void {
    const entry = this.#files.get(id);
    const mine = this.#hosts.get(peer.host)?.files.get(id);
    if (entry && mine) this.#drop(entry, mine.variant, peerKey(peer));
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
    const entry = this.#find(idOrPrefix);
    const now = this.#now();
    const ranked = this.#ranked(entry, now);
    const chosen = ranked[variant];
    if (!chosen) {
      throw new RegistryError(
        "not-found",
        `File ${
          entry.id.slice(0, 16)
        } has ${ranked.length} variant(s); there is no variant ${variant}.`,
      );
    }
    const peers = [...chosen.peers.values()]
      .filter((registration) => registration.expires > now)
      .sort((a, b) => b.expires - a.expires)
      .slice(0, MAX_PEERS_PER_ANSWER)
      .map((registration) => ({ ...registration.peer }));
    return { meta: chosen.meta, peers, variant, variants: ranked.length };
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
    const peers = new Set<string>();
    let files = 0;
    let registrations = 0;
    for (const entry of this.#files.values()) {
      let live = 0;
      for (const variant of entry.variants) {
        for (const [key, registration] of variant.peers) {
          if (registration.expires <= now) continue;
          live++;
          peers.add(key);
        }
      }
      if (live > 0) files++;
      registrations += live;
    }
    return { files, peers: peers.size, registrations };
  }

  /** Forgets expired registrations and files left without peers; returns how many registrations went. */
  sweep(): number {
    const now = this.#now();
    let removed = 0;
    for (const entry of [...this.#files.values()]) {
      for (const variant of [...entry.variants]) {
        for (const [key, registration] of [...variant.peers]) {
          if (registration.expires > now) continue;
          this.#drop(entry, variant, key);
          removed++;
        }
      }
    }
    return removed;
  }

  /** The live variants of `entry`, best supported first; dead ones are dropped. */
  #ranked(entry: FileEntry, now: number): Variant[] {
    const support = new Map<Variant, { hosts: number; peers: number }>();
    for (const variant of [...entry.variants]) {
      const hosts = new Set<string>();
      let peers = 0;
      for (const registration of variant.peers.values()) {
        if (registration.expires <= now) continue;
        peers++;
        hosts.add(registration.peer.host);
      }
      if (peers === 0) this.#dropVariant(entry, variant);
      else support.set(variant, { hosts: hosts.size, peers });
    }
    return [...support.keys()].sort((a, b) => {
      const sa = support.get(a)!;
      const sb = support.get(b)!;
      return sb.hosts - sa.hosts || sb.peers - sa.peers ||
        a.created - b.created;
    });
  }

  /** The entry for `id` if any of its peers is live; a dead one is dropped. */
  #liveEntry(id: string): FileEntry | undefined {
    const entry = this.#files.get(id);
    if (!entry) return undefined;
    const now = this.#now();
    for (const variant of entry.variants) {
      for (const registration of variant.peers.values()) {
        if (registration.expires > now) return entry;
      }
    }
    for (const variant of [...entry.variants]) {
      this.#dropVariant(entry, variant);
    }
    return undefined;
  }

  #find(idOrPrefix: string): FileEntry {
    if (idOrPrefix.length === 64) {
      const entry = this.#liveEntry(idOrPrefix);
      if (entry) return entry;
    } else {
      const matches = [...this.#files.keys()]
        .filter((id) => id.startsWith(idOrPrefix))
        .map((id) => this.#liveEntry(id))
        .filter((entry) => entry !== undefined);
      if (matches.length > 1) {
        throw new RegistryError(
          "ambiguous",
          `ID ${idOrPrefix} matches more than one file; give more of its characters.`,
        );
      }
      if (matches.length === 1) return matches[0];
    }
    throw new RegistryError(
      "not-found",
      `No file with ID ${idOrPrefix} is known to the tracker.`,
    );
  }

  /** Summaries of each matching file's best supported variant. */
  #summaries(match: (name: string) => boolean): FileSummary[] {
    const now = this.#now();
    const out: FileSummary[] = [];
    for (const entry of [...this.#files.values()]) {
      if (out.length >= MAX_FILES_PER_ANSWER) break;
      if (!entry.variants.some((variant) => match(variant.meta.name))) {
        continue;
      }
      const top = this.#ranked(entry, now)[0];
      if (!top || !match(top.meta.name)) continue;
      let peers = 0;
      for (const registration of top.peers.values()) {
        if (registration.expires > now) peers++;
      }
      const { id, name, size } = top.meta;
      out.push({ id, name, size, peers });
    }
    return out;
  }

  /** Adds a variant for `meta`, first dropping the least supported if full. */
  #addVariant(entry: FileEntry, meta: FileMeta, now: number): Variant {
    const ranked = this.#ranked(entry, now);
    if (ranked.length >= this.#quotas.maxVariants) {
      this.#dropVariant(entry, ranked[ranked.length - 1]);
    }
    const variant: Variant = {
      meta: copyMeta(meta),
      peers: new Map(),
      created: this.#created++,
    };
    entry.variants.push(variant);
    // Ranking may have dropped the entry with its last dead variant.
    this.#files.set(entry.id, entry);
    this.#hashBytes += meta.pieceHashes.length;
    return variant;
  }

  #checkQuotas(
    meta: FileMeta,
    peer: PeerAddress,
    mine: HostFile | undefined,
    newVariant: boolean,
  ): void {
    const q = this.#quotas;
    const usage = this.#hosts.get(peer.host);
    const ports = mine?.keys.size ?? 0;
    const bytes = meta.pieceHashes.length;
    const over = this.#registrations >= q.maxRegistrations ||
      (newVariant && this.#hashBytes + bytes > q.maxHashBytes) ||
      (usage?.registrations ?? 0) >= q.maxRegistrationsPerHost ||
      ports >= q.maxPortsPerHostPerFile ||
      (ports === 0 && (usage?.hashBytes ?? 0) + bytes > q.maxHashBytesPerHost);
    if (over) {
      throw new RegistryError(
        "busy",
        `The tracker is holding all the registrations it allows from ${peer.host}; try again later.`,
      );
    }
  }

  /** Drops `host`'s expired registrations of `entry`, before it registers again. */
  #dropExpiredOf(entry: FileEntry, host: string, now: number): void {
    const mine = this.#hosts.get(host)?.files.get(entry.id);
    if (!mine) return;
    for (const key of [...mine.keys]) {
      const registration = mine.variant.peers.get(key);
      if (!registration || registration.expires <= now) {
        this.#drop(entry, mine.variant, key);
      }
    }
  }

  /** Removes a variant with all its registrations. */
  #dropVariant(entry: FileEntry, variant: Variant): void {
    for (const key of [...variant.peers.keys()]) {
      this.#drop(entry, variant, key);
    }
    this.#removeIfEmpty(entry, variant);
  }

  /** Removes one registration, and the variant and file with their last one. */
  #drop(entry: FileEntry, variant: Variant, key: string): void {
    const registration = variant.peers.get(key);
    if (registration) {
      variant.peers.delete(key);
      this.#count(registration.peer.host, entry.id, variant, key, -1);
    }
    this.#removeIfEmpty(entry, variant);
  }

  #removeIfEmpty(entry: FileEntry, variant: Variant): void {
    if (variant.peers.size > 0) return;
    const at = entry.variants.indexOf(variant);
    if (at >= 0) {
      entry.variants.splice(at, 1);
      this.#hashBytes -= variant.meta.pieceHashes.length;
    }
    if (entry.variants.length === 0 && this.#files.get(entry.id) === entry) {
      this.#files.delete(entry.id);
    }
  }

  /** Keeps the per-host and total counters in step with registrations. */
  #count(
    host: string,
    id: string,
    variant: Variant,
    key: string,
    delta: 1 | -1,
  ): void {
    let usage = this.#hosts.get(host);
    if (!usage) {
      usage = { registrations: 0, hashBytes: 0, files: new Map() };
      this.#hosts.set(host, usage);
    }
    const bytes = variant.meta.pieceHashes.length;
    let mine = usage.files.get(id);
    if (delta > 0) {
      if (!mine) {
        mine = { variant, keys: new Set() };
        usage.files.set(id, mine);
        usage.hashBytes += bytes;
      }
      mine.keys.add(key);
    } else if (mine) {
      mine.keys.delete(key);
      if (mine.keys.size === 0) {
        usage.files.delete(id);
        usage.hashBytes -= bytes;
      }
    }
    usage.registrations += delta;
    this.#registrations += delta;
    if (usage.registrations === 0) this.#hosts.delete(host);
  }
}

function peerKey(peer: PeerAddress): string {
  return `${peer.host} ${peer.port}`;
}

/** The parts of the metadata the ID vouches for (everything but the name). */
function sameContent(a: FileMeta, b: FileMeta): boolean {
  if (a.size !== b.size || a.pieceSize !== b.pieceSize) return false;
  if (a.pieceHashes.length !== b.pieceHashes.length) return false;
  for (let i = 0; i < a.pieceHashes.length; i++) {
    if (a.pieceHashes[i] !== b.pieceHashes[i]) return false;
  }
  return true;
}

/** A copy, so callers cannot change what the registry holds. */
function copyMeta(meta: FileMeta): FileMeta {
  return { ...meta, pieceHashes: meta.pieceHashes.slice() };
}
