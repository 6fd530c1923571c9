/**
 * The tracker's registry, in memory and without I/O: which files exist (by
 * ID, with their metadata), which peers share each one and until when. The
 * server feeds it decoded messages; tests drive it with an injected clock.
 *
 * Registrations of one ID with different metadata (size, piece size,
 * piece hashes, being a folder) are kept apart as variants, each with its
 * own peers and expiry, so that someone registering a real ID with wrong
 * hashes cannot lock honest sharers out: downloaders try the next variant
 * when one fails its whole-file check. A folder's manifest counts against
 * the hash quotas as its hashes do.
 *
 * A registration lives until it expires, is unregistered, or the
 * connection that made or last renewed it (its {@linkcode Session}) closes,
 * whichever comes first: a sharer killed without unregistering drops out at
 * once, and one that vanishes without closing (its machine lost power) when
 * its registration expires.
 *
 * @module
 */

import {
  MAX_PEERS_PER_ANSWER,
  MAX_SEARCH_CHARS,
  MAX_VARIANTS_PER_FILE,
  REGISTRATION_TTL_MS,
} from "../protocol/limits.ts";
import {
  type FileList,
  type FileMeta,
  isFullId,
  isIdPrefix,
  type PeerAddress,
  type SealedFile,
} from "../protocol/messages.ts";
import {
  candidateList,
  fileList,
  rankVariants,
  type Support,
} from "./_answers.ts";
import { HostTable } from "./hosts.ts";
import { FileTable, folderFiles } from "./_file_table.ts";
import { PeerTable } from "./_peer_table.ts";
import { SealedRegistry } from "./_sealed_registry.ts";
import { checkQuotas, type Quotas } from "./_quotas.ts";
import { Session } from "./_sessions.ts";
import { NONE } from "./_slots.ts";

export { INDEXED_VARIANT_PEERS } from "./_peer_table.ts";
export type { Session } from "./_sessions.ts";

export * from "./registry_types.ts";
import {
  type AnnounceOptions,
  MAX_HASH_BYTES_PER_HOST,
  MAX_PORTS_PER_HOST_PER_FILE,
  MAX_REGISTRATIONS,
  MAX_REGISTRATIONS_PER_HOST,
  MAX_TRACKER_HASH_BYTES,
  type QueryResult,
  type RegisterOptions,
  RegistryError,
  type RegistryStats,
  type SealedQueryResult,
  type TrackerServiceOptions,
} from "./registry_types.ts";

/**
 * Files and the peers sharing them, with expiry: the policy (quotas, which
 * variant a registration joins, how variants rank, what an answer holds)
 * over typed-array tables, not objects: a {@linkcode FileTable} of files and
 * their variants, a {@linkcode PeerTable} of registrations in host runs, and
 * a {@linkcode HostTable} of host numbers with per-host counters.
 */
