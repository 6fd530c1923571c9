/**
 * The tracker's registry, in memory and without I/O: which files exist (by
 * ID, with their metadata), which peers share each one and until when. The
 * server feeds it decoded messages; tests drive it with an injected clock.
 *
 * @module
 */

import {
  MAX_FILES_PER_ANSWER,
  MAX_PEERS_PER_ANSWER,
  MAX_SEARCH_CHARS,
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
}

/** The counters of {@linkcode TrackerStats} the registry knows. */
export type RegistryStats = Pick<
  TrackerStats,
  "files" | "peers" | "registrations"
>;

interface Registration {
  peer: PeerAddress;
  expires: number;
}

interface FileEntry {
  meta: FileMeta;
  /** Keyed by {@linkcode peerKey}. */
  peers: Map<string, Registration>;
}

interface HostUsage {
  registrations: number;
  hashBytes: number;
  /** File ID → ports this host registered for it. */
  files: Map<string, number>;
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
    };
  }

  /**
   * Registers (or renews) `peer` as a sharer of `meta`. Throws
   * {@linkcode RegistryError} `conflict` if the tracker holds different
   * metadata for the ID, `busy` past a quota. A different name alone is
   * not a conflict: the name is not covered by the ID, so the first is kept.
   */
  register(meta: FileMeta, peer: PeerAddress): void {
    let entry = this.#liveEntry(meta.id);
    if (entry && !sameContent(entry.meta, meta)) {
      throw new RegistryError(
        "conflict",
        `The tracker holds different metadata for file ${
          meta.id.slice(0, 16)
        }; share it with the same piece size as the other sharers.`,
      );
    }
    const key = peerKey(peer);
    const held = entry?.peers.get(key);
    if (held) {
      held.expires = this.#now() + this.#ttlMs;
      return;
    }
    this.#checkQuotas(meta, peer, entry === undefined);
    if (!entry) {
      entry = { meta: copyMeta(meta), peers: new Map() };
      this.#files.set(meta.id, entry);
      this.#hashBytes += meta.pieceHashes.length;
    }
    entry.peers.set(key, {
      peer: { host: peer.host, port: peer.port },
      expires: this.#now() + this.#ttlMs,
    });
    this.#count(peer.host, entry.meta, +1);
  }

  /** Renews `peer`'s registrations of `ids`; returns the IDs it has none for. */
  announce(ids: readonly string[], peer: PeerAddress): string[] {
    const key = peerKey(peer);
    const now = this.#now();
    const unknown: string[] = [];
    for (const id of ids) {
      const registration = this.#files.get(id)?.peers.get(key);
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
    if (entry) this.#drop(entry, peerKey(peer));
  }

  /**
   * The file whose ID is or starts with `idOrPrefix`, and its live peers
   * (freshest first, at most {@linkcode MAX_PEERS_PER_ANSWER}). The
   * metadata is the registry's own: read it, do not change it. Throws
   * {@linkcode RegistryError} `not-found`, `ambiguous` or `bad-request`.
   */
  query(idOrPrefix: string): { meta: FileMeta; peers: PeerAddress[] } {
    if (!isIdPrefix(idOrPrefix)) {
      throw new RegistryError(
        "bad-request",
        "A file ID must be 16 to 64 lowercase hex characters.",
      );
    }
    const entry = this.#find(idOrPrefix);
    const now = this.#now();
    const peers = [...entry.peers.values()]
      .filter((registration) => registration.expires > now)
      .sort((a, b) => b.expires - a.expires)
      .slice(0, MAX_PEERS_PER_ANSWER)
      .map((registration) => ({ ...registration.peer }));
    return { meta: entry.meta, peers };
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
      for (const [key, registration] of entry.peers) {
        if (registration.expires <= now) continue;
        live++;
        peers.add(key);
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
      for (const [key, registration] of [...entry.peers]) {
        if (registration.expires > now) continue;
        this.#drop(entry, key);
        removed++;
      }
    }
    return removed;
  }

  /** The entry for `id` if any peer of it is live; a dead one is dropped. */
  #liveEntry(id: string): FileEntry | undefined {
    const entry = this.#files.get(id);
    if (!entry) return undefined;
    const now = this.#now();
    for (const registration of entry.peers.values()) {
      if (registration.expires > now) return entry;
    }
    for (const key of [...entry.peers.keys()]) this.#drop(entry, key);
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

  #summaries(match: (name: string) => boolean): FileSummary[] {
    const now = this.#now();
    const out: FileSummary[] = [];
    for (const entry of this.#files.values()) {
      if (out.length >= MAX_FILES_PER_ANSWER) break;
      if (!match(entry.meta.name)) continue;
      let peers = 0;
      for (const registration of entry.peers.values()) {
        if (registration.expires > now) peers++;
      }
      if (peers === 0) continue;
      const { id, name, size } = entry.meta;
      out.push({ id, name, size, peers });
    }
    return out;
  }

  #checkQuotas(meta: FileMeta, peer: PeerAddress, newFile: boolean): void {
    const q = this.#quotas;
    const usage = this.#hosts.get(peer.host);
    const ports = usage?.files.get(meta.id) ?? 0;
    const bytes = meta.pieceHashes.length;
    const over = this.#registrations >= q.maxRegistrations ||
      (newFile && this.#hashBytes + bytes > q.maxHashBytes) ||
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

  /** Removes one registration, and the file with its last one. */
  #drop(entry: FileEntry, key: string): void {
    const registration = entry.peers.get(key);
    if (!registration) return;
    entry.peers.delete(key);
    this.#count(registration.peer.host, entry.meta, -1);
    if (entry.peers.size === 0) {
      this.#files.delete(entry.meta.id);
      this.#hashBytes -= entry.meta.pieceHashes.length;
    }
  }

  /** Keeps the per-host and total counters in step with registrations. */
  #count(host: string, meta: FileMeta, delta: 1 | -1): void {
    let usage = this.#hosts.get(host);
    if (!usage) {
      usage = { registrations: 0, hashBytes: 0, files: new Map() };
      this.#hosts.set(host, usage);
    }
    const ports = (usage.files.get(meta.id) ?? 0) + delta;
    if (ports === 0) {
      usage.files.delete(meta.id);
      usage.hashBytes -= meta.pieceHashes.length;
    } else {
      if (ports === 1 && delta > 0) usage.hashBytes += meta.pieceHashes.length;
      usage.files.set(meta.id, ports);
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
