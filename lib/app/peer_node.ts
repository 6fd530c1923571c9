/**
 * Everything one process shares: one peer server and one announcer for all
 * its files. `share` hashes a file, starts serving it and registers it with
 * the tracker; a file that changes or disappears while shared is dropped.
 *
 * @module
 */

import { isLoopbackHost } from "../net/address.ts";
import { basename } from "node:path";
import {
  AnnouncerGroup,
  type TrackerStandings,
} from "../discovery/announcer_group.ts";
import type { LanDiscovery } from "../discovery/lan.ts";
import type { DhtDiscovery } from "../discovery/dht.ts";
import { Registrations, startFinders } from "./_registrations.ts";
import { linkOf } from "./_link_of.ts";
import { type Trackers, trackersOf } from "../discovery/tracker_group.ts";
import type { Address } from "../net/connection.ts";
import { hashFile } from "../storage/file_hash.ts";
import { ChangedFiles } from "./_changed_files.ts";
import { DEFAULT_PEER_PORT } from "../protocol/limits.ts";
import type { FileMeta } from "../protocol/messages.ts";
import {
  DEFAULT_PEER_HOST,
  type Downloader,
  type PeerServer,
  startPeerServer,
} from "../swarm/peer_server.ts";
import type { PartialFile } from "../storage/partial_file.ts";
import { SharedFile } from "../storage/shared_file.ts";
import type { PrivateAccess } from "../download/download.ts";
import { PrivateShares } from "./_private_shares.ts";
import {
  checkUnchanged,
  refuseUnshareable,
  shareError,
} from "./_share_error.ts";
import {
  type FolderShareOptions,
  FolderShares,
  type SharedFolder,
} from "./_folder_shares.ts";
import { FolderSource } from "../storage/folder_source.ts";
import { type PeerReachability, Reach } from "./_reach.ts";

export type {
  FolderShareOptions,
  SharedFolder,
  SkippedEntry,
} from "./_folder_shares.ts";

export { refuseUnfinished, ShareError } from "./_share_error.ts";
export type { PeerReachability } from "./_reach.ts";
export type { Downloader } from "../swarm/peer_server.ts";

/**
 * How often shared files are checked for changes even when nobody is
 * downloading them, so a changed file stops being announced.
 */
export const FILE_CHECK_INTERVAL_MS = 10_000;

export type {
  OfferOptions,
  PeerNodeOptions,
  ShareOptions,
} from "./peer_node_types.ts";
import type {
  OfferOptions,
  PeerNodeOptions,
  ShareOptions,
} from "./peer_node_types.ts";

/** A running sharing peer: serves and announces every file it shares. */
export class PeerNode {
  /** Where the peer server listens. */
  readonly address: Address;
  #server: PeerServer;
  #announcer: AnnouncerGroup;
  #registrations: Registrations;
  #lan?: LanDiscovery;
  #dht?: DhtDiscovery;
  #reach: Reach;
  #files = new Map<string, SharedFile | PartialFile | FolderSource>();
  #folders: FolderShares;
  /** Files registered publicly (by ID). */
  #public = new Set<string>();
  /** Files registered privately, by ID. */
  #private = new PrivateShares();
  #trackers: Trackers;
  #peerListeners = new Map<string, (address: Address) => void>();
  #changed: ChangedFiles;
  #log: (line: string) => void;
  #onDropped: (meta: FileMeta, reason: string) => void;
  #checkMs: number;
  #checker?: ReturnType<typeof setInterval>;
  #closed = false;

