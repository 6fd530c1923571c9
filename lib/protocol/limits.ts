/**
 * Constants both sides of the wire need: default ports, sizes, timeouts and
 * every limit applied to what arrives from the network. docs/PROTOCOL.md
 * lists the same values; change them together.
 *
 * @module
 */

/**
 * Protocol version carried in the peer handshake: 2 added swarming
 * (bitfields, `have`, `cancel`, `choke`/`unchoke`).
 */
export const PROTOCOL_VERSION = 2;

/** Default TCP port of the tracker. */
export const DEFAULT_TRACKER_PORT = 5000;
/** Default TCP port of the relay a tracker offers beside it. */
export const DEFAULT_RELAY_PORT = DEFAULT_TRACKER_PORT + 1;
/** Default TCP port a sharing peer listens on. */
export const DEFAULT_PEER_PORT = 6000;
/** Default tracker address when neither `--tracker` nor the environment names one. */
export const DEFAULT_TRACKER = `127.0.0.1:${DEFAULT_TRACKER_PORT}`;
/** Environment variable that names the tracker instead of `--tracker`. */
export const TRACKER_ENV = "P2P_TRACKER";
/**
 * Environment variable holding a team tracker's secret itself (the
 * alternative to `--secret-file`).
 */
export const TEAM_SECRET_ENV = "P2P_TEAM_SECRET";
/** Environment variable a share link may be passed in, kept out of the process list. */
export const LINK_ENV = "P2P_LINK";
/**
 * Environment variable that turns LAN discovery off when set to anything
 * but empty (as `--no-lan` does); the test runner sets it, so no test
 * multicasts on a real network unless it made the network itself.
 */
export const NO_LAN_ENV = "P2P_NO_LAN";
/**
 * Environment variable that turns the DHT off when set to anything but
 * empty (as `--no-dht` does); the test runner sets it, so no test reaches
 * the public DHT.
 */
export const NO_DHT_ENV = "P2P_NO_DHT";
/** Name of the file in the peer's data folder the DHT's routing table is kept in. */
export const DHT_NODES_FILE = "dht-nodes.json";

/** Default piece size: 256 KiB. */
export const DEFAULT_PIECE_SIZE = 256 * 1024;
/** Smallest piece size a user may choose or a tracker accepts: 16 KiB. */
export const MIN_PIECE_SIZE = 16 * 1024;
/** Largest piece size a user may choose or a tracker accepts: 16 MiB. */
export const MAX_PIECE_SIZE = 16 * 1024 * 1024;
/** Most pieces one file may have (with 256 KiB pieces: 256 GiB). */
export const MAX_PIECES = 1024 * 1024;
/** Bytes in one SHA-256 digest. */
export const HASH_BYTES = 32;

/** Largest JSON part of a frame: 64 KiB. */
export const MAX_JSON_BYTES = 64 * 1024;
/**
 * Bytes sealing adds to a private file's metadata: a version byte, a
 * 12-byte nonce and a 16-byte tag (`secure/share_keys.ts`'s
 * `SEALED_OVERHEAD_BYTES`, which a test keeps equal to this).
 */
export const SEALED_BLOB_OVERHEAD_BYTES = 1 + 12 + 16;
/**
 * Shortest sealed-metadata blob: the sealing overhead around at least the
 * 4-byte JSON length prefix of `protocol/sealed_meta.ts`.
 */
export const MIN_SEALED_BLOB_BYTES = SEALED_BLOB_OVERHEAD_BYTES + 4;
/**
 * Largest folder manifest a `register`, a `file` answer or a private
 * file's sealed metadata carries after the piece hashes: 64 MiB (about
 * half a million files with names of about 80 bytes). A folder's whole
 * metadata (this and a full hash list, 96 MiB) then fits the hash bytes a
 * tracker lets one host register (128 MiB); a larger manifest
 * (MAX_MANIFEST_BYTES allows 128 MiB) cannot be shared through a tracker.
 */
export const MAX_WIRE_MANIFEST_BYTES = 64 * 1024 * 1024;
/**
 * Largest sealed-metadata blob a tracker stores for a private file: the
 * sealed form of the 4-byte length prefix, a JSON part of at most
 * MAX_JSON_BYTES (the most `decodeSealedMeta` reads; the real one is under
 * 2 KiB), the hashes of MAX_PIECES pieces and a folder's manifest of at
 * most MAX_WIRE_MANIFEST_BYTES.
 */
