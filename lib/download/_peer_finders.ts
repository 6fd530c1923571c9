/**
 * Peers of a file found without a tracker (heard on the local network, or
 * looked up in the DHT), and its metadata from the first of them that gives
 * it (`meta-request`): a get that finds the file with no tracker at all.
 * Both carry only the file's discovery key (from its ID, or for a private
 * link from its lookup key), never the ID.
 *
 * @module
 */

import { type Address, formatAddress } from "../net/connection.ts";
import type { FileMeta, PeerAddress } from "../protocol/messages.ts";
import { discoveryKey } from "../discovery/lan.ts";
import { fetchMeta } from "../swarm/meta_fetch.ts";
import { DownloadError } from "./_download_error.ts";

/** What finds peers by a key: the LAN (`discovery/lan.ts`), the DHT (`discovery/dht.ts`). */
export interface LocalPeers {
  /** Calls `onPeer` for each peer heard offering `key`, until disposed. */
  find(key: string, onPeer: (address: Address) => void): Disposable;
  /**
   * Its counters; a DHT's `nodes` are those it knows now (none: there is
   * nobody to ask).
   */
  readonly stats?: object;
}

/** Where a finder looks. */
export type FinderOrigin = "lan" | "dht";

/** A finder, and where it looks. */
export interface Finder {
  /** Where it looks. */
  origin: FinderOrigin;
  /** The finder. */
  peers: LocalPeers;
}

/** Least time a get looks for peers without a tracker before giving up. */
export const FIND_MS = 3_000;
/** Most peers of one file remembered from the finders. */
export const MAX_FOUND_PEERS = 200;

/** Options for {@linkcode PeerFinders}. */
export interface PeerFindersOptions {
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

/** See the module documentation; {@linkcode close} stops looking. */
export class PeerFinders {
  #peers = new Map<string, PeerAddress>();
  #origins = new Map<string, FinderOrigin>();
  #finders: readonly Finder[];
  #finding: Disposable[];
  #options: PeerFindersOptions;
  #waiting: (() => void)[] = [];
  /** When the search started (performance.now()). */
  #started = performance.now();
  /** The latest time {@linkcode found} looks until; see {@linkcode shorten}. */
  #until = Infinity;

  /** Starts looking for peers offering the file with every finder. */
  constructor(finders: readonly Finder[], options: PeerFindersOptions) {
    this.#options = options;
    this.#finders = finders;
    options.signal?.addEventListener("abort", () => this.#wake(), {
      once: true,
    });
    const key = discoveryKey(options.id);
    this.#finding = finders.map(({ origin, peers }) =>
      peers.find(key, (address) => this.#found(address, origin))
    );
  }

  /** Where the peer at `host:port` was found, if a finder found it. */
  originOf(address: string): FinderOrigin | undefined {
    return this.#origins.get(address);
  }

  /** The peers found so far. */
  peers(): PeerAddress[] {
    return [...this.#peers.values()];
  }

  /**
   * The file's metadata and the peers heard, once one peer gave the
   * metadata; rejects with a {@linkcode DownloadError} when none did within
   * `ms` (at least {@linkcode FIND_MS}).
   */
  async found(ms: number): Promise<{ meta: FileMeta; peers: PeerAddress[] }> {
    const asked = performance.now() + Math.max(ms, FIND_MS);
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
      const left = Math.min(asked, this.#until) - performance.now();
      if (left <= 0) {
        throw new DownloadError(this.#nobody(), { unknownId: true });
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

  /**
   * Makes {@linkcode found} give up {@linkcode FIND_MS} after the search
   * started, however long it was asked to look: what the file was to be
   * found instead of will not come.
   */
  shorten(): void {
    this.#until = Math.min(this.#until, this.#started + FIND_MS);
    this.#wake();
  }

  /** Stops looking. */
  close(): void {
    for (const finding of this.#finding) finding[Symbol.dispose]();
    this.#wake();
  }

  /**
   * Why no finder gave the file, one clause a finder: "Nobody on the local
   * network has the file, and the DHT has no nodes to ask."
   */
  #nobody(): string {
    const clauses = this.#finders.map(({ origin, peers }) => {
      const where = origin === "lan" ? "on the local network" : "in the DHT";
      const nodes = (peers.stats as { nodes?: unknown } | undefined)?.nodes;
      if (origin === "dht" && nodes === 0) {
        return "the DHT has no nodes to ask";
      }
      const heard = [...this.#origins.values()].filter((o) => o === origin);
      return heard.length === 0
        ? `nobody ${where} has the file`
        : `the ${
          heard.length === 1 ? "peer" : "peers"
        } found ${where} did not give it`;
    });
    const text = clauses.join(", and ");
    return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
  }

  #found(address: Address, origin: FinderOrigin): void {
    const key = formatAddress(address);
    if (this.#peers.has(key) || this.#peers.size >= MAX_FOUND_PEERS) return;
    this.#peers.set(key, { host: address.host, port: address.port });
    this.#origins.set(key, origin);
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiting.splice(0)) wake();
  }
}
