/**
 * `get`: asks the tracker who has a file, downloads its pieces from all of
 * them at once, checks each piece against its SHA-256 before writing it into
 * `NAME.part`, checks the whole file against its ID, and only then gives it
 * its real name.
 *
 * The public face and the run loop; the parts it drives are private to this
 * folder: where peers come from (`_find_peers.ts`), whom to link to
 * (`_peer_pool.ts`), piece hashes (`_piece_check.ts`), serving while
 * downloading (`_swarming.ts`), the `.part` (`_watched_target.ts`).
 *
 * @module
 */

import { selfAddresses } from "../net/address.ts";
import { BandwidthLimiter } from "../util/bandwidth.ts";
import { MAX_BAD_PIECES } from "../protocol/limits.ts";
import {
  type FileMeta,
  type PeerAddress,
  pieceLength,
  piecesOf,
} from "../protocol/messages.ts";
import { BufferPool } from "../util/buffer_pool.ts";
import { SpeedMeter } from "../util/speed_meter.ts";
import { Meetings } from "./_meet.ts";
import type { PieceStore } from "../storage/piece_store.ts";
import { PieceScheduler } from "../swarm/piece_scheduler.ts";
import {
  diskError,
  DownloadError,
  incompleteError,
} from "./_download_error.ts";
import { tryEachVariant } from "./_find_peers.ts";
import { waitingFor } from "./_patient_lookup.ts";
import { type LinkBudget, linkShare, pieceTimeMs } from "./_link_budget.ts";
import { type PeerBytes, type PeerOrigin, PeerPool } from "./_peer_pool.ts";
import { matches } from "./_piece_check.ts";
import { savedName } from "./_save.ts";
import type { DownloadTarget } from "./_target.ts";
import { openTarget } from "./_watched_target.ts";
import { alreadyHere } from "./_already_here.ts";
import { Swarming } from "./_swarming.ts";
import { PeerWait } from "./_peer_wait.ts";
import { FileSpans, type FileSpansOptions } from "./_file_spans.ts";
import { folderLayoutOf } from "../protocol/folder_layout.ts";

export { DownloadError } from "./_download_error.ts";
export {
  MAX_LINKS,
  MAX_LINKS_PER_PEER,
  MAX_PORTS_PER_HOST,
  type PeerBytes,
  type PeerOrigin,
} from "./_peer_pool.ts";
export { RESUME_YIELD_PIECES } from "./_piece_check.ts";
export type { SwarmHost } from "./_swarming.ts";
export type {
  DownloadOptions,
  DownloadProgress,
  DownloadResult,
  PrivateAccess,
  TrackersDown,
} from "./types.ts";
import type {
  DownloadOptions,
  DownloadResult,
  PrivateAccess,
} from "./types.ts";
import { deriveShareKeys } from "../secure/share_keys.ts";

/** How far back the speed shown in progress looks. */
export const SPEED_WINDOW_MS = 3_000;
/** How often a download asks the tracker for peers that joined since. */
export const SWARM_REFRESH_MS = 2_000;
/** The first time a download asks again; the wait doubles up to SWARM_REFRESH_MS. */
export const SWARM_FIRST_REFRESH_MS = 250;
/**
 * A download none of whose connected peers has a missing piece gives up
 * after this long without receiving one.
 */
export const SWARM_STARVE_MS = 30_000;

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
  const onWaiting = (trackersDown: boolean) =>
    options.onProgress?.(waitingFor(id, trackersDown));
  const { secret } = options;
  const wanted = secret ? { secret, shortId: id || undefined } : { id };
  return await tryEachVariant(wanted, async (found) => {
    const foundMs = performance.now() - started;
    const result = await downloadVariant(found, {
      ...options,
      refresh: found.refresh,
      lookUpFile: found.lookUpFile,
      seenAs: found.seenAs,
      foundOn: found.foundOn,
      access: secret && found.blob ? { secret, blob: found.blob } : undefined,
    }, limiter);
    const { firstPieceAt, ...rest } = result;
    return {
      ...rest,
      elapsedMs: performance.now() - started,
      foundMs,
      ...(firstPieceAt === undefined
        ? {}
        : { firstPieceMs: firstPieceAt - started }),
    };
  }, { ...options, onWaiting });
}

/** Options of one variant's download: the caller's, and how to ask for more peers. */
interface VariantOptions extends DownloadOptions {
  /** Asks the tracker again for the peers of this variant. */
  refresh: () => Promise<{ peers: PeerAddress[] }>;
  /** Asks the tracker for a file of a folder by its own ID. */
  lookUpFile?: FileSpansOptions["lookUpFile"];
  /** This host's address as the tracker sees it (it lists this peer so). */
  seenAs?: string;
  /** A private share's secret and sealed metadata. */
  access?: PrivateAccess;
  /** Where a peer was found, when not from a tracker. */
  foundOn?: (address: string) => PeerOrigin | undefined;
}

