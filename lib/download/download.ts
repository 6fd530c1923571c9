/**
 * `get`: asks the tracker who has a file, downloads its pieces from all of
 * them at once, checks each piece against its SHA-256 before writing it into
 * `NAME.part`, checks the whole file against its ID, and only then gives it
 * its real name.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { selfAddresses } from "../net/address.ts";
import { BandwidthLimiter } from "../util/bandwidth.ts";
import { type Address, formatAddress } from "../net/connection.ts";
import {
  HASH_BYTES,
  MAX_BAD_PIECES,
  MAX_PEERS_PER_ANSWER,
} from "../protocol/limits.ts";
import {
  type FileMeta,
  type PeerAddress,
  pieceCount,
  pieceLength,
} from "../protocol/messages.ts";
import { BufferPool } from "../util/buffer_pool.ts";
import { fileIdentity } from "../storage/file_hash.ts";
import { HashThread, THREAD_MIN_PIECES } from "../storage/hash_thread.ts";
import { PartBusyError, PartFile } from "../storage/part_file.ts";
import { PartialFile } from "../storage/partial_file.ts";
import {
  openPieceStore,
  type PieceStore,
  THREAD_CAN_WRITE,
} from "../storage/piece_store.ts";
import { PeerLink } from "../swarm/peer_link.ts";
import { PieceScheduler } from "../swarm/piece_scheduler.ts";
import { safeFileName } from "../storage/safe_name.ts";
import { TrackerClient, TrackerError } from "../discovery/tracker_client.ts";

/** Pieces re-verified between yields to the event loop when resuming. */
export const RESUME_YIELD_PIECES = 64;
/** How far back the speed shown in progress looks. */
export const SPEED_WINDOW_MS = 3_000;
/** How often a download asks the tracker for peers that joined since. */
export const SWARM_REFRESH_MS = 2_000;
/** The first time a download asks again; the wait doubles up to SWARM_REFRESH_MS. */
export const SWARM_FIRST_REFRESH_MS = 250;
/** Connections one download makes to one peer address, counting the first. */
export const MAX_LINKS_PER_PEER = 3;
/** Peers one download is connected to at once. */
export const MAX_LINKS = 200;
/**
 * Ports of one host a download connects to: a host saying it serves on many
 * ports (in `hello`s or registrations) cannot make it open many connections.
 */
export const MAX_PORTS_PER_HOST = 32;
/**
 * A download none of whose connected peers has a missing piece gives up
 * after this long without receiving one.
 */
export const SWARM_STARVE_MS = 30_000;

/**
 * The peer process a download serves its verified pieces from (swarming):
 * a {@linkcode PeerNode}.
 */
export interface SwarmHost {
  /** Where its peer server listens. */
  readonly address: Address;
  /** Serves a download's verified pieces; false if the file is served already. */
  offer(
    source: PartialFile,
    options: { onPeer?: (address: Address) => void },
  ): Promise<boolean>;
  /** Stops serving a download's pieces and unregisters them. */
  withdraw(source: PartialFile): Promise<void>;
  /** Serves the finished, verified file at `path`. */
  adopt(path: string, meta: FileMeta): Promise<void>;
}

/** A snapshot of a download in progress. */
export interface DownloadProgress {
  /** File name as it will be saved. */
  name: string;
  /** File size in bytes. */
  size: number;
  /** Verified bytes so far. */
  received: number;
  /** Recent speed in bytes per second. */
  bytesPerSecond: number;
  /** Peers currently connected. */
  peers: number;
}

/** Bytes received from one peer in this run. */
export interface PeerBytes {
  /** The peer as `host:port`. */
  address: string;
  /** Piece bytes received from it. */
  bytes: number;
}

/** What a finished download produced. */
export interface DownloadResult {
  /** Where the verified file was saved. */
  path: string;
  /** The file's metadata. */
  meta: FileMeta;
  /** Bytes received from each peer. */
  peers: PeerBytes[];
  /** Ms from start to verified file. */
  elapsedMs: number;
}