export const MAX_SEALED_BLOB_BYTES = 4 + MAX_JSON_BYTES +
  MAX_PIECES * HASH_BYTES + MAX_WIRE_MANIFEST_BYTES +
  SEALED_BLOB_OVERHEAD_BYTES;
/**
 * Largest binary part of a frame: the largest of a piece, a folder's hash
 * list and manifest, and a sealed-metadata blob (the blob: 96 MiB + 64 KiB
 * + 33 bytes).
 */
export const MAX_BINARY_BYTES = Math.max(
  MAX_PIECE_SIZE,
  MAX_PIECES * HASH_BYTES + MAX_WIRE_MANIFEST_BYTES,
  MAX_SEALED_BLOB_BYTES,
);
/** Longest file name (UTF-8 bytes) a tracker accepts. */
export const MAX_NAME_BYTES = 255;
/** Longest search text a tracker accepts. */
export const MAX_SEARCH_CHARS = 256;
/** Longest user agent a peer names in its `hello` (e.g. `p2p/0.10.0`). */
export const MAX_AGENT_CHARS = 64;
/**
 * Hex characters of a `welcome`'s `node` tag (64 bits): enough that two
 * sharers of one file never share a tag by chance.
 */
export const NODE_TAG_CHARS = 16;
/** Shortest ID prefix accepted by `get` and the tracker (hex chars). */
export const MIN_ID_PREFIX = 16;
/** Hex chars in a full file ID. */
export const FULL_ID_CHARS = 64;

/** Most peers the tracker puts in one answer. */
export const MAX_PEERS_PER_ANSWER = 200;
/** Most peer entries a downloader reads from one answer before capping. */
export const MAX_PEER_ENTRIES_READ = 20_000;
/** Largest JSON part a tracker client accepts (answers may list many peers). */
export const MAX_TRACKER_ANSWER_JSON_BYTES = 1024 * 1024;
/** Most files the tracker puts in one list or search answer. */
export const MAX_FILES_PER_ANSWER = 500;
/**
 * Most metadata variants the tracker keeps apart for one ID, so that someone
 * registering a real ID with wrong piece hashes cannot lock honest sharers
 * out; downloaders try the next variant when one fails.
 */
export const MAX_VARIANTS_PER_FILE = 4;
/** Most IDs one announce may renew (500 IDs fit well inside MAX_JSON_BYTES). */
export const MAX_IDS_PER_ANNOUNCE = 500;

/**
 * A registration not renewed within this many ms is forgotten: three
 * renewals, so one that comes late does not expire it.
 */
export const REGISTRATION_TTL_MS = 180_000;
/**
 * How often a sharing peer renews its registrations. The open connection
 * already tells the tracker the peer is there (its close drops them at
 * once), so a renewal only keeps that connection from idling out
 * (IDLE_TIMEOUT_MS) and lets a tracker that lost a registration ask for it
 * again. Every 20 s, renewals were most of a community tracker's work: at
 * 13,000 peers 14-15% of a core, against 7% every 60 s (chihaya's default
 * is 5 min, BitTorrent trackers' often 30).
 */
export const ANNOUNCE_INTERVAL_MS = 60_000;

/** A connection with no frame started for this long is closed. */
export const IDLE_TIMEOUT_MS = 120_000;
/** A frame, once its first byte arrived, must be complete within this. */
export const FRAME_DEADLINE_MS = 30_000;
/** Time allowed to open a TCP connection to a tracker or peer. */
export const CONNECT_TIMEOUT_MS = 5_000;
/**
 * Time the encryption handshake may take once the TCP connection is open
 * (both sides; a side that stalls in it is closed).
 */
export const SECURE_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Time a tracker has to answer one request. */
export const TRACKER_REPLY_TIMEOUT_MS = 10_000;
/** A peer with requests outstanding that sends nothing for this long is dropped. */
export const PEER_STALL_TIMEOUT_MS = 5_000;

/**
 * Requests a downloader keeps in flight on one peer connection at the
 * least: all it needs on a link with no delay, and where a new link starts.
 */
