/**
 * What the prompt does, apart from how it is typed and shown: share, get,
 * list, search, peers, unshare, cancel and status on one {@linkcode PeerNode}.
 * Operations return data and report what happens in the background as
 * {@linkcode SessionEvent}s; nothing here prints, so the web page drives
 * the same session the prompt does.
 *
 * @module
 */

import { basename, resolve } from "node:path";
import { expandHome } from "./data_dir.ts";
import { removeEmptyFolders } from "./out_dir.ts";
import { selfAddresses } from "../net/address.ts";
import type { Address } from "../net/connection.ts";
import { download, type DownloadResult } from "../download/download.ts";
import type { PeerNode, SkippedEntry } from "./peer_node.ts";
import type { PeerReachability } from "./_reach.ts";
import type { DoctorReport } from "./doctor.ts";
import type { FileMeta, FileSummary } from "../protocol/messages.ts";
import { TrackerClient } from "../discovery/tracker_client.ts";
import type { ShareLink } from "../protocol/share_link.ts";
import { notFileOrFolder, UsageError } from "./usage_error.ts";
import { shortId } from "./file_id.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { lookupOf } from "./lookup.ts";
import {
  askEvery,
  mergeFileLists,
  type Trackers,
  trackersOf,
} from "../discovery/tracker_group.ts";
import { idFromRef, KnownFiles, pickOne } from "./_file_refs.ts";
import { type Transfer, Transfers } from "./transfers.ts";
import { untilCancelled } from "./_until_cancelled.ts";
import { DEFAULT_OUT_DIR, DEFAULT_WAIT_MS } from "./session_types.ts";

/** Files remembered from `list` and `search` answers, for completion. */
export const MAX_KNOWN_FILES = 1_000;

export type * from "./session_types.ts";
export { DEFAULT_OUT_DIR, DEFAULT_WAIT_MS } from "./session_types.ts";
import type {
  GetOptions,
  LocalFile,
  PeersAnswer,
  SessionEvent,
  SessionListener,
  SessionOptions,
  SessionStatus,
  ShareOptions,
} from "./session_types.ts";

/** One person's work on a {@linkcode PeerNode}; see the module documentation. */
export class Session {
  /** Folder downloads are saved into unless a get says otherwise. */
  readonly outDir: string;
  #node: PeerNode;
  #options: SessionOptions;
  #transfers = new Transfers();
  #known = new KnownFiles(MAX_KNOWN_FILES);
  /** Where each shared file is, by ID; the node knows only their metadata. */
  #paths = new Map<string, string>();
  #listeners = new Set<SessionListener>();

  /** Creates a session on `node`, which stays open until {@linkcode close}. */
  constructor(node: PeerNode, options: SessionOptions) {
    this.#node = node;
    this.#options = options;
    this.outDir = options.outDir ?? DEFAULT_OUT_DIR;
  }

