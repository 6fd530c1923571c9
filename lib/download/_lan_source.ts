/**
 * Peers of a file heard on the local network, and its metadata from the
 * first of them that gives it (`meta-request`): a get that finds the file
 * with no tracker at all. The multicast carries only the file's discovery
 * key (from its ID, or for a private link from its lookup key), never the
 * ID.
 *
 * @module
 */

import { type Address, formatAddress } from "../net/connection.ts";
import type { FileMeta, PeerAddress } from "../protocol/messages.ts";
import { discoveryKey } from "../discovery/lan.ts";
import { fetchMeta } from "../swarm/meta_fetch.ts";
import { DownloadError } from "./_download_error.ts";

/** What finds peers on the local network (`discovery/lan.ts`). */
export interface LocalPeers {
  /** Calls `onPeer` for each peer heard offering `key`, until disposed. */
  find(key: string, onPeer: (address: Address) => void): Disposable;
}

/** Least time a get listens on the LAN before giving up on it. */
export const LAN_FIND_MS = 3_000;
/** Most peers of one file remembered from the LAN. */
export const MAX_LAN_PEERS = 200;

/** Options for {@linkcode LanSource}. */
export interface LanSourceOptions {
  /** A public file's full ID, or a private share's lookup key. */
  id: string;
  /** A private share's handshake key. */
  psk?: Uint8Array;
  /** A private link's short ID, the metadata's ID must start with. */
  idPrefix?: string;
  /** Cancels the search. */
  signal?: AbortSignal;
  /** Receives one line per peer that gave no metadata. */
  log?: (line: string) => void;
}

/** See the module documentation; {@linkcode close} stops listening. */
export class LanSource {
  #peers = new Map<string, PeerAddress>();
  #finding: Disposable;
  #options: LanSourceOptions;
  #waiting: (() => void)[] = [];

  /** Starts listening for peers offering the file on the LAN. */
  constructor(lan: LocalPeers, options: LanSourceOptions) {
    this.#options = options;
    options.signal?.addEventListener("abort", () => this.#wake(), {
      once: true,
    });
    this.#finding = lan.find(discoveryKey(options.id), (address) => {
      const key = formatAddress(address);
      if (this.#peers.has(key) || this.#peers.size >= MAX_LAN_PEERS) return;
      this.#peers.set(key, { host: address.host, port: address.port });
      this.#wake();
    });
  }

  /** The peers heard so far. */
  peers(): PeerAddress[] {
    return [...this.#peers.values()];
  }

  /**
   * The file's metadata and the peers heard, once one peer gave the
   * metadata; rejects with a {@linkcode DownloadError} when none did within
   * `ms` (at least {@linkcode LAN_FIND_MS}).
   */
  async found(ms: number): Promise<{ meta: FileMeta; peers: PeerAddress[] }> {
    const deadline = performance.now() + Math.max(ms, LAN_FIND_MS);
    const tried = new Set<string>();
    for (;;) {
      this.#options.signal?.throwIfAborted();
      const next = this.peers().find((p) => !tried.has(formatAddress(p)));
      if (next) {
        tried.add(formatAddress(next));
        try {
          const meta = await fetchMeta(next, this.#options.id, {
            psk: this.#options.psk,
            idPrefix: this.#options.idPrefix,
            signal: this.#options.signal,
          });
          return { meta, peers: this.peers() };
        } catch (error) {
          this.#options.signal?.throwIfAborted();
          this.#options.log?.(
            error instanceof Error ? error.message : String(error),
          );
          continue;
        }
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new DownloadError("No peer on this network shares it.", {
          unknownId: true,
        });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiting.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Stops listening. */
  close(): void {
    this.#finding[Symbol.dispose]();
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiting.splice(0)) wake();
  }
}
