/**
 * Who shares each metadata variant: registrations (host number, port,
 * expiry, owning connection, whole or partial) in parallel typed arrays
 * indexed by small slot numbers, not in objects (a registration costs
 * about 31 bytes rather than a kilobyte).
 * Quotas, expiry times and answers are the registry's policy, not this
 * table's business.
 *
 * The registrations of one variant form a doubly linked list in which one
 * host's ports are kept next to each other, so "which ports does this host
 * have here" is one run; variants with many peers also map host → start of
 * its run. Free slots are chained through `regNext`.
 *
 * The table sits on a {@linkcode FileTable} (whose variants it holds peers
 * of) and a {@linkcode HostTable} (whose host numbers it stores): it keeps
 * the hosts' counters as registrations come and go, and removes a variant
 * with its last registration, so the three never disagree.
 *
 * @module
 */

import type { HostTable } from "./hosts.ts";
import type { FileTable } from "./_file_table.ts";
import { grown, INITIAL_SLOTS, NONE } from "./_slots.ts";

/** Registrations in a variant from which it keeps a host → registration map. */
export const INDEXED_VARIANT_PEERS = 64;
/** Registrations in an indexed variant below which its map is dropped again. */
const UNINDEXED_VARIANT_PEERS = 16;

/**
 * Registrations, in host runs per variant of a {@linkcode FileTable}.
 *
 * The arrays are public so that the registry's loops read them with no
 * call per element (this is the tracker's hot path); only this class writes
 * them, except `regExpires`, `regOwner`, `regPartial` and `regUnlisted`,
 * which the
 * registry sets as a registration is renewed or changes hands. Growing
 * replaces an array, so read it through the table each time rather than
 * keeping it.
 */
export class PeerTable {
  #files: FileTable;
  #hosts: HostTable;
  #count = 0;
  /** First registration of each variant. */
  variantHead = new Int32Array(INITIAL_SLOTS);
  /** How many registrations each variant has. */
  #variantPeers = new Int32Array(INITIAL_SLOTS);
  /** Variant → (host → first registration of its run), for large variants. */
  #runIndex = new Map<number, Map<number, number>>();

  /** One more than the highest registration slot ever used. */
  regTop = 0;
  #regFree = NONE;
  /** Owning variant; NONE for a free slot. */
  regVariant = new Int32Array(INITIAL_SLOTS);
  /** Next registration of the same variant, or next free slot. */
  regNext = new Int32Array(INITIAL_SLOTS);
  #regPrev = new Int32Array(INITIAL_SLOTS);
  /** The host's number in the registry's `HostTable`. */
  regHost = new Int32Array(INITIAL_SLOTS);
  regPort = new Uint16Array(INITIAL_SLOTS);
  /** When the registration lapses unless renewed, on the registry's clock. */
  regExpires = new Float64Array(INITIAL_SLOTS);
  /**
   * The session (tracker connection) that made or last renewed it, 0 for
   * none; a new or freed slot has 0, so an old session never matches it.
   */
  regOwner = new Uint32Array(INITIAL_SLOTS);
  /** 1 if the peer holds only part of the file (it is downloading it). */
  regPartial = new Uint8Array(INITIAL_SLOTS);
  /** 1 if it does not make the file show in `list` and `search`. */
  regUnlisted = new Uint8Array(INITIAL_SLOTS);

  /** An empty table for the variants of `files` and the hosts of `hosts`. */
  constructor(files: FileTable, hosts: HostTable) {
    this.#files = files;
    this.#hosts = hosts;
  }

  /** Registrations held, live or expired. */
  get count(): number {
    return this.#count;
  }

  // --- Lookups ---------------------------------------------------------

  /** The variant of `file` in which `host` holds registrations, or NONE. */
  variantOfHost(file: number, host: number): number {
    const files = this.#files;
    let variant = files.fileFirst[file];
    for (; variant !== NONE; variant = files.variantNext[variant]) {
      if (this.runOf(variant, host) !== NONE) return variant;
    }
    return NONE;
  }

  /** The first of `host`'s registrations in `variant`, or NONE. */
  runOf(variant: number, host: number): number {
    const index = this.#runIndex.get(variant);
    if (index) return index.get(host) ?? NONE;
    let reg = this.variantHead[variant];
    while (reg !== NONE && this.regHost[reg] !== host) {
      reg = this.regNext[reg];
    }
    return reg;
  }

  /** `host`:`port`'s registration in `variant`, or NONE. */
  regOf(variant: number, host: number, port: number): number {
    let reg = this.runOf(variant, host);
    for (
      ;
      reg !== NONE && this.regHost[reg] === host;
      reg = this.regNext[reg]
    ) {
      if (this.regPort[reg] === port) return reg;
    }
    return NONE;
  }

  /** How many ports `host` registered in `variant`. */
  portsOf(variant: number, host: number): number {
    let count = 0;
    let reg = this.runOf(variant, host);
    for (
      ;
      reg !== NONE && this.regHost[reg] === host;
      reg = this.regNext[reg]
    ) {
      count++;
    }
    return count;
  }