  /** Calls `listener` with every event from now on; returns a function that stops it. */
  listen(listener: SessionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Where the peer server listens. */
  get address(): Address {
    return this.#node.address;
  }

  /** Whether others can reach this peer, once the tracker told (else undefined). */
  get reachability(): PeerReachability | undefined {
    return this.#node.reachability;
  }

  /** Whether the session's tracker answers a connection now. */
  async trackerReachable(): Promise<boolean> {
    return (await this.trackerProblem()) === undefined;
  }

  /**
   * Why the session's tracker cannot be used now (the connect's failure,
   * whose `cause` is the network's or the handshake's), or undefined when
   * it answers.
   */
  async trackerProblem(): Promise<unknown> {
    try {
      (await TrackerClient.connect(this.#options.tracker)).close();
      return undefined;
    } catch (error) {
      return error;
    }
  }

  /**
   * Connects to every tracker at once: one that cannot be used while
   * another can goes to `onTrackerTrouble`; resolves with the error naming
   * each when none can, else undefined.
   */
  async checkTrackers(): Promise<unknown> {
    try {
      await askEvery(this.#trackers(), () => Promise.resolve(), {
        onTrouble: this.#options.onTrackerTrouble,
      });
      return undefined;
    } catch (error) {
      return error;
    }
  }

  /** Files shared now. */
  shared(): FileMeta[] {
    return this.#node.shared();
  }

  /** Running transfers, oldest first. */
  transfers(): Transfer[] {
    return this.#transfers.list();
  }

  /**
   * A transfer number for work the session does not run (a file arriving
   * on the web page): no transfer has it or will.
   */
  reserveNumber(): number {
    return this.#transfers.reserveNumber();
  }

  /**
   * Files seen this session (tracker answers, shares, gets), least recently
   * seen first, at most {@linkcode MAX_KNOWN_FILES}: names `get` accepts.
   */
  known(): { id: string; name: string }[] {
    return this.#known.list();
  }

  /**
   * Hashes, serves and registers the file at `path` (`~/` means home),
   * privately if asked; resolves with its metadata, or undefined if it was
   * cancelled. Throws a {@linkcode UsageError} at once, before opening it,
   * for what is neither a file nor a folder (a FIFO, a socket, a device):
   * opening a FIFO would wait for a writer, forever. `onSkipped` hears
   * what a folder left out (the event carries only how many).
   */
  async share(
    path: string,
    options: ShareOptions & { onSkipped?: (skipped: SkippedEntry[]) => void } =
      {},
  ): Promise<FileMeta | undefined> {
    const full = resolve(expandHome(path));
    // No await before the transfer starts: the web page counts on it.
    let info: Deno.FileInfo | undefined;
    try {
      info = Deno.statSync(full);
    } catch { /* missing or unreadable: the share says why */ }
    if (info && !info.isFile && !info.isDirectory) throw notFileOrFolder(path);
    const transfer = this.#transfers.start({
      kind: "hash",
      name: basename(path),
    });
    try {
      this.#emit({ type: "hashing", transfer, path });
      const shareOptions = {
        private: options.private ?? false,
        signal: transfer.signal,
        onProgress: (done: number, total: number) =>
          transfer.update({ done, total }),
      };
      const { meta, skipped } = await untilCancelled(
        info?.isDirectory
          ? this.#node.shareFolder([full], shareOptions)
          : this.#node.share(full, shareOptions)
            .then((meta) => ({ meta, skipped: [] })),
        transfer.signal,
        (late) => this.#dropLate(late.meta.id),
      );
      if (skipped.length > 0) options.onSkipped?.(skipped);
      const isPrivate = this.#node.isPrivate(meta.id);
      // Asked for privately, but shared publicly before: said so.
      const alsoPublic = (options.private ?? false) && !isPrivate;
      // A private file is never looked up by its ID: no name to get it by.
      if (!isPrivate) this.#known.remember([meta]);
      this.#sharedFrom(meta.id, full);
      this.#transfers.finish(transfer);
      this.#emit({
        type: "shared",
        transfer,
        meta,
        link: this.#node.shareLink(meta.id, alsoPublic),
        private: isPrivate,
        ...(alsoPublic ? { alsoPublic } : {}),
        skipped,
      });
      return meta;
    } catch (error) {
      if (transfer.cancelled) {
        this.#emit({ type: "share-cancelled", transfer, path });
        return undefined;
      }
      throw error;
    } finally {
      this.#transfers.finish(transfer);
    }
  }

  /** Stops sharing the file `ref` names (ID prefix or name); resolves with it. */
  async unshare(ref: string): Promise<FileMeta> {
    const file = pickOne(this.#node.shared(), ref, "shared file", "status");
    await this.#node.unshare(file.id);
    this.#paths.delete(file.id);
    return file;
  }

  /**
   * The file `id` (a full ID or a prefix of one, see {@linkcode resolveId})
   * if this session shares it: there is nothing to get, it is already here.
   */
  localCopy(id: string): LocalFile | undefined {
    const shared = this.#node.shared();
    // Files the node dropped (changed or gone) may come back from elsewhere.
    for (const known of this.#paths.keys()) {
      if (!shared.some((meta) => meta.id === known)) this.#paths.delete(known);
    }
    const hits = shared.filter((meta) => meta.id.startsWith(id));
    const path = hits.length === 1 ? this.#paths.get(hits[0].id) : undefined;
    return path === undefined ? undefined : { meta: hits[0], path };
  }

  /**
   * Downloads file `wanted`: an ID (see {@linkcode resolveId}) or what a
   * share link names, serving its pieces meanwhile and the file once saved
   * (unless the link names another tracker than the session's: the node
   * registers with its own); resolves with where it was saved, or undefined
   * if it was cancelled. While nobody shares it (yet, or any more) it waits
   * for a sharer, up to `waitMs`, its transfer saying so (`waiting`); then
   * it fails with the download's sentence. Throws a {@linkcode UsageError}
   * for a file this session shares ({@linkcode localCopy}): no other peer
   * is needed for it, and this one cannot download from itself.
   */
  async get(
    wanted: string | ShareLink,
    options: GetOptions = {},
  ): Promise<DownloadResult | undefined> {
    let result: DownloadResult | undefined;
    try {
      return result = await this.#fetch(wanted, options);
    } finally {
      if (!result) await removeEmptyFolders(options.made ?? []);
    }
  }

  /** {@linkcode get} but for the folders it made. */
  async #fetch(
    wanted: string | ShareLink,
    options: GetOptions,
  ): Promise<DownloadResult | undefined> {
    const { id, secret, tracker, moreTrackers, serve } = lookupOf(
      wanted,
      this.#options.tracker,
      this.#options.moreTrackers,
    );
    const here = this.localCopy(id);
    if (here) throw new UsageError(alreadyHere(here));
    const outDir = options.outDir ?? this.outDir;
    const name = this.#known.nameOf(id) ?? shortId(id);
    const waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
    const transfer = this.#transfers.start({ kind: "get", name, id, waitMs });
    /** Bytes received from peers, once the download says (else progress). */
    let received: number | undefined;
    try {
      this.#emit({
        type: "getting",
        transfer,
        elsewhere: serve ? undefined : tracker,
      });
      const result = await download(id, {
        tracker,
        moreTrackers,
        lan: this.#node.lan,
        dht: this.#node.dht,
        secret,
        outDir,
        force: options.force ?? false,
        self: this.#selfAddresses(),
        downloadLimit: this.#options.downloadLimit,
        // Serves pieces while downloading, and the file once saved.
        swarm: serve ? this.#node : undefined,
        seed: serve,
        // Waits for a sharer as `peer get` does; cancel ends it at once.
        waitMs,
        signal: transfer.signal,
        log: this.#options.log,
        onTrackerTrouble: this.#options.onTrackerTrouble,
        onProgress: (progress) => transfer.updateFromDownload(progress),
      });
      received = result.peers.reduce((sum, peer) => sum + peer.bytes, 0);
      if (!secret) this.#known.remember([result.meta]);
      if (serve) this.#sharedFrom(result.meta.id, resolve(result.path));
      this.#transfers.finish(transfer, received);
      this.#emit({ type: "saved", transfer, result });
      return result;
    } catch (error) {
      if (transfer.cancelled) {
        this.#emit({ type: "get-cancelled", transfer, outDir });
        return undefined;
      }
      throw error;
    } finally {
      this.#transfers.finish(transfer, received ?? transfer.fetched);
    }
  }

  /** Every file the trackers know (up to each one's answer cap), each once. */
  list(): Promise<FileSummary[]> {
    return this.#lookup((client) => client.list());
  }

  /** The checks of `peer doctor`, for the port this session serves on. */
  async doctor(): Promise<DoctorReport> {
    // Loaded only when asked: a get never needs it.
    const { runDoctor } = await import("./doctor.ts");
    return await runDoctor({
      tracker: this.#options.tracker,
      moreTrackers: this.#options.moreTrackers,
      port: this.#node.address.port,
      serving: true,
      ...this.#options.doctor,
    });
  }

  /** Files the trackers know whose name contains `text`, ignoring case. */
  search(text: string): Promise<FileSummary[]> {
    return this.#lookup((client) => client.search(text));
  }

  /**
   * The share link of the shared file `ref` names (ID prefix or name), and
   * whether it is private (the link then carries its secret).
   */
  link(ref: string): { meta: FileMeta; link: string; private: boolean } {
    const meta = pickOne(this.#node.shared(), ref, "shared file", "status");
    const link = this.#node.shareLink(meta.id);
    if (link === undefined) {
      throw new UsageError(
        `${
          terminalSafe(meta.name)
        } is no longer shared: type "status" to see what is.`,
      );
    }
    return { meta, link, private: this.#node.isPrivate(meta.id) };
  }

  /** Who shares the file `ref` names (see {@linkcode resolveId}). */
  async peers(ref: string): Promise<PeersAnswer> {
    const id = this.resolveId(ref);
    if (this.#node.isPrivate(id)) {
      // Asking by ID would tell the tracker which file the private one is.
      throw new UsageError(
        `"${ref}" is shared privately: the tracker knows it only by its link, so "peers" cannot ask for it.`,
      );
    }
    const { meta, peers } = await this.#ask((client) => client.query(id));
    this.#known.remember([meta]);
    return { meta, peers, self: this.#selfAddresses() };
  }

  /**
   * Cancels the one running transfer `ref` names (`#N`, ID prefix or name)
   * and returns it; throws a {@linkcode UsageError} for none or several.
   */
  cancel(ref: string): Transfer {
    const found = this.#transfers.find(ref);
    if (found.length !== 1) {
      throw new UsageError(
        found.length === 0
          ? `No running transfer matches "${ref}": type "status" to see them.`
          : `"${ref}" matches ${found.length} transfers: use the number status shows, like #${
            found[0].number
          }.`,
      );
    }
    found[0].cancel();
    return found[0];
  }

  /** Shared files, running transfers and the totals up and down. */
  status(): SessionStatus {
    const downloaders = this.#node.downloaders();
    return {
      address: this.#node.address,
      shared: this.#node.shared().map((meta) => ({
        meta,
        uploaded: this.#node.uploadedFor(meta.id),
        downloaders: downloaders.filter((d) => d.id === meta.id).length,
        private: this.#node.isPrivate(meta.id),
      })),
      transfers: this.#transfers.list(),
      uploaded: this.#node.uploaded,
      downloaded: this.#transfers.downloaded,
    };
  }

  /**
   * A file ID from what the user typed: hex (16+ chars) or a known name;
   * throws a {@linkcode UsageError} otherwise.
   */
  resolveId(ref: string): string {
    return idFromRef(ref, [...this.known(), ...this.#node.shared()]);
  }

  /** Closes the node the session runs on, unregistering everything shared. */
  close(): Promise<void> {
    return this.#node.close();
  }

  #emit(event: SessionEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  /** Asks every tracker at once and merges their lists, each file once. */
  async #lookup(
    question: (client: TrackerClient) => Promise<FileSummary[]>,
  ): Promise<FileSummary[]> {
    const files = mergeFileLists(
      await askEvery(this.#trackers(), question, {
        onTrouble: this.#options.onTrackerTrouble,
      }),
    );
    this.#known.remember(files);
    return files;
  }

  /** Every tracker of the session, the first first. */
  #trackers(): Trackers {
    return trackersOf(this.#options.tracker, this.#options.moreTrackers);
  }

  async #ask<T>(question: (client: TrackerClient) => Promise<T>): Promise<T> {
    const client = await TrackerClient.connect(this.#options.tracker);
    try {
      return await question(client);
    } finally {
      client.close();
    }
  }

  /** The addresses other peers see this one at, so it never downloads from itself. */
  #selfAddresses(): Address[] {
    return selfAddresses(this.#node.address);
  }

  /**
   * Stops sharing `id`, which a cancelled share registered after all (its
   * hashing or registering had not looked at the signal yet), unless this
   * session shares it anyway.
   */
  #dropLate(id: string): void {
    if (this.#paths.has(id)) return;
    this.#node.unshare(id).catch((error) =>
      this.#options.log?.(`Could not unshare ${shortId(id)}: ${error}`)
    );
  }

  /** Notes where `id` is served from, unless it already was from elsewhere. */
  #sharedFrom(id: string, path: string): void {
    // Sharing a file already shared keeps serving the first copy.
    if (!this.#paths.has(id)) this.#paths.set(id, path);
  }
}

/**
 * The answer to a get of a file this session shares, e.g.
 * `movie.mp4 (a1b2c3d4e5f60718) is already here: /home/ann/movie.mp4`.
 */
export function alreadyHere(file: LocalFile): string {
  return `${terminalSafe(file.meta.name)} (${
    shortId(file.meta.id)
  }) is already here: ${terminalSafe(file.path)}`;
}