/** Options for {@linkcode download}. */
export interface DownloadOptions {
  /** Tracker to ask for peers. */
  tracker: Address;
  /** Folder to save into; created if missing. */
  outDir: string;
  /** Called as pieces arrive. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Cancels the download; the `.part` file is kept. */
  signal?: AbortSignal;
  /** Receives one line per notable event (peer dropped, bad piece). */
  log?: (line: string) => void;
  /** Replace an existing file of the same name. @default {false} */
  force?: boolean;
  /** This process's own listening addresses, never connected to. */
  self?: Address[];
  /**
   * Piece bytes a second received from all peers together: a rate, or a
   * limiter shared with other downloads (closed by its owner).
   * @default {no limit}
   */
  downloadLimit?: number | BandwidthLimiter;
  /**
   * Serves the pieces verified so far to other downloaders while
   * downloading, and registers this peer as a partial holder.
   * @default {nothing is served}
   */
  swarm?: SwarmHost;
  /** With `swarm`: keep serving the finished file. @default {false} */
  seed?: boolean;
}

/** A download that could not complete; the message is for the user. */
export class DownloadError extends Error {
  /** True if another metadata variant of the file may succeed. */
  readonly retryable: boolean;
  /** Creates an error with a message for the user. */
  constructor(message: string, options: { retryable?: boolean } = {}) {
    super(message);
    this.name = "DownloadError";
    this.retryable = options.retryable ?? false;
  }
}

/**
 * Downloads the file with ID (or unique ID prefix) `id`. If the tracker
 * holds several metadata variants for the ID (someone registered wrong piece
 * hashes), a variant whose download cannot be verified is followed by the
 * next.
 */
export async function download(
  id: string,
  options: DownloadOptions,
): Promise<DownloadResult> {
  const started = performance.now();
  const { signal } = options;
  signal?.throwIfAborted();
  using owned = typeof options.downloadLimit === "number"
    ? new BandwidthLimiter(options.downloadLimit)
    : undefined;
  const limiter = owned ?? options.downloadLimit as BandwidthLimiter;
  let client = await untilAborted(
    TrackerClient.connect(options.tracker),
    signal,
    (late) => late.close(),
  );
  // Asking again for peers reconnects once if the tracker went away (it
  // may have restarted); a failure is only logged by the caller.
  const requery = async (fullId: string, variant: number) => {
    try {
      return await client.query(fullId, { variant });
    } catch {
      client.close();
      signal?.throwIfAborted();
      client = await TrackerClient.connect(options.tracker);
      return await client.query(fullId, { variant });
    }
  };
  // Cancelling while the tracker has not answered closes the connection.
  const hangUp = () => client.close();
  signal?.addEventListener("abort", hangUp, { once: true });
  try {
    for (let variant = 0;; variant++) {
      const found = await lookUp(client, id, variant, options.tracker)
        .catch((error) => {
          signal?.throwIfAborted();
          throw error;
        });
      try {
        const result = await downloadVariant(found, {
          ...options,
          refresh: () => requery(found.meta.id, variant),
          seenAs: client.local.host,
        }, limiter);
        return { ...result, elapsedMs: performance.now() - started };
      } catch (error) {
        const retry = error instanceof DownloadError && error.retryable &&
          variant + 1 < found.variants;
        if (!retry) throw error;
        options.log?.(`${error.message} Trying the next variant.`);
      }
    }
  } finally {
    signal?.removeEventListener("abort", hangUp);
    client.close();
  }
}

/**
 * Resolves as `pending` does, or rejects with the abort reason as soon as
 * `signal` aborts; a value that arrives too late goes to `discard`.
 */
function untilAborted<T>(
  pending: Promise<T>,
  signal: AbortSignal | undefined,
  discard: (late: T) => void,
): Promise<T> {
  if (!signal) return pending;
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      reject(signal.reason);
      pending.then(discard, () => {});
    };
    signal.addEventListener("abort", abort, { once: true });
    pending.then(resolve, reject).finally(() =>
      signal.removeEventListener("abort", abort)
    );
  });
}

/** Options of one variant's download: the caller's, and how to ask for more peers. */
interface VariantOptions extends DownloadOptions {
  /** Asks the tracker again for the peers of this variant. */
  refresh: () => Promise<{ peers: PeerAddress[] }>;
  /** This host's address as the tracker sees it (it lists this peer so). */
  seenAs?: string;
}

async function downloadVariant(
  found: { meta: FileMeta; peers: PeerAddress[] },
  options: VariantOptions,
  limiter: BandwidthLimiter | undefined,
): Promise<Omit<DownloadResult, "elapsedMs">> {
  const { meta } = found;
  const count = pieceCount(meta.size, meta.pieceSize);
  const part = await openPart(meta, options);
  try {
    // Disposed (hashing stopped, pieces no longer served) before the part
    // file closes below.
    await using run = new DownloadRun(meta, part, options, limiter);
    if (part.resumed) await run.checkExisting();
    const peers = run.usable(found.peers);
    if (!run.finished && peers.length === 0) {
      throw new DownloadError(
        `Nobody is sharing ${meta.name} (${meta.id.slice(0, 16)}) right now.`,
        { retryable: true },
      );
    }
    const received = count > 0 ? await run.fetchAll(peers) : [];
    const path = await run.finish();
    return { path, meta, peers: received };
  } finally {
    part.close();
  }
}

