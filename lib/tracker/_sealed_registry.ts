/**
 * Private files at the tracker: registrations under a lookup key (derived
 * from the share's secret; the only name the tracker sees), each lookup
 * holding one opaque sealed-metadata blob and the peers registered under
 * it. The tracker never opens a blob; it stores and hands back bytes. This
 * registry is apart from the public files' tables, so `list`, `search` and
 * `query` cannot reach a private file: only `query-sealed` with the whole
 * lookup key does. {@linkcode TrackerService} owns one and delegates to it.
 *
 * **Which blob.** The first registration's blob is kept while the lookup
 * has any registration; a later registration with other bytes joins as a
 * peer and its blob is dropped unread. Sealing uses a random nonce, so two
 * holders of one link seal the same metadata into different bytes, and the
 * tracker cannot tell an honest re-seal from anything else: refusing them
 * (`conflict`) would lock every second sharer out. Whoever opens a blob
 * checks it (under a wrong key, or altered, it fails authentication). When
 * the lookup's last registration goes, so does its blob, and the next
 * registration's blob is kept.
 *
 * **Lifetime**, as for public registrations: until `unregister`, the close
 * of the session (connection) that made or last renewed it, or the TTL
 * without a renewal (`announce` renews both kinds under one string).
 *
 * **Quotas**: registrations per host and in total, ports per host per
 * lookup, and blob bytes per host and in total. A blob's bytes count
 * against the host that registered it first until the blob goes.
 *
 * Registrations are objects, not typed arrays as public ones are: the
 * total quota keeps them few.
 *
 * @module
 */

import {
  MAX_PEERS_PER_ANSWER,
  MAX_SEALED_BLOB_BYTES,
  MIN_SEALED_BLOB_BYTES,
  REGISTRATION_TTL_MS,
} from "../protocol/limits.ts";
import {
  isFullId,
  type PeerAddress,
  type SealedFile,
} from "../protocol/messages.ts";
import {
  MAX_PORTS_PER_HOST_PER_FILE,
  MAX_SEALED_BYTES_PER_HOST,
  MAX_SEALED_REGISTRATIONS,
  MAX_SEALED_REGISTRATIONS_PER_HOST,
  MAX_TRACKER_SEALED_BYTES,
  type RegisterOptions,
  RegistryError,
  type SealedQueryResult,
  type SealedQuotas,
  type TrackerServiceOptions,
} from "./registry_types.ts";
import type { Session } from "./_sessions.ts";

/** One lookup key's blob and registrations. */
interface Entry {
  blob: Uint8Array;
  /** The host whose quota the blob's bytes count against: the first registrant. */
  payer: string;
  /** Registrations by `host port`. */
  regs: Map<string, Registration>;
  /** Registrations per host, for the per-host port cap. */
  ports: Map<string, number>;
}

/** One peer's registration under one lookup key. */
interface Registration {
  lookup: string;
  host: string;
  port: number;
  /** When it lapses unless renewed, on the registry's clock. */
  expires: number;
  partial: boolean;
  /** The owning session's id, 0 for none. */
  owner: number;
}

/** What one host holds: registrations, and blob bytes it paid for. */
interface HostUse {
  regs: number;
  bytes: number;
}

/** Private registrations: lookup keys, their blobs and peers, with quotas. */
export class SealedRegistry {
  #entries = new Map<string, Entry>();
  #hosts = new Map<string, HostUse>();
  /** Session id → the registrations it owns. */
  #owned = new Map<number, Set<Registration>>();
  #bytes = 0;
  #count = 0;
  #ttlMs: number;
  #now: () => number;
  #quotas: Required<SealedQuotas>;
  #maxPorts: number;