async function downloadVariant(
  found: { meta: FileMeta; peers: PeerAddress[] },
  options: VariantOptions,
  limiter: BandwidthLimiter | undefined,
): Promise<
  Omit<DownloadResult, "elapsedMs" | "firstPieceMs"> & { firstPieceAt?: number }
> {
  const { meta } = found;
  const here = await alreadyHere(
    meta,
    options.outDir,
    savedName(meta, options.saveAs),
    options,
  );
  if (here) {
    if (options.seed) await options.swarm?.adopt(here, meta, options.access);
    return { path: here, meta, peers: [], alreadyHere: true };
  }
  const count = piecesOf(meta);
  const target = await openTarget(meta, options);
  try {
    // Disposed (hashing stopped, pieces no longer served) before the part
    // file closes below.
    await using run = new DownloadRun(meta, target, options, limiter);
    if (target.resumed) await run.checkExisting();
    const peers = run.usable(found.peers);
    if (!run.finished && peers.length === 0 && !options.waitMs) {
      throw new DownloadError(
        `Nobody is sharing ${meta.name} (${meta.id.slice(0, 16)}) right now.`,
        { retryable: true },
      );
    }
    const received = count > 0 ? await run.fetchAll(peers) : [];
    const path = await run.finish();
    return {
      path,
      meta,
      peers: received,
      alreadyHere: false,
      firstPieceAt: run.firstPieceAt,
    };
  } finally {
    target.close();
  }
}

/** The state of one download between lookup and rename. */
class DownloadRun {
  #meta: FileMeta;
  #target: DownloadTarget;
  #options: VariantOptions;
  #scheduler: PieceScheduler;
  #store: PieceStore;
  #peers: PeerPool;
  #received = 0;
  #badPieces = 0;
  /** When the first piece was verified (performance.now()). */
  firstPieceAt?: number;
  #meter = new SpeedMeter({ windowMs: SPEED_WINDOW_MS });
  #diskError?: DownloadError;
  #pool: BufferPool;
  #swarming?: Swarming;
  #lastPieceAt = performance.now();
  /** The wait for a peer while none is linked. */
  #wait = new PeerWait();
  #ended = Promise.withResolvers<void>();
  #meetings: Meetings;
  /** A folder's links to peers that share one of its files on its own. */
  #spans?: FileSpans;