async function openPart(
  meta: FileMeta,
  options: DownloadOptions,
): Promise<PartFile> {
  try {
    return await PartFile.open({
      dir: options.outDir,
      name: safeFileName(meta.name),
      force: options.force,
      identity: {
        id: meta.id,
        size: meta.size,
        pieceSize: meta.pieceSize,
        hashesDigest: createHash("sha256").update(meta.pieceHashes).digest(
          "hex",
        ),
      },
    });
  } catch (error) {
    if (error instanceof PartBusyError) throw new DownloadError(error.message);
    throw diskError(options.outDir, error);
  }
}

/** A write or open failure in the download folder, as one sentence. */
function diskError(dir: string, error: unknown): DownloadError {
  const reason = (error as { code?: string }).code === "ENOSPC" ||
      /no space left/i.test(String(error))
    ? "the disk is full"
    : error instanceof Deno.errors.PermissionDenied ||
        /permission denied/i.test(String(error))
    ? "permission denied"
    : (error as Error).message ?? String(error);
  return new DownloadError(
    `Cannot write to ${dir}: ${reason}. The partial download is kept; free some space or pick another --out, then run the same get again to resume.`,
  );
}

async function lookUp(
  client: TrackerClient,
  id: string,
  variant: number,
  tracker: Address,
): Promise<{ meta: FileMeta; peers: PeerAddress[]; variants: number }> {
  try {
    return await client.query(id, { variant });
  } catch (error) {
    if (error instanceof TrackerError && error.code === "not-found") {
      throw new DownloadError(
        `No file with ID ${id} is known to the tracker at ${
          formatAddress(tracker)
        }.`,
      );
    }
    if (error instanceof TrackerError && error.code === "ambiguous") {
      throw new DownloadError(
        `ID ${id} matches more than one file; give more of its characters.`,
      );
    }
    throw error;
  }
}

/** The state of one download between lookup and rename. */
class DownloadRun {
  #meta: FileMeta;
  #part: PartFile;
  #options: VariantOptions;
  #scheduler: PieceScheduler;
  #store: PieceStore;
  /** Every link made, in order, ended or not. */
  #links: PeerLink[] = [];
  /** The running link to each peer address. */
  #linked = new Map<string, PeerLink>();
  #running = new Set<Promise<void>>();
  #attempts = new Map<string, number>();
  #portsByHost = new Map<string, Set<number>>();
  #banned = new Set<string>();
  #self: Set<string>;
  #received = 0;
  #badPieces = 0;
  #samples: { at: number; bytes: number }[] = [];
  #diskError?: DownloadError;
  #pool: BufferPool;
  #thread?: HashThread;
  #limiter?: BandwidthLimiter;
  #partial?: PartialFile;
  #offering?: Promise<boolean>;
  #lastPieceAt = performance.now();
  #refreshing?: Promise<void>;
  #ended = Promise.withResolvers<void>();

  constructor(
    meta: FileMeta,
    part: PartFile,
    options: VariantOptions,
    limiter?: BandwidthLimiter,
  ) {
    this.#meta = meta;
    this.#part = part;
    this.#options = options;
    this.#limiter = limiter;
    const count = pieceCount(meta.size, meta.pieceSize);
    this.#pool = new BufferPool(meta.pieceSize);
    this.#scheduler = new PieceScheduler(count);
    if (count >= THREAD_MIN_PIECES && THREAD_CAN_WRITE) {
      this.#thread = new HashThread();
    }
    const readPiece = (index: number, into?: Uint8Array) =>
      part.read(index * meta.pieceSize, pieceLength(meta, index), into);
    this.#store = openPieceStore(count, {
      part,
      pieceSize: meta.pieceSize,
      size: meta.size,
      readBack: (index) => readPiece(index, this.#pool.take()),
      onStored: (index) => this.#stored(index),
      release: (data) => this.#pool.give(data),
      onError: (error) => {
        // Not the peers' fault: stop everything, keep what is written.
        this.#diskError ??= diskError(part.dir, error);
        this.#scheduler.stop();
      },
    }, this.#thread);
    const self = [...options.self ?? []];
    if (options.swarm) {
      const { port } = options.swarm.address;
      self.push(...selfAddresses(options.swarm.address));
      if (options.seenAs) self.push({ host: options.seenAs, port });
      this.#partial = new PartialFile(meta, readPiece);
    }
    this.#self = new Set(self.map(formatAddress));
  }