  /** An empty registry with the TTL, clock and sealed quotas of `options`. */
  constructor(options: TrackerServiceOptions = {}) {
    this.#ttlMs = options.ttlMs ?? REGISTRATION_TTL_MS;
    this.#now = options.now ?? (() => performance.now());
    const q = options.sealed ?? {};
    this.#quotas = {
      maxRegistrationsPerHost: q.maxRegistrationsPerHost ??
        MAX_SEALED_REGISTRATIONS_PER_HOST,
      maxBytesPerHost: q.maxBytesPerHost ?? MAX_SEALED_BYTES_PER_HOST,
      maxBytes: q.maxBytes ?? MAX_TRACKER_SEALED_BYTES,
      maxRegistrations: q.maxRegistrations ?? MAX_SEALED_REGISTRATIONS,
    };
    this.#maxPorts = options.maxPortsPerHostPerFile ??
      MAX_PORTS_PER_HOST_PER_FILE;
  }

  /** Registrations held, live or expired. */
  get count(): number {
    return this.#count;
  }

  /** Blob bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Registers (or renews) `peer` under `file.lookup`, taking it into
   * `options.session` and setting whether it is partial. A new lookup
   * keeps a copy of `file.blob`; a known one keeps the blob it has. Throws
   * {@linkcode RegistryError} `bad-request` for a malformed lookup key or a
   * blob of the wrong size, `busy` past a quota.
   */
  register(
    file: SealedFile,
    peer: PeerAddress,
    options: RegisterOptions = {},
  ): void {
    const { lookup, blob } = file;
    checkRequest(lookup, blob);
    const now = this.#now();
    let entry = this.#live(lookup, now);
    let reg = entry?.regs.get(key(peer));
    if (!reg) {
      this.#checkQuotas(entry, blob, peer.host);
      entry ??= this.#addEntry(lookup, blob, peer.host);
      reg = { lookup, ...address(peer), expires: 0, partial: false, owner: 0 };
      entry.regs.set(key(peer), reg);
      entry.ports.set(peer.host, (entry.ports.get(peer.host) ?? 0) + 1);
      this.#use(peer.host).regs++;
      this.#count++;
    }
    reg.expires = now + this.#ttlMs;
    reg.partial = options.partial ?? false;
    this.#claim(reg, options.session);
  }

  /**
   * Renews `peer`'s live registration under `lookup`, taking it into
   * `session`; false if it has none.
   */
  renew(lookup: string, peer: PeerAddress, session?: Session): boolean {
    const now = this.#now();
    const reg = this.#entries.get(lookup)?.regs.get(key(peer));
    if (!reg || reg.expires <= now) return false;
    reg.expires = now + this.#ttlMs;
    this.#claim(reg, session);
    return true;
  }

  /** Removes `peer`'s registration under `lookup`, if there is one. */
  unregister(lookup: string, peer: PeerAddress): void {
    const reg = this.#entries.get(lookup)?.regs.get(key(peer));
    if (reg) this.#drop(reg);
  }

  /**
   * The blob under `lookup` and its live peers, freshest first, at most
   * MAX_PEERS_PER_ANSWER, with how many of those are partial holders.
   * Throws {@linkcode RegistryError} `not-found` (also for a malformed key:
   * no registration can have one).
   */
  query(lookup: string): SealedQueryResult {
    const entry = this.#live(lookup, this.#now());
    if (!entry) {
      throw new RegistryError(
        "not-found",
        "No private file with that lookup key is known to the tracker.",
      );
    }
    const live = [...entry.regs.values()];
    live.sort((a, b) => b.expires - a.expires);
    if (live.length > MAX_PEERS_PER_ANSWER) live.length = MAX_PEERS_PER_ANSWER;
    return {
      blob: entry.blob,
      peers: live.map(address),
      partial: live.filter((reg) => reg.partial).length,
    };
  }

  /** Lookup keys with a live registration. */
  files(): number {
    const now = this.#now();
    let files = 0;
    for (const entry of this.#entries.values()) {
      for (const reg of entry.regs.values()) {
        if (reg.expires > now) {
          files++;
          break;
        }
      }
    }
    return files;
  }

  /** Forgets expired registrations, and blobs left without any; returns how many registrations went. */
  sweep(): number {
    const now = this.#now();
    let removed = 0;
    for (const entry of [...this.#entries.values()]) {
      for (const reg of [...entry.regs.values()]) {
        if (reg.expires > now) continue;
        this.#drop(reg);
        removed++;
      }
    }
    return removed;
  }

  /**
   * Drops at once every registration `session` made or last renewed (its
   * connection closed); returns how many went.
   */
  closeSession(session: Session): number {
    const owned = [...this.#owned.get(session.id) ?? []];
    for (const reg of owned) this.#drop(reg);
    return owned.length;
  }

  /** The entry under `lookup` once its expired registrations are gone; undefined if none is left. */
  #live(lookup: string, now: number): Entry | undefined {
    const entry = this.#entries.get(lookup);
    if (!entry) return undefined;
    for (const reg of [...entry.regs.values()]) {
      if (reg.expires <= now) this.#drop(reg);
    }
    return this.#entries.get(lookup);
  }

  #addEntry(lookup: string, blob: Uint8Array, payer: string): Entry {
    // A copy: the frame's buffer is not kept alive by what the tracker holds.
    const entry = {
      blob: blob.slice(),
      payer,
      regs: new Map(),
      ports: new Map(),
    };
    this.#entries.set(lookup, entry);
    this.#use(payer).bytes += blob.length;
    this.#bytes += blob.length;
    return entry;
  }

  /** Removes `reg`, and its lookup's blob with the last one. */
  #drop(reg: Registration): void {
    const entry = this.#entries.get(reg.lookup);
    if (!entry || entry.regs.get(key(reg)) !== reg) return;
    this.#setOwner(reg, 0);
    entry.regs.delete(key(reg));
    const ports = entry.ports.get(reg.host)! - 1;
    if (ports > 0) entry.ports.set(reg.host, ports);
    else entry.ports.delete(reg.host);
    this.#count--;
    this.#release(reg.host, 1, 0);
    if (entry.regs.size > 0) return;
    this.#entries.delete(reg.lookup);
    this.#bytes -= entry.blob.length;
    this.#release(entry.payer, 0, entry.blob.length);
  }

  /** Makes `session` (none: no connection) the owner of `reg`. */
  #claim(reg: Registration, session: Session | undefined): void {
    this.#setOwner(reg, session && !session.closed ? session.id : 0);
  }

  #setOwner(reg: Registration, owner: number): void {
    if (reg.owner === owner) return;
    const before = this.#owned.get(reg.owner);
    before?.delete(reg);
    if (before?.size === 0) this.#owned.delete(reg.owner);
    reg.owner = owner;
    if (owner === 0) return;
    let after = this.#owned.get(owner);
    if (!after) this.#owned.set(owner, after = new Set());
    after.add(reg);
  }

  #checkQuotas(entry: Entry | undefined, blob: Uint8Array, host: string): void {
    const q = this.#quotas;
    const use = this.#hosts.get(host) ?? { regs: 0, bytes: 0 };
    const bytes = entry ? 0 : blob.length;
    const over = this.#count >= q.maxRegistrations ||
      use.regs >= q.maxRegistrationsPerHost ||
      (entry?.ports.get(host) ?? 0) >= this.#maxPorts ||
      this.#bytes + bytes > q.maxBytes ||
      use.bytes + bytes > q.maxBytesPerHost;
    if (over) {
      throw new RegistryError(
        "busy",
        `The tracker is holding all the private registrations it allows from ${host}; try again later.`,
      );
    }
  }

  #use(host: string): HostUse {
    let use = this.#hosts.get(host);
    if (!use) this.#hosts.set(host, use = { regs: 0, bytes: 0 });
    return use;
  }

  #release(host: string, regs: number, bytes: number): void {
    const use = this.#hosts.get(host)!;
    use.regs -= regs;
    use.bytes -= bytes;
    if (use.regs === 0 && use.bytes === 0) this.#hosts.delete(host);
  }
}

function key(peer: PeerAddress): string {
  return `${peer.host} ${peer.port}`;
}

function address(peer: PeerAddress): PeerAddress {
  return { host: peer.host, port: peer.port };
}

function checkRequest(lookup: string, blob: Uint8Array): void {
  if (!isFullId(lookup)) {
    throw new RegistryError(
      "bad-request",
      "A lookup key must be 64 lowercase hex characters.",
    );
  }
  if (
    blob.length < MIN_SEALED_BLOB_BYTES || blob.length > MAX_SEALED_BLOB_BYTES
  ) {
    throw new RegistryError(
      "bad-request",
      `Sealed metadata must be ${MIN_SEALED_BLOB_BYTES} to ${MAX_SEALED_BLOB_BYTES} bytes, not ${blob.length}.`,
    );
  }
}