  /** Counts of live files, peer addresses and registrations at `now`. */
  stats(now: number): { files: number; peers: number; registrations: number } {
    const liveFiles = new Uint8Array(this.#files.fileTop);
    // Most hosts use one port: remember each host's first, and keep only
    // the (rare) further ports in a set.
    const firstPort = new Int32Array(this.#hosts.capacity).fill(NONE);
    const morePorts = new Set<number>();
    let registrations = 0;
    let peers = 0;
    for (let reg = 0; reg < this.regTop; reg++) {
      const variant = this.regVariant[reg];
      if (variant === NONE || this.regExpires[reg] <= now) continue;
      registrations++;
      liveFiles[this.#files.variantFile[variant]] = 1;
      const host = this.regHost[reg];
      const port = this.regPort[reg];
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

  // --- Changes ---------------------------------------------------------

  /** Readies the slot of new variant `variant`: no registrations yet. */
  addVariant(variant: number): void {
    if (variant >= this.variantHead.length) this.#growVariants(2 * variant);
    this.variantHead[variant] = NONE;
    this.#variantPeers[variant] = 0;
  }

  /**
   * Links a new registration in, next to `host`'s others in `variant`, and
   * counts it (and, if it is `host`'s first port there, the variant's piece
   * hashes) against `host`. Returns its slot, with no owner and whole.
   */
  add(variant: number, host: number, port: number, expires: number): number {
    let reg = this.#regFree;
    if (reg !== NONE) {
      this.#regFree = this.regNext[reg];
    } else {
      reg = this.regTop++;
      if (reg >= this.regVariant.length) this.#growRegistrations(2 * reg);
    }
    this.regVariant[reg] = variant;
    this.regHost[reg] = host;
    this.regPort[reg] = port;
    this.regExpires[reg] = expires;
    this.regOwner[reg] = 0;
    this.regPartial[reg] = 0;
    this.regUnlisted[reg] = 0;
    const run = this.runOf(variant, host);
    const prev = run;
    const next = run === NONE ? this.variantHead[variant] : this.regNext[run];
    this.#regPrev[reg] = prev;
    this.regNext[reg] = next;
    if (prev === NONE) this.variantHead[variant] = reg;
    else this.regNext[prev] = reg;
    if (next !== NONE) this.#regPrev[next] = reg;
    const index = this.#runIndex.get(variant);
    if (index && run === NONE) index.set(host, reg);
    if (++this.#variantPeers[variant] === INDEXED_VARIANT_PEERS) {
      this.#indexRuns(variant);
    }
    this.#hosts.add(
      host,
      1,
      run === NONE ? this.#files.hashBytesOf(variant) : 0,
    );
    this.#count++;
    return reg;
  }

  #indexRuns(variant: number): void {
    const index = new Map<number, number>();
    let reg = this.variantHead[variant];
    for (; reg !== NONE; reg = this.regNext[reg]) {
      if (!index.has(this.regHost[reg])) index.set(this.regHost[reg], reg);
    }
    this.#runIndex.set(variant, index);
  }

  /** Drops every registration expired at `now`; returns how many went. */
  dropExpired(now: number): number {
    let removed = 0;
    for (let reg = 0; reg < this.regTop; reg++) {
      if (this.regVariant[reg] === NONE) continue;
      if (this.regExpires[reg] > now) continue;
      this.drop(reg);
      removed++;
    }
    return removed;
  }

  /** Drops `host`'s expired registrations of `file`, before it registers again. */
  dropExpiredOf(file: number, host: number, now: number): void {
    const variant = this.variantOfHost(file, host);
    if (variant === NONE) return;
    const expired: number[] = [];
    let reg = this.runOf(variant, host);
    for (
      ;
      reg !== NONE && this.regHost[reg] === host;
      reg = this.regNext[reg]
    ) {
      if (this.regExpires[reg] <= now) expired.push(reg);
    }
    for (const each of expired) this.drop(each);
  }

  /** Removes one registration, and its variant and file with their last one. */
  drop(reg: number): void {
    const variant = this.regVariant[reg];
    const host = this.regHost[reg];
    const prev = this.#regPrev[reg];
    const next = this.regNext[reg];
    const samePrev = prev !== NONE && this.regHost[prev] === host;
    const sameNext = next !== NONE && this.regHost[next] === host;
    const index = this.#runIndex.get(variant);
    if (index && !samePrev) {
      if (sameNext) index.set(host, next);
      else index.delete(host);
    }
    if (prev === NONE) this.variantHead[variant] = next;
    else this.regNext[prev] = next;
    if (next !== NONE) this.#regPrev[next] = prev;
    this.regVariant[reg] = NONE;
    this.regOwner[reg] = 0;
    this.regNext[reg] = this.#regFree;
    this.#regFree = reg;
    const lastPort = !samePrev && !sameNext;
    this.#hosts.add(host, -1, lastPort ? -this.#files.hashBytesOf(variant) : 0);
    this.#count--;
    const peers = --this.#variantPeers[variant];
    if (index && peers < UNINDEXED_VARIANT_PEERS) {
      this.#runIndex.delete(variant);
    }
    if (peers === 0) this.#files.removeVariant(variant);
  }

  /** Removes a variant with all its registrations. */
  dropVariant(variant: number): void {
    while (this.#files.variantFile[variant] !== NONE) {
      this.drop(this.variantHead[variant]);
    }
  }

  /** Removes a file with all its variants. */
  dropFile(file: number): void {
    while (this.#files.fileFirst[file] !== NONE) {
      this.dropVariant(this.#files.fileFirst[file]);
    }
  }

  // --- Growth ----------------------------------------------------------

  #growVariants(length: number): void {
    this.variantHead = grown(this.variantHead, length);
    this.#variantPeers = grown(this.#variantPeers, length);
  }

  #growRegistrations(length: number): void {
    this.regVariant = grown(this.regVariant, length);
    this.regNext = grown(this.regNext, length);
    this.#regPrev = grown(this.#regPrev, length);
    this.regHost = grown(this.regHost, length);
    this.regPort = grown(this.regPort, length);
    this.regExpires = grown(this.regExpires, length);
    this.regOwner = grown(this.regOwner, length);
    this.regPartial = grown(this.regPartial, length);
    this.regUnlisted = grown(this.regUnlisted, length);
  }
}