  private constructor(options: PeerNodeOptions) {
    this.#log = options.log ?? (() => {});
    this.#onDropped = options.onDropped ?? (() => {});
    this.#checkMs = options.checkIntervalMs ?? FILE_CHECK_INTERVAL_MS;
    this.#changed = new ChangedFiles({
      files: this.#files,
      closed: () => this.#closed,
      unshare: (id) => this.unshare(id),
      foldersOf: (id) => this.#folders.foldersOf(id),
      onDropped: this.#onDropped,
      log: this.#log,
    });
    this.#trackers = trackersOf(options.tracker, options.moreTrackers);
    this.#server = startPeerServer({
      host: options.host ?? DEFAULT_PEER_HOST,
      port: options.port ?? DEFAULT_PEER_PORT,
      lookup: (id) => this.#files.get(id),
      keys: () => this.#private.keys(),
      keyFor: (id) =>
        this.#public.has(id)
          ? undefined
          : this.#private.get(id)?.keys.lookupKey,
      metaFor: (id, key) => this.#metaFor(id, key),
      onFileBroken: (id, reason) => this.#changed.drop(id, reason),
      onPeer: (id, address) => this.#peerListeners.get(id)?.(address),
      log: options.log,
      uploadLimit: options.uploadLimit,
      uploadSlots: options.uploadSlots,
    });
    this.address = this.#server.address;
    this.#reach = new Reach({
      server: this.#server,
      portMapping: options.portMapping,
      onReachability: options.onReachability,
      log: options.log,
    });
    this.#folders = new FolderShares({
      get: (id) => this.#files.get(id),
      serve: (source) => this.#files.set(source.meta.id, source),
      forget: (source) => {
        if (this.#files.get(source.meta.id) === source) {
          this.#files.delete(source.meta.id);
        }
        source.close();
      },
      register: (meta, isPrivate, unlisted) =>
        this.#register(meta, isPrivate, false, unlisted),
      unshare: (id) => this.unshare(id),
      log: this.#log,
    });
    this.#announcer = new AnnouncerGroup(this.#trackers, {
      port: this.address.port,
      log: options.log,
      onTrouble: options.onTrackerTrouble,
      onIncoming: (incoming) => this.#reach.incoming(incoming, this.#announcer),
    });
    // Served on a loopback address only, nothing is offered on the LAN:
    // its neighbours would hear this machine's LAN address, where nothing
    // listens. (The DHT's nodes see the address its own socket sends from.)
    const onLan = !isLoopbackHost(this.address.host);
    this.#registrations = new Registrations(
      this.#announcer,
      () =>
        [onLan ? this.#lan : undefined, this.#dht].filter((place) =>
          place !== undefined
        ),
    );
  }

  /**
   * Starts the peer server. The tracker is first contacted by
   * {@linkcode share}.
   *
   * @example
   * ```ts
   * const node = await PeerNode.start({ tracker, port: 0 });
   * const meta = await node.share("report.pdf");
   * // ... later
   * await node.close();
   * ```
   */
  static async start(options: PeerNodeOptions): Promise<PeerNode> {
    // A port in use or an address not on this machine throws a
    // ListenError (lib/net/listener.ts) that names the address.
    const node = new PeerNode(options);
    const found = await startFinders(options, node.address.port);
    node.#lan = found.lan;
    node.#dht = found.dht;
    return node;
  }

  /** LAN discovery, when on and the network allows multicast. */
  get lan(): LanDiscovery | undefined {
    return this.#lan;
  }
  /** The DHT, when on and its port could be bound. */
  get dht(): DhtDiscovery | undefined {
    return this.#dht;
  }

  /** Piece bytes sent to downloaders since start. */
  get uploaded(): number {
    return this.#server.uploaded;
  }

  /** Piece bytes of the file `id` sent to downloaders since start. */
  uploadedFor(id: string): number {
    return this.#server.uploadedFor(id);
  }

  /** The downloaders being served right now, oldest first. */
  downloaders(): Downloader[] {
    return this.#server.downloaders();
  }

  /**
   * Hashes `path`, serves it and registers it with the tracker; resolves to
   * its metadata. Sharing a file already shared resolves to the existing
   * metadata. Rejects with a {@linkcode ShareError} if the file cannot be
   * read or changes while hashed, a `UsageError` if it is an unfinished
   * download (`NAME.part` with its record), or with the tracker's error if
   * it cannot be reached or refuses it (nothing is left shared).
   */
  async share(path: string, options: ShareOptions = {}): Promise<FileMeta> {
    this.#checkOpen();
    const info = await Deno.stat(path).catch(() => undefined);
    if (info?.isDirectory) {
      return (await this.shareFolder([path], options)).meta;
    }
    const name = basename(path);
    await refuseUnshareable(path, name);
    let before: Deno.FileInfo;
    let hash: Awaited<ReturnType<typeof hashFile>>;
    // Connected while the file is hashed, registering is one round trip.
    this.#announcer.connectEarly();
    try {
      before = await Deno.stat(path);
      hash = await hashFile(path, options);
    } catch (error) {
      throw shareError(path, error, options.signal);
    }
    this.#checkOpen();
    const meta: FileMeta = { ...hash, name };
    const existing = this.#files.get(meta.id);
    if (existing) {
      // Shared already: registered the other way too, if asked so.
      if (existing instanceof SharedFile) {
        await this.#register(existing.meta, options.private ?? false, false);
      }
      return existing.meta;
    }
    const file = await SharedFile.open(path, meta);
    try {
      await checkUnchanged(path, before);
      // A second share of the same file may have finished meanwhile.
      const other = this.#files.get(meta.id);
      if (other) {
        file.close();
        if (other instanceof SharedFile) {
          await this.#register(other.meta, options.private ?? false, false);
        }
        return other.meta;
      }
      this.#files.set(meta.id, file);
      await this.#register(meta, options.private ?? false, false);
    } catch (error) {
      if (this.#files.get(meta.id) === file) {
        this.#files.delete(meta.id);
        this.#public.delete(meta.id);
        this.#private.delete(meta.id);
      }
      file.close();
      throw error;
    }
    this.#checker ??= setInterval(() => this.#changed.check(), this.#checkMs);
    this.#log(`Sharing ${meta.name} as ${meta.id}`);
    return meta;
  }

  /**
   * Shares a folder tree (`paths` = [the folder]), or several files as one
   * folder named `options.as`, as one ID: hashes every file, serves and
   * registers the folder, and registers its largest files on their own
   * too. Rejects with a {@linkcode ShareError} saying what to do if it
   * cannot be shared; what was left out is in the result's `skipped`.
   */
  async shareFolder(
    paths: string[],
    options: FolderShareOptions = {},
  ): Promise<SharedFolder> {
    this.#checkOpen();
    this.#announcer.connectEarly();
    const shared = await this.#folders.share(paths, options);
    this.#log(`Sharing ${shared.meta.name} as ${shared.meta.id}`);
    return shared;
  }

  /**
   * Serves the verified pieces of a download in progress and registers this
   * peer as a holder of the file, so other downloaders fetch from it too
   * (swarming). A tracker that cannot be reached is only logged: peers that
   * connect to this one still learn its port. Resolves to false (and does
   * nothing) if the file is already shared or offered.
   */
  async offer(
    source: PartialFile,
    options: OfferOptions = {},
  ): Promise<boolean> {
    this.#checkOpen();
    const id = source.meta.id;
    if (this.#files.has(id)) return false;
    this.#files.set(id, source);
    if (options.onPeer) this.#peerListeners.set(id, options.onPeer);
    if (options.private) this.#private.keep(id, options.private);
    try {
      await this.#register(source.meta, options.private !== undefined, true);
    } catch (error) {
      this.#log(
        `Could not register ${source.meta.name} as a partial holder: ${
          (error as Error).message ?? error
        }`,
      );
    }
    return true;
  }

  /** Stops offering `source` (if it still is) and unregisters it. */
  async withdraw(source: PartialFile): Promise<void> {
    source.close();
    if (this.#files.get(source.meta.id) === source) {
      await this.unshare(source.meta.id);
    }
  }

  /**
   * Serves the finished file at `path` in place of the download's partial
   * pieces, under the registration {@linkcode offer} made; `meta` must be
   * its verified metadata. Registers it if it was not offered; does nothing
   * if the file is shared already.
   */
  async adopt(
    path: string,
    meta: FileMeta,
    access?: PrivateAccess,
  ): Promise<void> {
    this.#checkOpen();
    if (meta.manifest) {
      if (access) this.#private.keep(meta.id, access);
      return await this.#folders.adopt(path, meta, access !== undefined);
    }
    if (this.#files.get(meta.id) instanceof SharedFile) return;
    if (access) this.#private.keep(meta.id, access);
    const isPrivate = access !== undefined;
    const file = await SharedFile.open(path, meta);
    const before = this.#files.get(meta.id);
    this.#files.set(meta.id, file);
    this.#peerListeners.delete(meta.id);
    if (before !== file) before?.close();
    if (before) {
      // Offered as a partial holder: now a whole copy.
      await this.#register(meta, isPrivate, false).catch((error) =>
        this.#log(
          `Could not register ${meta.name} as a whole copy: ${
            (error as Error).message ?? error
          }`,
        )
      );
    } else {
      try {
        await this.#register(meta, isPrivate, false);
      } catch (error) {
        this.#files.delete(meta.id);
        file.close();
        throw error;
      }
    }
    this.#checker ??= setInterval(() => this.#changed.check(), this.#checkMs);
  }

  /** Stops serving `id` and unregisters it; does nothing if not shared. */
  async unshare(id: string): Promise<void> {
    await Promise.all(
      this.#folders.release(id).map((member) => this.unshare(member)),
    );
    const file = this.#files.get(id);
    this.#peerListeners.delete(id);
    // A registration still under way when its file went is removed too.
    this.#files.delete(id);
    file?.close();
    const wasPublic = this.#public.delete(id);
    const secret = this.#private.delete(id);
    await Promise.all([
      wasPublic ? this.#registrations.remove(id) : undefined,
      secret ? this.#registrations.remove(secret.keys.lookupKey) : undefined,
    ]);
  }

  /**
   * The share link for a file this node shares: its trackers and ID, or for
   * a private file its trackers and secret (whoever has it can download the
   * file). Undefined when the file is not shared. A file shared both ways
   * gets its public link unless `preferPrivate`.
   */
  shareLink(id: string, preferPrivate = false): string | undefined {
    if (!this.#files.has(id)) return undefined;
    const secret = this.#private.get(id)?.secret;
    const asPublic = this.#public.has(id) && !(preferPrivate && secret);
    return linkOf(this.#trackers, id, asPublic ? undefined : secret);
  }

  /** True when `id` is shared only privately (not listed, served only with its key). */
  isPrivate(id: string): boolean {
    return this.#private.get(id) !== undefined && !this.#public.has(id);
  }

  /**
   * Registers `meta` with the tracker: publicly, or privately under its
   * lookup key with sealed metadata (a new secret if it has none yet).
   */
  async #register(
    meta: FileMeta,
    isPrivate: boolean,
    partial: boolean,
    unlisted = false,
  ): Promise<void> {
    if (!isPrivate) {
      await this.#registrations.add(meta, { partial, unlisted });
      this.#public.add(meta.id);
    } else {
      const share = this.#private.getOrCreate(meta);
      await this.#registrations.add(
        { lookup: share.keys.lookupKey, blob: share.blob },
        { partial },
      );
    }
    this.#reach.check(this.#announcer);
  }

  /** Which trackers have this node's registrations now, and news of them. */
  get trackers(): TrackerStandings {
    return this.#announcer;
  }

  /** What the tracker said of reaching this peer, once it has. */
  get reachability(): PeerReachability | undefined {
    return this.#reach.known;
  }

  /**
   * Metadata of every whole file and folder shared now (not downloads in
   * progress, nor the files of a folder registered on their own).
   */
  shared(): FileMeta[] {
    return [...this.#files.values()]
      .filter((file) =>
        (file instanceof SharedFile || file instanceof FolderSource) &&
        !this.#folders.isMember(file.meta.id)
      )
      .map((file) => file.meta);
  }

  /** Unregisters everything (bounded time), stops the server, closes files. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#checker);
    await this.#changed.settled();
    await Promise.all([this.#lan?.close(), this.#dht?.close()]);
    await this.#announcer.close();
    await this.#reach.close();
    await this.#server.close();
    for (const file of this.#files.values()) file.close();
    this.#files.clear();
  }

  /** Same as {@linkcode close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * What a `meta-request` for `id` over a connection that proved `key` gets:
   * a private share by its lookup key with that key, a public file by its ID.
   */
  #metaFor(id: string, key: string | undefined): FileMeta | undefined {
    const fileId = key !== undefined && key === id
      ? this.#private.idOf(id)
      : this.#public.has(id)
      ? id
      : undefined;
    return fileId === undefined ? undefined : this.#files.get(fileId)?.meta;
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error("The peer node is closed.");
  }
}