  constructor(
    meta: FileMeta,
    target: DownloadTarget,
    options: VariantOptions,
    limiter?: BandwidthLimiter,
  ) {
    this.#meta = meta;
    this.#target = target;
    this.#options = options;
    const count = piecesOf(meta);
    this.#meetings = new Meetings(options.tracker, options.log);
    this.#pool = new BufferPool(meta.pieceSize);
    this.#scheduler = new PieceScheduler(count);
    const readPiece = (index: number, into?: Uint8Array) =>
      target.readPiece(index, into);
    this.#store = target.openStore({
      onStored: (index) => this.#swarming?.stored(index),
      release: (data) => this.#pool.give(data),
      onError: (error) => {
        // Not the peers' fault: stop everything, keep what is written.
        this.#diskError ??= diskError(target.dir, error);
        this.#scheduler.stop();
      },
    }, this.#pool);
    const self = [...options.self ?? []];
    if (options.swarm) {
      const { port } = options.swarm.address;
      self.push(...selfAddresses(options.swarm.address));
      if (options.seenAs) self.push({ host: options.seenAs, port });
      this.#swarming = new Swarming(meta, {
        host: options.swarm,
        readPiece,
        onPeer: (address) => this.#peers.link(address),
        log: options.log,
        private: options.access,
      });
    }
    this.#peers = new PeerPool({
      link: {
        id: meta.id,
        pieces: count,
        pieceSize: meta.pieceSize,
        pieceBytes: count > 0 ? meta.size / count : meta.pieceSize,
        scheduler: this.#scheduler,
        buffer: () => this.#pool.take(),
        recycle: (data) => this.#pool.give(data),
        onPiece: (index, data) => this.#onPiece(index, data),
        limiter,
        servePort: () => this.#swarming?.servePort,
        maxInFlight: () => linkShare(this.#budget()),
        psk: options.access && deriveShareKeys(options.access.secret).psk,
        patienceMs: () => pieceTimeMs(this.#budget()),
        meet: this.#meetings.meet,
        log: options.log,
      },
      self,
      refresh: options.refresh,
      foundOn: options.foundOn,
      onLinkEnded: () => this.#checkEnd(),
      log: options.log,
    });
    const layout = folderLayoutOf(meta);
    if (layout && options.lookUpFile) {
      this.#spans = new FileSpans({
        layout,
        meta,
        scheduler: this.#scheduler,
        pool: this.#peers,
        lookUpFile: options.lookUpFile,
        log: options.log,
      });
    }
  }

  /**
   * Stops hashing and serving: nothing reads the part file after this. The
   * registration as a partial holder is withdrawn unless the finished file
   * took its place.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#peers.stop();
    this.#meetings.close();
    await this.#store.close();
    this.#target.stopHashing();
    await this.#swarming?.withdraw();
  }

  /** True once every piece is verified. */
  get finished(): boolean {
    return this.#scheduler.finished;
  }

  /** Peers worth connecting to: valid, each once, never this process itself. */
  usable(peers: PeerAddress[]): PeerAddress[] {
    return this.#peers.usable(peers);
  }

  /** Keeps the pieces of a resumed `.part` that match their hash. */
  async checkExisting(): Promise<void> {
    const good = await this.#target.checkExisting(this.#pool, {
      signal: this.#options.signal,
      onChecked: (done) => this.#report({ done, total: this.#meta.size }),
    });
    for (const index of good) this.#verified(index);
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
    // Stopped already (while the .part was checked, say): an abort listener
    // added now would never be called.
    signal?.throwIfAborted();
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
      for (const peer of peers) this.#peers.link(peer);
      // After the folder's own sharers, so that they are linked whole.
      this.#spans?.refresh().then(() => this.#checkEnd());
      this.#checkEnd();
      await this.#ended.promise;
    } finally {
      clearTimeout(ticker!);
      this.#wait.close();
      stopListening();
      signal?.removeEventListener("abort", abort);
      this.#peers.stop();
      await this.#peers.settled();
    }
    signal?.throwIfAborted();
    // A write still on its way may be why the download stopped.
    await this.#store.flushed();
    if (this.#diskError) throw this.#diskError;
    if (!this.#scheduler.finished) throw this.#failure();
    return this.#peers.received();
  }

  /** What the links' shares of requests depend on now. */
  #budget(): LinkBudget {
    return {
      pieceSize: this.#meta.pieceSize,
      links: this.#peers.linked,
      active: this.#peers.active,
      missing: this.#scheduler.count - this.#scheduler.completed,
      speed: this.#speed(),
    };
  }

  /** Checks the whole file against its ID and gives it its real name. */
  async finish(): Promise<string> {
    const swarming = this.#swarming;
    return await this.#target.finish({
      store: this.#store,
      partial: swarming?.partial,
      diskError: () => this.#diskError,
      adopt: swarming && this.#options.seed
        ? (path) => swarming.adopt(path)
        : undefined,
      log: this.#options.log,
    });
  }

  /**
   * Ends the download once it is over, or no link is left and the tracker
   * has no new peer (after waiting up to `waitMs` for one).
   */
  #checkEnd(): void {
    if (this.#scheduler.over) return this.#ended.resolve();
    if (this.#peers.linked > 0) return;
    this.#peers.refresh().then(() => {
      if (this.#peers.linked > 0 || this.#scheduler.over) return;
      if (!this.#options.waitMs) return this.#ended.resolve();
      if (!this.#wait.waiting) {
        this.#wait.start(this.#options.waitMs, () => this.#tickWaiting(true));
        // A sharer that left may come back at the same address.
        this.#peers.forgetAttempts();
        this.#options.log?.("No peer left; waiting for one.");
        this.#report();
      }
    });
  }

  /** While waiting for a peer: gives up once `waitMs` is `up`, else asks again. */
  #tickWaiting(up = false): void {
    if (this.#peers.linked > 0) {
      this.#wait.stop();
      this.#lastPieceAt = performance.now();
      return;
    }
    if (up) return this.#ended.resolve();
    this.#report();
    this.#checkEnd();
  }

  #tick(): void {
    if (this.#wait.waiting) return this.#tickWaiting();
    const starving = performance.now() - this.#lastPieceAt > SWARM_STARVE_MS;
    if (starving && !this.#peers.busy) {
      // Connected, but nobody has what is missing.
      this.#scheduler.stop();
      this.#ended.resolve();
      return;
    }
    this.#peers.refresh();
    this.#spans?.refresh();
    this.#report(); // With no piece arriving too: the speed shown falls.
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
    this.firstPieceAt ??= this.#lastPieceAt;
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

  /** Verified bytes a second over the last SPEED_WINDOW_MS. */
  #speed = (): number => this.#meter.speed(this.#received);

  #report(checking?: { done: number; total: number }): void {
    if (!this.#options.onProgress) return;
    this.#options.onProgress({
      name: this.#target.name,
      partPath: this.#target.partPath,
      resumed: this.#target.resumed,
      size: this.#meta.size,
      received: this.#received,
      bytesPerSecond: this.#speed(),
      peers: this.#peers.activePeers,
      routes: this.#peers.routes(),
      found: this.#peers.origins(),
      waiting: this.#wait.waiting && this.#peers.linked === 0,
      checking,
      ...(this.#target.files ? { files: this.#target.files() } : {}),
    });
  }

  #failure(): DownloadError {
    return incompleteError({
      name: this.#meta.name,
      pieces: this.#scheduler.count,
      missing: this.#scheduler.count - this.#scheduler.completed,
      links: this.#peers.links,
      waitedMs: this.#wait.waitedMs,
    });
  }
}
