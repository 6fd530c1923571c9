/**
 * The shapes of protocol messages, as types only: what `messages.ts`
 * encodes and decodes (and re-exports, so callers import them from there).
 * docs/PROTOCOL.md describes each message.
 *
 * @module
 */

/** What the tracker knows of one file, and what a sharer registers. */
export interface FileMeta {
  /** Full SHA-256 of the file, 64 lowercase hex chars. */
  id: string;
  /** The file's name as shared (not a path). */
  name: string;
  /** Size in bytes. */
  size: number;
  /** Bytes per piece; the last piece may be shorter. */
  pieceSize: number;
  /** The SHA-256 of every piece, concatenated (32 bytes each). */
  pieceHashes: Uint8Array;
  /**
   * A folder's manifest (`manifest.ts`), whose SHA-256 is `id`: the file
   * is then that folder, its pieces each file's pieces in manifest order
   * (`folder_layout.ts`), `size` the bytes of all its files. Absent for a
   * single file.
   */
  manifest?: Uint8Array;
}

/**
 * A private file as the tracker knows it: the lookup key derived from the
 * share's secret, and its metadata sealed under a key the tracker lacks.
 */
export interface SealedFile {
  /** The file's name at the tracker: 64 lowercase hex chars. */
  lookup: string;
  /** The sealed metadata (`secure/share_keys.ts`'s `sealMetadata`), opaque to the tracker. */
  blob: Uint8Array;
}

/** A peer's listening address as the tracker hands it out. */
export interface PeerAddress {
  /** IP address the tracker saw the peer connect from. */
  host: string;
  /** Port the peer listens on. */
  port: number;
  /**
   * False when the tracker could not connect to that address (the peer sits
   * behind a NAT router or a firewall): reach it through the tracker
   * (`connect`). Absent when it could, or has not checked.
   */
  reachable?: false;
  /**
   * True when the peer reached the tracker through a port its router
   * forwards at its request (UPnP, NAT-PMP, PCP). Absent otherwise.
   */
  mapped?: true;
}

/** One line of a list or search answer. */
export interface FileSummary {
  /** Full file ID. */
  id: string;
  /** File (or folder) name. */
  name: string;
  /** Size in bytes (of all its files, for a folder). */
  size: number;
  /** Peers that hold it, whole or in part (registrations of its best variant). */
  peers: number;
  /**
   * Of `peers`, how many hold only part of it (they are downloading it).
   * Absent from trackers that cannot tell: read it as 0.
   */
  partial?: number;
  /**
   * For a folder (or several files shared as one), how many files its
   * manifest lists, folders not counted; `size` is their bytes together.
   * Absent for a single file.
   */
  files?: number;
}

/**
 * The files of a list or search answer, with `more`: how many matching
 * files the tracker (or, merged, any one of the trackers) left out, for the
 * answer to fit one frame or stay within MAX_FILES_PER_ANSWER. Absent (read
 * it as 0) when none were left out or the tracker is too old to say.
 */
export type FileList = FileSummary[] & { more?: number };

/** Tracker counters reported by `stats`. */
export interface TrackerStats {
  /** Distinct files registered. */
  files: number;
  /** Distinct peer addresses with at least one registration. */
  peers: number;
  /** (file, peer) registrations. */
  registrations: number;
  /** Requests answered since start. */
  requests: number;
  /** Milliseconds since the tracker started. */
  uptimeMs: number;
  /**
   * Distinct private (sealed) files registered; not counted in `files`.
   * Absent from trackers that hold none.
   */
  privateFiles?: number;
  // The load, for an operator watching it fill up; absent from older trackers.
  /** Connections open and past their handshake (peers connected now). */
  connections?: number;
  /** Connections still in their encryption handshake. */
  pendingHandshakes?: number;
  /** `announce`, `register` and `register-sealed` requests answered since start. */
  announces?: number;
  /** `query`, `query-sealed`, `list` and `search` requests answered since start. */
  queries?: number;
  /** Announces a second, over the last 10 s. */
  announcesPerSecond?: number;
  /** Queries a second, over the last 10 s. */
  queriesPerSecond?: number;
  /**
   * Requests and connections refused since start, by reason (`rate-limit`,
   * `quota`, `bad-request`, `full`, …); reasons never seen may be absent.
   */
  refused?: Record<string, number>;
  /**
   * Requests since start that came over their address's rate and waited
   * for their token before being answered (not refused).
   */
  rateWaits?: number;
  /**
   * Accepts that failed for want of file descriptors since start: the
   * tracker was at its open-file limit (one every 100 ms while it lasts).
   */
  outOfFiles?: number;
  /** Frame bytes received from clients since start. */
  bytesReceived?: number;
}

/** Error codes carried by `error` messages. */
export type ErrorCode =
  | "bad-request"
  | "not-found"
  | "ambiguous"
  | "conflict"
  | "not-shared"
  | "busy";