export const REQUESTS_IN_FLIGHT = 8;
/**
 * Most requests a downloader keeps in flight on one connection, however
 * long and fast the link (12 MiB of 256 KiB pieces: 200 ms at 60 MB/s);
 * under what a server accepts (MAX_OUTSTANDING_REQUESTS).
 */
export const MAX_REQUESTS_IN_FLIGHT = 48;
/**
 * Piece bytes one download keeps requested from all its peers together:
 * the links share it when many are open.
 */
export const MAX_DOWNLOAD_REQUEST_BYTES = 64 * 1024 * 1024;
/** Requests a server accepts outstanding on one connection before closing it. */
export const MAX_OUTSTANDING_REQUESTS = 64;
/**
 * Most pieces one `requests` or `pieces` message names (issue #23: a
 * folder's small files asked for and sent many to a frame). Their JSON
 * stays under a peer server's 1 KiB (`MAX_PEER_REQUEST_BYTES`), and a
 * `pieces` carries at most one piece size of bytes in all.
 */
export const MAX_BATCH_PIECES = 64;
/** Connections a server accepts at once, in total. */
export const MAX_CONNECTIONS = 512;
/** Connections a server accepts at once from one remote address. */
export const MAX_CONNECTIONS_PER_ADDRESS = 64;
/**
 * Connections a tracker holds at once: every sharer (and every getter while
 * it serves) keeps one open. Bounded in practice by the open-file limit:
 * Deno raises the soft limit to the hard one as it starts, so the hard limit
 * (`ulimit -Hn`, systemd's `LimitNOFILE=`) counts, and a tracker that runs
 * out says so (`tracker/_out_of_files.ts`). An idle one costs about 30 KB.
 */
export const TRACKER_MAX_CONNECTIONS = 150_000;
/**
 * Connections a tracker holds at once from one IPv4 address or one IPv6
 * /64: room for an office or a carrier-grade NAT (a thousand peers behind
 * one address), at most about 1.4% of the tracker.
 */
export const TRACKER_MAX_CONNECTIONS_PER_ADDRESS = 2_048;
/**
 * Connections from one address (or /64) still in their encryption
 * handshake at once; more are closed at once, unanswered.
 */
export const MAX_PENDING_HANDSHAKES_PER_ADDRESS = 32;
/** Connections still in their encryption handshake at once, in all. */
export const MAX_PENDING_HANDSHAKES = 1_024;
/** Bad pieces tolerated from all peers before a download gives up. */
export const MAX_BAD_PIECES = 64;

/**
 * Ms the tracker gives its connection back to a peer (`reach`), connect and
 * handshake each: a peer behind a router that drops it is told it is not
 * reachable after this long.
 */
export const REACH_PROBE_TIMEOUT_MS = 3_000;
/**
 * `reach` and `connect` requests a second one address may make to the
 * tracker on average: each makes the tracker connect out or wake another
 * peer, so they are counted apart from reads and far fewer.
 */
export const BROKER_REQUESTS_PER_SECOND = 2;
/** The same, at once (a getter joining many unreachable peers at its start). */
export const BROKER_BURST = 32;
/**
 * Ms the tracker holds an asker's `connecting` answer for the other peer's
 * hole-punch port (one round trip to it, with room): past it, the asker is
 * answered without one and meets the peer at the relay.
 */
export const PUNCH_OFFER_WAIT_MS = 2_000;
/** Bytes of a relay token: random, one per joined pair. */
export const RELAY_TOKEN_BYTES = 16;

/** Most entries (files and folders) one folder manifest may list. */
export const MAX_MANIFEST_ENTRIES = 1_000_000;
/** Most components one path of a folder manifest may have below its top folder. */
export const MAX_PATH_DEPTH = 64;
/**
 * Longest path of a folder manifest, in UTF-8 bytes, counting the top
 * folder's name and a `/` between components (Linux's `PATH_MAX`).
 */
export const MAX_PATH_BYTES = 4096;
/**
 * Largest encoded folder manifest: 128 MiB (a million files with names of
 * about 80 bytes each).
 */
export const MAX_MANIFEST_BYTES = 128 * 1024 * 1024;
