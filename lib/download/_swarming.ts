/**
 * Swarming: a download serves the pieces it has verified so far to other
 * downloaders of the same file, through the peer process it runs in
 * ({@linkcode SwarmHost}), registering as a partial holder once it has a
 * piece; it withdraws when it ends, unless the finished file takes the
 * partial one's place (`get --seed`).
 *
 * @module
 */

import type { Address } from "../net/connection.ts";
import type { FileMeta } from "../protocol/messages.ts";
import { PartialFile } from "../storage/partial_file.ts";

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
    options: {
      onPeer?: (address: Address) => void;
      private?: PrivateAccess;
    },
  ): Promise<boolean>;
  /** Stops serving a download's pieces and unregisters them. */
  withdraw(source: PartialFile): Promise<void>;
  /** Serves the finished, verified file at `path` (privately, with `access`). */
  adopt(path: string, meta: FileMeta, access?: PrivateAccess): Promise<void>;
}

/**
 * A private share being downloaded: its link's secret, and the sealed
 * metadata the tracker holds for it (a download that serves what it has
 * registers the same blob).
 */
export interface PrivateAccess {
  /** The share link's secret. */
  secret: Uint8Array;
  /** The sealed metadata, as found at the tracker. */
  blob: Uint8Array;
}

/** Options for {@linkcode Swarming}. */
export interface SwarmingOptions {
  /** The peer process that serves the pieces. */
  host: SwarmHost;
  /** Reads verified piece `index` back from the part file. */
  readPiece: (index: number, into?: Uint8Array) => Uint8Array;
  /** Called with a downloader that connected to fetch and serves the file too. */
  onPeer: (address: Address) => void;
  /** Receives one line when serving or unregistering fails. */
  log?: (line: string) => void;
  /** A private share: served only to downloaders with its key. */
  private?: PrivateAccess;
}

/** Serves one download's verified pieces while it runs. */
export class Swarming {
  #meta: FileMeta;
  #options: SwarmingOptions;
  #partial?: PartialFile;
  #offering?: Promise<boolean>;

  /** Serves nothing until the first piece is {@linkcode stored}. */
  constructor(meta: FileMeta, options: SwarmingOptions) {
    this.#meta = meta;
    this.#options = options;
    this.#partial = new PartialFile(meta, options.readPiece);
  }

  /** What is served from the part file; undefined once the finished file took its place. */
  get partial(): PartialFile | undefined {
    return this.#partial;
  }

  /**
   * The port to tell peers in `hello`, once this download serves pieces;
   * before that a peer that connected back would only be refused.
   */
  get servePort(): number | undefined {
    return this.#offering ? this.#options.host.address.port : undefined;
  }

  /** A verified piece is on disk: it can be served from now on. */
  stored(index: number): void {
    this.#partial?.add(index);
    this.#offer();
  }

  /** Serves the finished file at `path` in place of the partial one. */
  async adopt(path: string): Promise<void> {
    await this.#options.host.adopt(path, this.#meta, this.#options.private);
    this.#partial = undefined;
  }

  /**
   * Stops serving the partial file and unregisters it, unless the finished
   * file took its place; never throws.
   */
  async withdraw(): Promise<void> {
    const partial = this.#partial;
    if (!partial) return;
    partial.close();
    if (!await this.#offering) return;
    try {
      await this.#options.host.withdraw(partial);
    } catch (error) {
      this.#options.log?.(
        `Could not unregister ${this.#meta.name}: ${
          (error as Error).message ?? error
        }`,
      );
    }
  }

  /** Registers as a partial holder once there is a piece to serve. */
  #offer(): void {
    if (!this.#partial || this.#offering) return;
    this.#offering = this.#options.host.offer(this.#partial, {
      onPeer: this.#options.onPeer,
      private: this.#options.private,
    }).catch((error) => {
      this.#options.log?.(
        `Cannot serve ${this.#meta.name} while downloading: ${
          (error as Error).message ?? error
        }`,
      );
      return false;
    });
  }
}