export class TrackerService {
  #ttlMs: number;
  #now: () => number;
  #quotas: Quotas;
  #hosts = new HostTable();
  #files = new FileTable();
  #peers = new PeerTable(this.#files, this.#hosts);
  #sealed: SealedRegistry;
  #lastSession = 0;

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
    this.#sealed = new SealedRegistry(options);
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
   * kept. Registering again renews it, takes it into `options.session` and
   * sets whether it is partial.
   */
  register(
    meta: FileMeta,
    peer: PeerAddress,
    options: RegisterOptions = {},
  ): void {
    if (!isFullId(meta.id)) {
      throw new RegistryError(
        "bad-request",
        "A file ID must be 64 lowercase hex characters.",
      );
    }
    const now = this.#now();
    let file = this.#files.fileOf(meta.id);
    let host = this.#hosts.find(peer.host);
    if (file !== NONE && host !== NONE) {
      this.#peers.dropExpiredOf(file, host, now);
      file = this.#files.fileOf(meta.id);
      host = this.#hosts.find(peer.host);
    }
    let variant = file === NONE ? NONE : this.#files.variantWith(file, meta);
    const mine = file === NONE || host === NONE
      ? NONE
      : this.#peers.variantOfHost(file, host);
    if (mine !== NONE && mine === variant) {
      const held = this.#peers.regOf(variant, host, peer.port);
      if (held !== NONE) {
        this.#peers.regExpires[held] = now + this.#ttlMs;
        this.#peers.regPartial[held] = options.partial ? 1 : 0;
        this.#peers.regUnlisted[held] = options.unlisted ? 1 : 0;
        this.#claim(held, options.session);
        return;
      }
    }
    if (mine !== NONE && mine !== variant) {
      throw new RegistryError(
        "conflict",
        `Another peer at ${peer.host} already shares file ${
          meta.id.slice(0, 16)
        } cut into pieces of another size; every peer at one address must use the same --piece-size for it (or none).`,
      );
    }
    const ports = mine === NONE ? 0 : this.#peers.portsOf(mine, host);
    checkQuotas(this.#quotas, {
      files: this.#files,
      hosts: this.#hosts,
      peers: this.#peers,
    }, { meta, hostName: peer.host, ports, newVariant: variant === NONE });
    if (variant === NONE) {
      const files = folderFiles(meta);
      if (file !== NONE) this.#makeRoom(file, now);
      file = this.#files.fileOf(meta.id);
      if (file === NONE) file = this.#files.addFile();
      variant = this.#files.addVariant(file, meta, files);
      this.#peers.addVariant(variant);
    }
    host = this.#hosts.intern(peer.host);
    const reg = this.#peers.add(variant, host, peer.port, now + this.#ttlMs);
    this.#peers.regPartial[reg] = options.partial ? 1 : 0;
    this.#peers.regUnlisted[reg] = options.unlisted ? 1 : 0;
    this.#claim(reg, options.session);
  }

  /** Registers (or renews) `peer` as a holder of a private file: {@linkcode SealedRegistry.register}. */
  registerSealed(
    file: SealedFile,
    peer: PeerAddress,
    options: RegisterOptions = {},
  ): void {
    this.#sealed.register(file, peer, options);
  }

  /** The private file under `lookup`: {@linkcode SealedRegistry.query}. */
  querySealed(lookup: string): SealedQueryResult {
    return this.#sealed.query(lookup);
  }

  /**
   * Renews `peer`'s registrations of `ids` (file IDs or lookup keys), taking
   * them into `options.session`; returns the IDs it has none for.
   */
  announce(
    ids: readonly string[],
    peer: PeerAddress,
    options: AnnounceOptions = {},
  ): string[] {
    const now = this.#now();
    const unknown: string[] = [];
    const host = this.#hosts.find(peer.host);
    for (const id of ids) {
      const held = this.#heldBy(id, host, peer.port);
      const sealed = this.#sealed.renew(id, peer, options.session);
      if (held !== NONE && this.#peers.regExpires[held] > now) {
        this.#peers.regExpires[held] = now + this.#ttlMs;
        this.#claim(held, options.session);
      } else if (!sealed) {
        unknown.push(id);
      }
    }
    return unknown;
  }

  /** Removes `peer`'s registration of `id` (a file ID or lookup key), if any. */
  unregister(id: string, peer: PeerAddress): void {
    const held = this.#heldBy(id, this.#hosts.find(peer.host), peer.port);
    if (held !== NONE) this.#peers.drop(held);
    this.#sealed.unregister(id, peer);
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
          this.#files.idOf(file).slice(0, 16)
        } has ${ranked.length} variant(s); there is no variant ${variant}.`,
      );
    }
    return {
      meta: this.#files.metaOf(chosen.variant),
      peers: this.#freshest(chosen.variant, now),
      variant,
      variants: ranked.length,
    };
  }

  /**
   * Files with live peers, at most {@linkcode MAX_FILES_PER_ANSWER}, with
   * `more`: how many others there are (absent when none).
   */
  list(): FileList {
    return this.#summaries(() => true);
  }

  /**
   * Files whose name contains every word of `text` (split at white space),
   * in any order, ignoring case, at most {@linkcode MAX_FILES_PER_ANSWER},
   * with `more` as {@linkcode list}'s. Text with no words matches every file.
   */
  search(text: string): FileList {
    if (text.length > MAX_SEARCH_CHARS) {
      throw new RegistryError(
        "bad-request",
        `Search text must be at most ${MAX_SEARCH_CHARS} characters.`,
      );
    }
    // In NFC both: an accent typed as one character finds a name written
    // as a letter and a combining accent (NFD, as macOS writes), and back.
    const words = text.normalize("NFC").toLowerCase().split(/\s+/u)
      .filter((word) => word !== "");
    return this.#summaries((name) => {
      const folded = name.normalize("NFC").toLowerCase();
      return words.every((word) => folded.includes(word));
    });
  }

  /** Counts of live public files, peer addresses and registrations. */
  stats(): RegistryStats {
    return this.#peers.stats(this.#now());
  }

  /** Private files (lookup keys) with a live registration. */
  privateFiles(): number {
    return this.#sealed.files();
  }

  /** Forgets expired registrations and files left without peers; returns how many registrations went. */
  sweep(): number {
    return this.#peers.dropExpired(this.#now()) + this.#sealed.sweep();
  }

  /**
   * A session for one connection: pass it to {@linkcode register} and
   * {@linkcode announce}, and to {@linkcode closeSession} when the
   * connection closes.
   */
  openSession(): Session {
    // Wraps after 2^32 - 1 sessions, skipping 0 (no owner).
    const id = this.#lastSession = (this.#lastSession % 0xffff_ffff) + 1;
    return new Session(id, (reg) => this.#peers.regOwner[reg] === id);
  }

  /**
   * Ends `session` (its connection closed): drops at once every
   * registration it made or last renewed, and no other. Returns how many
   * went. Safe to call twice.
   */
  closeSession(session: Session): number {
    const regs = this.#peers;
    let dropped = this.#sealed.closeSession(session);
    for (const reg of session.end()) {
      // drop() clears the owner, so a slot listed twice goes once.
      if (regs.regOwner[reg] !== session.id) continue;
      regs.drop(reg);
      dropped++;
    }
    return dropped;
  }

  // --- Lookups ---------------------------------------------------------

  /** Makes `session` (none: no connection) the owner of registration `reg`. */
  #claim(reg: number, session: Session | undefined): void {
    const owner = session && !session.closed ? session.id : 0;
    if (this.#peers.regOwner[reg] === owner) return;
    this.#peers.regOwner[reg] = owner;
    if (owner !== 0) session!.take(reg);
  }

  /** The registration of `host`:`port` for file `id`, or NONE. */
  #heldBy(id: string, host: number, port: number): number {
    if (host === NONE || !isFullId(id)) return NONE;
    const file = this.#files.fileOf(id);
    if (file === NONE) return NONE;
    const variant = this.#peers.variantOfHost(file, host);
    return variant === NONE ? NONE : this.#peers.regOf(variant, host, port);
  }

  /** The live file whose ID is or starts with `idOrPrefix`; throws if none or several. */
  #find(idOrPrefix: string): number {
    const key = this.#files.wantId(idOrPrefix);
    const matches: number[] = [];
    for (let file = this.#files.byKey.get(key) ?? NONE; file !== NONE;) {
      const next = this.#files.fileNext[file];
      if (
        this.#files.idMatches(file, idOrPrefix.length) && this.#isLive(file)
      ) {
        matches.push(file);
      }
      file = next;
    }
    if (matches.length > 1) {
      // Both are live: the tracker cannot tell a real sharer from someone
      // registering a look-alike, so the asker is shown both to choose.
      const tables = { files: this.#files, peers: this.#peers };
      throw new RegistryError(
        "ambiguous",
        `ID ${idOrPrefix} matches ${matches.length} files; give more of its characters.`,
        candidateList(tables, matches, this.#now()),
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
    const files = this.#files;
    const regs = this.#peers;
    let variant = files.fileFirst[file];
    for (; variant !== NONE; variant = files.variantNext[variant]) {
      let reg = regs.variantHead[variant];
      for (; reg !== NONE; reg = regs.regNext[reg]) {
        if (regs.regExpires[reg] > now) return true;
      }
    }
    regs.dropFile(file);
    return false;
  }

  // --- Answers ---------------------------------------------------------

  /** The live variants of `file`, best supported first: {@linkcode rankVariants}. */
  #ranked(file: number, now: number): Support[] {
    return rankVariants({ files: this.#files, peers: this.#peers }, file, now);
  }

  /** Live peers of `variant`, freshest first, at most MAX_PEERS_PER_ANSWER. */
  #freshest(variant: number, now: number): PeerAddress[] {
    const regs = this.#peers;
    const live: number[] = [];
    let reg = regs.variantHead[variant];
    for (; reg !== NONE; reg = regs.regNext[reg]) {
      if (regs.regExpires[reg] > now) live.push(reg);
    }
    const expires = regs.regExpires;
    live.sort((a, b) => expires[b] - expires[a]);
    if (live.length > MAX_PEERS_PER_ANSWER) live.length = MAX_PEERS_PER_ANSWER;
    return live.map((reg) => ({
      host: this.#hosts.name(regs.regHost[reg]),
      port: regs.regPort[reg],
    }));
  }

  /** The files a list or search shows: {@linkcode fileList}. */
  #summaries(match: (name: string) => boolean): FileList {
    const tables = { files: this.#files, peers: this.#peers };
    return fileList(tables, match, this.#now());
  }

  // --- Changes ---------------------------------------------------------

  /** Drops dead variants of `file` and, if it is still full, the least supported. */
  #makeRoom(file: number, now: number): void {
    const ranked = this.#ranked(file, now);
    if (ranked.length >= this.#quotas.maxVariants) {
      this.#peers.dropVariant(ranked[ranked.length - 1].variant);
    }
  }
}