  /**
   * Stops hashing and serving: nothing reads the part file after this. The
   * registration as a partial holder is withdrawn unless the finished file
   * took its place.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#stopLinks();
    await this.#store.close();
    this.#thread?.close();
    await this.#withdraw();
  }

  /** True once every piece is verified. */
  get finished(): boolean {
    return this.#scheduler.finished;
  }

  /** Peers worth connecting to: valid, each once, never this process itself. */
  usable(peers: PeerAddress[]): PeerAddress[] {
    const unique = new Map<string, PeerAddress>();
    for (const peer of peers) {
      const key = formatAddress(peer);
      if (!this.#foreign(peer, key)) continue;
      if (unique.size >= MAX_PEERS_PER_ANSWER) break;
      unique.set(key, peer);
    }
    return [...unique.values()];
  }

  /**
   * Re-verifies the pieces of a resumed `.part`: those that match their
   * hash are kept, the rest (never written, torn by a crash, damaged) are
   * fetched again. The hashing thread, if there is one, reads and hashes
   * pieces alongside this thread, whoever claims a piece first hashing it
   * (as when sharing, `file_hash.ts`).
   */
  async checkExisting(): Promise<void> {
    const meta = this.#meta;
    const count = this.#scheduler.count;
    const claims = new Int32Array(
      new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
    );
    // A piece left without its digest (the thread failed) matches nothing
    // and is fetched again.
    const digests = new Uint8Array(new SharedArrayBuffer(count * HASH_BYTES));
    const theirs = this.#thread?.filePieces(this.#part.partPath, {
      pieceSize: meta.pieceSize,
      claims,
      digests,
      expect: fileIdentity(this.#part.info()),
    }).catch(() => undefined);
    let hashed = 0;
    for (
      let index = Atomics.add(claims, 0, 1);
      index < count;
      index = Atomics.add(claims, 0, 1)
    ) {
      if (hashed++ % RESUME_YIELD_PIECES === 0) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        this.#options.signal?.throwIfAborted();
      }
      const data = this.#part.read(
        index * meta.pieceSize,
        pieceLength(meta, index),
        this.#pool.take(),
      );
      digests.set(
        createHash("sha256").update(data).digest(),
        index * HASH_BYTES,
      );
      this.#pool.give(data);
    }
    await theirs;
    this.#options.signal?.throwIfAborted();
    for (let index = 0; index < count; index++) {
      const digest = digests.subarray(
        index * HASH_BYTES,
        (index + 1) * HASH_BYTES,
      );
      if (sameHash(digest, meta.pieceHashes, index)) this.#verified(index);
    }
    this.#report();
  }

  /**
   * Downloads from `peers` and from every peer that joins meanwhile (the
   * tracker is asked again every SWARM_REFRESH_MS; downloaders that serve
   * the file say so when they connect) until every piece is in, or no peer
   * is left that could send one. Resolves to the bytes received per peer.
   */
  async fetchAll(peers: PeerAddress[]): Promise<PeerBytes[]> {
    const { signal } = this.#options;
    const abort = () => {
      this.#scheduler.stop();
      this.#ended.resolve();
    };
    signal?.addEventListener("abort", abort, { once: true });
    const stopListening = this.#scheduler.listen(() => {
      if (this.#scheduler.over) this.#ended.resolve();
    });
    // Soon at first, so downloaders that start together find each other
    // before they have all asked the sharer for the same pieces.
    let ticker: ReturnType<typeof setTimeout>;
    const schedule = (ms: number) => {
      ticker = setTimeout(() => {
        this.#tick();
        schedule(Math.min(ms * 2, SWARM_REFRESH_MS));
      }, ms);
    };
    schedule(SWARM_FIRST_REFRESH_MS);
    try {
      for (const peer of peers) this.#link(peer);
      this.#checkEnd();
      await this.#ended.promise;
    } finally {
      clearTimeout(ticker!);
      stopListening();
      signal?.removeEventListener("abort", abort);
      this.#stopLinks();
      await Promise.allSettled([...this.#running]);
      await this.#refreshing;
    }
    signal?.throwIfAborted();
    // A write still on its way may be why the download stopped.
    await this.#store.flushed();
    if (this.#diskError) throw this.#diskError;
    if (!this.#scheduler.finished) throw this.#failure();
    const bytes = new Map<string, number>();
    for (const link of this.#links) {
      bytes.set(link.label, (bytes.get(link.label) ?? 0) + link.bytes);
    }
    return [...bytes].map(([address, count]) => ({ address, bytes: count }));
  }

  /** Checks the whole file against its ID and gives it its real name. */
  async finish(): Promise<string> {
    let digest: string;
    try {
      digest = await this.#store.digestHex();
    } catch (error) {
      // The last pieces could not be written: keep what is, for a resume.
      throw this.#diskError ?? diskError(this.#part.dir, error);
    }
    // Nothing more is served from the part file, which closes below.
    this.#partial?.close();
    if (digest !== this.#meta.id) {
      await this.#part.discard();
      throw new DownloadError(
        `The downloaded ${this.#meta.name} does not match its ID (got ${
          digest.slice(0, 16)
        }); the peers' metadata is wrong, nothing was saved under its name.`,
        { retryable: true },
      );
    }
    let path: string;
    try {
      path = await this.#part.commit();
    } catch (error) {
      throw diskError(this.#part.dir, error);
    }
    const { swarm, seed } = this.#options;
    if (swarm && seed) {
      try {
        await swarm.adopt(path, this.#meta);
        this.#partial = undefined;
      } catch (error) {
        this.#options.log?.(
          `Saved, but cannot keep sharing ${this.#meta.name}: ${
            (error as Error).message ?? error
          }`,
        );
      }
    }
    return path;
  }

  /** True if `peer` (`key` is its address) is a valid address and not this process. */
  #foreign(peer: PeerAddress, key: string): boolean {
    return peer.port >= 1 && peer.port <= 65535 && !this.#self.has(key);
  }

  /** Starts a link to `peer` unless it is this process, banned, linked or tried enough. */
  #link(peer: PeerAddress): void {
    const key = formatAddress(peer);
    if (
      this.#scheduler.over || !this.#foreign(peer, key) ||
      this.#banned.has(key) || this.#linked.has(key)
    ) return;
    const attempts = this.#attempts.get(key) ?? 0;
    if (attempts >= MAX_LINKS_PER_PEER || this.#linked.size >= MAX_LINKS) {
      return;
    }
    const ports = this.#portsByHost.get(peer.host) ?? new Set<number>();
    if (!ports.has(peer.port) && ports.size >= MAX_PORTS_PER_HOST) return;
    ports.add(peer.port);
    this.#portsByHost.set(peer.host, ports);
    this.#attempts.set(key, attempts + 1);
    const link = new PeerLink(peer, {
      id: this.#meta.id,
      pieces: this.#scheduler.count,
      pieceSize: this.#meta.pieceSize,
      scheduler: this.#scheduler,
      buffer: () => this.#pool.take(),
      recycle: (data) => this.#pool.give(data),
      onPiece: (index, data) => this.#onPiece(index, data),
      limiter: this.#limiter,
      // Told once this download serves pieces; before that a peer that
      // connected back would only be refused.
      servePort: () =>
        this.#offering ? this.#options.swarm?.address.port : undefined,
    });
    this.#links.push(link);
    this.#linked.set(key, link);
    const running = this.#runLink(key, link);
    this.#running.add(running);
    running.finally(() => this.#running.delete(running));
  }

  async #runLink(key: string, link: PeerLink): Promise<void> {
    await link.run();
    this.#linked.delete(key);
    if (link.lied) this.#banned.add(key);
    if (link.failure && !this.#scheduler.over) {
      this.#options.log?.(`Dropped peer ${link.label}: ${link.failure}.`);
    }
    this.#checkEnd();
  }

  /** Ends the download once it is over, or no link is left and the tracker has no new peer. */
  #checkEnd(): void {
    if (this.#scheduler.over) return this.#ended.resolve();
    if (this.#linked.size > 0) return;
    this.#refresh().then(() => {
      if (this.#linked.size === 0) this.#ended.resolve();
    });
  }

  #tick(): void {
    const starving = performance.now() - this.#lastPieceAt > SWARM_STARVE_MS;
    if (starving && ![...this.#linked.values()].some((link) => link.busy)) {
      // Connected, but nobody has what is missing.
      this.#scheduler.stop();
      this.#ended.resolve();
      return;
    }
    this.#refresh();
  }

  /** Asks the tracker for peers again and links the new ones; never throws. */
  #refresh(): Promise<void> {
    this.#refreshing ??= this.#options.refresh()
      .then(({ peers }) => {
        for (const peer of this.usable(peers)) this.#link(peer);
      }, (error) => {
        this.#options.log?.(
          `Could not ask the tracker for more peers: ${
            (error as Error).message ?? error
          }`,
        );
      })
      .finally(() => this.#refreshing = undefined);
    return this.#refreshing;
  }

  #stopLinks(): void {
    this.#scheduler.stop();
    for (const link of this.#linked.values()) link.close();
  }

  async #withdraw(): Promise<void> {
    const partial = this.#partial;
    if (!partial) return;
    partial.close();
    if (!await this.#offering) return;
    try {
      await this.#options.swarm!.withdraw(partial);
    } catch (error) {
      this.#options.log?.(
        `Could not unregister ${this.#meta.name}: ${
          (error as Error).message ?? error
        }`,
      );
    }
  }

  #onPiece(index: number, data: Uint8Array): boolean | Promise<boolean> {
    const meta = this.#meta;
    if (
      data.length !== pieceLength(meta, index) ||
      !matches(data, meta.pieceHashes, index)
    ) {
      this.#pool.give(data);
      this.#badPieces++;
      if (this.#badPieces >= MAX_BAD_PIECES) this.#scheduler.stop();
      return false;
    }
    this.#lastPieceAt = performance.now();
    this.#verified(index, data);
    this.#report();
    // Stop reading from this peer while the hashing thread catches up.
    return this.#store.behind ? this.#store.caughtUp().then(() => true) : true;
  }

  /**
   * Records a verified piece and stores it; the store owns `data` after.
   * Without `data` the piece is already in the part file (a resume).
   */
  #verified(index: number, data?: Uint8Array): void {
    this.#received += pieceLength(this.#meta, index);
    this.#scheduler.complete(index);
    this.#store.add(index, data);
  }

  /** A verified piece is on disk: it can be served from now on. */
  #stored(index: number): void {
    this.#partial?.add(index);
    this.#offer();
  }

  /** Registers as a partial holder once there is a piece to serve. */
  #offer(): void {
    const { swarm } = this.#options;
    if (!swarm || !this.#partial || this.#offering) return;
    this.#offering = swarm.offer(this.#partial, {
      onPeer: (address) => this.#link(address),
    }).catch((error) => {
      this.#options.log?.(
        `Cannot serve ${this.#meta.name} while downloading: ${
          (error as Error).message ?? error
        }`,
      );
      return false;
    });
  }

  #report(): void {
    if (!this.#options.onProgress) return;
    const now = performance.now();
    this.#samples.push({ at: now, bytes: this.#received });
    while (
      this.#samples.length > 2 && now - this.#samples[0].at > SPEED_WINDOW_MS
    ) {
      this.#samples.shift();
    }
    const first = this.#samples[0];
    const seconds = (now - first.at) / 1000;
    this.#options.onProgress({
      name: this.#part.name,
      size: this.#meta.size,
      received: this.#received,
      bytesPerSecond: seconds > 0
        ? (this.#received - first.bytes) / seconds
        : 0,
      peers: [...this.#linked.values()].filter((link) => link.active).length,
    });
  }

  #failure(): DownloadError {
    const missing = this.#scheduler.count - this.#scheduler.completed;
    const reasons = [
      ...new Map(
        this.#links.map((link) => [link.label, link.failure ?? "gave up"]),
      ),
    ].map(([label, reason]) => `${label} ${reason}`).join("; ");
    const why = this.#links.some((link) => !link.failure)
      ? "no connected peer has them"
      : "no good peer left";
    return new DownloadError(
      `Could not download ${this.#meta.name}: ${missing} of ${this.#scheduler.count} pieces missing and ${why} (${reasons}). The partial file is kept for a retry.`,
      { retryable: true },
    );
  }
}

function matches(data: Uint8Array, hashes: Uint8Array, index: number): boolean {
  return sameHash(createHash("sha256").update(data).digest(), hashes, index);
}

/** True if `digest` is piece `index`'s SHA-256 in `hashes`. */
function sameHash(
  digest: Uint8Array,
  hashes: Uint8Array,
  index: number,
): boolean {
  const offset = index * HASH_BYTES;
  for (let i = 0; i < HASH_BYTES; i++) {
    if (digest[i] !== hashes[offset + i]) return false;
  }
  return true;
}