/** Every message of the protocol. */
export type Message =
  | {
    type: "error";
    code: ErrorCode;
    message: string;
    index?: number;
    /**
     * With `ambiguous`: files the ID prefix matches, at most
     * MAX_AMBIGUOUS_CANDIDATES; absent from older trackers.
     */
    candidates?: FileSummary[];
    /** With `candidates`: how many more matched (absent: none). */
    more?: number;
  }
  | { type: "ok" }
  | {
    type: "register";
    meta: FileMeta;
    port: number;
    partial?: boolean;
    /**
     * Found by its ID but not shown in `list` or `search` (a file of a
     * shared folder, registered on its own too).
     */
    unlisted?: boolean;
  }
  | { type: "announce"; ids: string[]; port: number }
  | { type: "announced"; unknown: string[] }
  | { type: "unregister"; id: string; port: number }
  | {
    type: "register-sealed";
    /** The private file's lookup key: 64 lowercase hex chars. */
    lookup: string;
    /** The sealed metadata, stored unread (the frame's binary part). */
    blob: Uint8Array;
    port: number;
    partial?: boolean;
  }
  | {
    type: "query-sealed";
    lookup: string;
    /** Only the peers (answered with `peers`, its `id` the lookup key). */
    peersOnly?: boolean;
  }
  | {
    type: "sealed";
    lookup: string;
    blob: Uint8Array;
    peers: PeerAddress[];
    /** Of `peers`, how many hold only part of the file. */
    partial?: number;
    /** The asker's address as the tracker sees it (its router's, behind a NAT). */
    observed?: string;
  }
  | {
    type: "query";
    id: string;
    variant?: number;
    /**
     * Only the peers, not the metadata again (a download asking for more
     * peers already has it): answered with `peers`.
     */
    peersOnly?: boolean;
  }
  | {
    /** The answer to a `query` with `peersOnly`. */
    type: "peers";
    /** The file's full ID. */
    id: string;
    peers: PeerAddress[];
    variant?: number;
    variants?: number;
    /** The asker's address as the tracker sees it. */
    observed?: string;
  }
  | {
    type: "file";
    meta: FileMeta;
    peers: PeerAddress[];
    variant?: number;
    variants?: number;
    /** The asker's address as the tracker sees it (its router's, behind a NAT). */
    observed?: string;
  }
  | { type: "list" }
  | { type: "search"; text: string }
  | {
    type: "files";
    files: FileSummary[];
    /**
     * How many more files matched than `files` holds (left out to fit one
     * frame or MAX_FILES_PER_ANSWER). Optional: absent when none were, and
     * from older trackers.
     */
    more?: number;
  }
  | { type: "stats" }
  | {
    /** Asks the tracker to try connecting to this host's `port`. */
    type: "reach";
    port: number;
    /** The port is one the router forwards at this peer's request. */
    mapped?: boolean;
  }
  | {
    /** The answer to `reach`: the address the tracker sees, and whether it got through. */
    type: "reached";
    host: string;
    port: number;
    reachable: boolean;
    /** The port of the tracker's relay, on its host; absent when it offers none. */
    relay?: number;
  }
  | {
    /** Asks the tracker to join this peer to the registered peer at `host`:`port`. */
    type: "connect";
    host: string;
    port: number;
    /** The local port this peer will punch from (offering a hole punch). */
    punch?: number;
    /** This connection's local port: the tracker tells from it whether a NAT keeps ports. */
    local?: number;
  }
  | {
    /** The answer to `connect`: meet the peer at the tracker's relay port with `token`. */
    type: "connecting";
    token: string;
    relay: number;
    /** The peer punches from this port too: connect to it from yours first. */
    punch?: number;
  }
  | {
    /**
     * Sent by the tracker, unasked, to a registered peer: the peer at
     * `host` asked to connect; meet it at the relay port with `token`.
     */
    type: "incoming";
    token: string;
    host: string;
    relay: number;
    /** The asker punches from this port: say yours (`punch`) and connect to it. */
    punch?: number;
  }
  | {
    /**
     * The answer to an `incoming` that offered a hole punch: the port this
     * peer punches from, or none (it will only meet at the relay).
     */
    type: "punch";
    token: string;
    port?: number;
  }
  | { type: "stats-reply"; stats: TrackerStats }
  | {
    type: "hello";
    version: number;
    id: string;
    port?: number;
    /** The sender's program and version, e.g. `p2p/0.10.0`. */
    agent?: string;
    /**
     * The sender takes `pieces` answers of up to this many pieces (and may
     * send `requests`); absent from older peers.
     */
    batch?: number;
  }
  | {
    type: "welcome";
    id: string;
    pieces: number;
    have?: Uint8Array;
    /**
     * The sharer's tag for this file, the same at every address it is
     * reached at (NODE_TAG_CHARS lowercase hex); absent from older peers.
     */
    node?: string;
    /**
     * Most pieces the sender takes in one `requests` and sends in one
     * `pieces`; present only when the `hello` offered batches.
     */
    batch?: number;
  }
  /**
   * Instead of `hello`: asks a peer for a file's metadata, by its full ID
   * or (over a connection keyed for it) a private share's lookup key, when
   * no tracker gave it (the peer was found on the LAN or in the DHT).
   */
  | { type: "meta-request"; id: string }
  /** The answer to `meta-request`: the file's metadata, as `file` carries it. */
  | { type: "meta"; meta: FileMeta }
  | { type: "request"; index: number }
  | { type: "piece"; index: number; data: Uint8Array }
  /** Several `request`s in one message (to a peer that offered `batch`). */
  | { type: "requests"; indices: number[] }
  /**
   * Several pieces in one message, to a downloader that offered `batch`:
   * piece `indices[i]` is the next `lengths[i]` bytes of `data`.
   */
  | { type: "pieces"; indices: number[]; lengths: number[]; data: Uint8Array }
  | { type: "have"; index: number }
  | { type: "cancel"; index: number }
  | { type: "choke" }
  | { type: "unchoke" };

/** The type names of {@linkcode Message}. */
export type MessageType = Message["type"];
