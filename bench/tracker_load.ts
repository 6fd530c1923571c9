/**
 * The tracker under load, as a separate `tracker.ts` process: queries per
 * second answered to N concurrent clients (one request in flight each), and
 * the memory of a tracker filled with many files × peers over the wire.
 *
 * To hold 10 peers per file the fill connects from many loopback source
 * addresses (127.0.0.2, 127.0.0.3, …, bound with `node:net`'s
 * `localAddress`), because the tracker records the address it sees and
 * allows at most {@linkcode MAX_REGISTRATIONS_PER_HOST} registrations per
 * address. Registrations are pipelined in batches on each connection.
 *
 * Both run the tracker with the plaintext bench switch
 * (`P2P_BENCH_PLAINTEXT=1`) and speak plain frames to it: the load clients
 * share the tracker's two cores, and encrypting 50,000 queries a second on
 * their side would measure them, not the tracker (what a handshake and a
 * record cost the tracker is in `bench --crowd`, which runs encrypted).
 *
 * @module
 */

import { concatBytes } from "../lib/util/concat_bytes.ts";
import net from "node:net";
import { Buffer } from "node:buffer";
import { encodeFrame } from "../lib/protocol/frame.ts";
import {
  type FileMeta,
  type Message,
  toFrame,
} from "../lib/protocol/messages.ts";
import { BENCH_PLAINTEXT_ENV } from "../lib/net/secure_transport.ts";
import { MAX_REGISTRATIONS_PER_HOST } from "../lib/tracker/service.ts";
import {
  ANNOUNCE_INTERVAL_MS,
  MAX_IDS_PER_ANNOUNCE,
} from "../lib/protocol/limits.ts";
import { startTrackerProcess } from "./transfer.ts";
import { withTimeout } from "./_process.ts";

/** Registrations sent on one connection before waiting for their replies. */
export const FILL_BATCH = 250;
/** Port every filler registration announces (the address differs). */
const FILL_PEER_PORT = 6881;
/** Size and piece size of the fake files: one piece each. */
const FILL_FILE_SIZE = 1_000_000;
const FILL_PIECE_SIZE = 1024 * 1024;
/** Bytes of one SHA-256. */
const HASH_BYTES = 32;
/** First loopback host byte used by the fill (127.0.0.2 up). */
const FIRST_HOST = 2;
/** Most loopback source addresses the fill may use (127.0.0.2..127.0.0.254). */
const MAX_HOSTS = 253;
/** Longest one batch of replies may take. */
const BATCH_TIMEOUT_MS = 30_000;
/** Pause before reading RSS so the tracker's heap settles. */
const SETTLE_MS = 1_000;
/** Extra ms the load clients get to finish their last request. */
const LOAD_DRAIN_MS = 5_000;

/** Queries-per-second result. */
export interface QpsResult {
  /** Concurrent client connections, each from its own loopback address. */
  clients: number;
  /** Ms the load ran. */
  ms: number;
  /** Answers received, of any type. */
  answers: number;
  /** Answers per second, of any type. */
  perSecond: number;
  /** `file` answers (the query was served) per second. */
  servedPerSecond: number;
  /** Answers that were refusals (rate limit) or other errors. */
  refused: number;
  /** Share of one core the tracker used during the run (1 = 100%). */
  trackerCpu: number;
  /** Peak RSS of the tracker process, bytes. */
  trackerPeakRssBytes: number;
  /** Which tracker answered: `tracker.ts`, or the server with limits lifted. */
  tracker: string;
}

/** Options for {@linkcode trackerQps}. */
export interface TrackerQpsOptions {
  /** Run bench/tracker_unlimited.ts (rate limit lifted) instead of tracker.ts. @default {false} */
  unlimited?: boolean;
}

/**
 * Starts a tracker, registers one file, then runs `clients` connections,
 * each from its own loopback address (127.0.0.2 up, as separate machines
 * would), that each send `query` for it, one at a time, for `durationMs`.
 */
export async function trackerQps(
  clients: number,
  durationMs: number,
  options: TrackerQpsOptions = {},
): Promise<QpsResult> {
  if (clients > MAX_HOSTS) {
    throw new RangeError(`At most ${MAX_HOSTS} clients, one per address`);
  }
  const tracker = await startPlaintextTracker(
    options.unlimited
      ? new URL("./tracker_unlimited.ts", import.meta.url).pathname
      : undefined,
  );
  const sockets: FrameSocket[] = [];
  try {
    const meta = fakeMeta(0);
    // Kept open while queried: the tracker drops a registration when the
    // connection that made it closes, as a real sharer's does.
    const sharer = new FrameSocket(tracker.port, "127.0.0.1");
    sockets.push(sharer);
    await sharer.connected;
    sharer.write(new FrameCache().get(0, 1));
    const [registered] = await sharer.replies(1, BATCH_TIMEOUT_MS);
    if (registered.type !== "ok") {
      throw new Error(
        `The tracker refused the bench's file: ${registered.type}`,
      );
    }
    for (let i = 0; i < clients; i++) {
      sockets.push(new FrameSocket(tracker.port, `127.0.0.${FIRST_HOST + i}`));
    }
    await Promise.all(sockets.map((socket) => socket.connected));
    const request = frameBytes({ type: "query", id: meta.id });
    const cpuBefore = tracker.child.cpuSeconds();
    const started = performance.now();
    const deadline = started + durationMs;
    const counts = await withTimeout(
      Promise.all(
        sockets.map((socket) => queryLoop(socket, request, deadline)),
      ),
      durationMs + LOAD_DRAIN_MS,
    );
    const ms = performance.now() - started;
    const cpu = (tracker.child.cpuSeconds() - cpuBefore) / (ms / 1000);
    if (!counts) throw new Error("Tracker load clients did not finish");
    const answers = counts.reduce((sum, c) => sum + c.answers, 0);
    const served = counts.reduce((sum, c) => sum + c.served, 0);
    return {
      clients,
      ms,
      answers,
      perSecond: answers / (ms / 1000),
      servedPerSecond: served / (ms / 1000),
      refused: answers - served,
      trackerCpu: cpu,
      trackerPeakRssBytes: tracker.child.peakRssBytes,
      tracker: options.unlimited
        ? "tracker server, rate limit lifted (bench/tracker_unlimited.ts)"
        : "tracker.ts",
    };
  } finally {
    for (const socket of sockets) socket.close();
    await tracker.child.stop();
  }
}

async function queryLoop(
  socket: FrameSocket,
  request: Uint8Array,
  deadline: number,
): Promise<{ answers: number; served: number }> {
  let answers = 0;
  let served = 0;
  while (performance.now() < deadline) {
    socket.write(request);
    const [reply] = await socket.replies(1, BATCH_TIMEOUT_MS);
    answers++;
    if (reply.type === "file") served++;
  }
  return { answers, served };
}

/** Tracker memory result. */
export interface MemoryResult {
  /** Files registered. */
  files: number;
  /** Peers registered per file (distinct source addresses). */
  peersPerFile: number;
  /** Registrations the tracker reported holding after the fill. */
  registrationsHeld: number;
  /** Registrations refused. */
  refused: number;
  /** Loopback source addresses used. */
  hosts: number;
  /** Ms the fill took. */
  fillMs: number;
  /** Registrations per second during the fill. */
  fillPerSecond: number;
  /** RSS of the empty tracker, bytes. */
  emptyRssBytes: number;
  /** RSS after the fill, bytes. */
  rssBytes: number;
  /** Peak RSS (VmHWM) after the fill, bytes. */
  peakRssBytes: number;
  /** How the tracker was filled, for the report. */
  method: string;
}

/**
 * Starts a tracker and fills it with `files` one-piece files, each
 * registered by `peersPerFile` different loopback addresses, then reads its
 * RSS.
 */
export async function trackerMemory(
  files: number,
  peersPerFile: number,
): Promise<MemoryResult> {
  const registrations = files * peersPerFile;
  const hosts = Math.ceil(registrations / MAX_REGISTRATIONS_PER_HOST);
  if (hosts > MAX_HOSTS) {
    throw new RangeError(
      `Filling ${registrations} registrations needs ${hosts} source addresses; at most ${MAX_HOSTS} are used`,
    );
  }
  const tracker = await startPlaintextTracker();
  // The fill connections stay open until measured, as sharers' do: the
  // tracker drops registrations whose connection closed.
  const sockets: FrameSocket[] = [];
  try {
    await delay(SETTLE_MS);
    const emptyRssBytes = tracker.child.currentRssBytes();
    const started = performance.now();
    const frames = new FrameCache();
    const results = await Promise.all(
      Array.from(
        { length: hosts },
        (_, host) =>
          fillFromHost(
            tracker.port,
            host,
            hosts,
            peersPerFile,
            registrations,
            frames,
            sockets,
          ),
      ),
    );
    const fillMs = performance.now() - started;
    const refused = results.reduce((sum, n) => sum + n, 0);
    await delay(SETTLE_MS);
    const asker = new FrameSocket(tracker.port, "127.0.0.1");
    sockets.push(asker);
    await asker.connected;
    asker.write(frameBytes({ type: "stats" }));
    const [stats] = await asker.replies(1, BATCH_TIMEOUT_MS);
    // A `stats-reply` carries its counters in its header.
    const held = Number(stats.registrations ?? NaN);
    const rssBytes = tracker.child.currentRssBytes();
    return {
      files,
      peersPerFile,
      registrationsHeld: held,
      refused,
      hosts,
      fillMs,
      fillPerSecond: registrations / (fillMs / 1000),
      emptyRssBytes,
      rssBytes,
      peakRssBytes: tracker.child.peakRssBytes,
      method:
        `over TCP from ${hosts} loopback addresses (127.0.0.${FIRST_HOST}-127.0.0.${
          FIRST_HOST + hosts - 1
        }), ${FILL_BATCH} pipelined registers per batch, re-announcing every ${
          ANNOUNCE_INTERVAL_MS / 1000
        } s; one-piece files`,
    };
  } finally {
    for (const socket of sockets) socket.close();
    await tracker.child.stop();
  }
}

/**
 * Registration r (0 ≤ r < total) is file ⌊r / peersPerFile⌋ from host
 * r mod hosts, so every file gets peersPerFile different addresses when
 * hosts is a multiple of peersPerFile. Like a real sharer, each host
 * re-announces what it registered every {@linkcode ANNOUNCE_INTERVAL_MS},
 * so a fill longer than the registration TTL keeps everything alive.
 * Returns how many requests were refused; the socket joins `open`, for
 * the caller to close once it has measured.
 */
async function fillFromHost(
  port: number,
  host: number,
  hosts: number,
  peersPerFile: number,
  total: number,
  frames: FrameCache,
  open: FrameSocket[],
): Promise<number> {
  const socket = new FrameSocket(port, `127.0.0.${FIRST_HOST + host}`);
  open.push(socket);
  await socket.connected;
  const ids: string[] = [];
  let refused = 0;
  let lastAnnounce = performance.now();
  for (let r = host; r < total;) {
    const batch: Uint8Array[] = [];
    for (; r < total && batch.length < FILL_BATCH; r += hosts) {
      const file = Math.floor(r / peersPerFile);
      batch.push(frames.get(file, peersPerFile));
      ids.push(fakeId(file));
    }
    socket.write(concatBytes(batch));
    refused += countNot(
      await socket.replies(batch.length, BATCH_TIMEOUT_MS),
      "ok",
    );
    if (performance.now() - lastAnnounce >= ANNOUNCE_INTERVAL_MS) {
      refused += await announceAll(socket, ids);
      lastAnnounce = performance.now();
    }
  }
  return refused;
}

/** Renews every ID in `ids`; returns how many announces were refused. */
async function announceAll(
  socket: FrameSocket,
  ids: string[],
): Promise<number> {
  const batch: Uint8Array[] = [];
  for (let i = 0; i < ids.length; i += MAX_IDS_PER_ANNOUNCE) {
    const chunk = ids.slice(i, i + MAX_IDS_PER_ANNOUNCE);
    batch.push(
      frameBytes({ type: "announce", ids: chunk, port: FILL_PEER_PORT }),
    );
  }
  socket.write(concatBytes(batch));
  return countNot(
    await socket.replies(batch.length, BATCH_TIMEOUT_MS),
    "announced",
  );
}

function countNot(replies: Reply[], expected: string): number {
  return replies.filter((reply) => reply.type !== expected).length;
}

/** A tracker process speaking plain frames (see the module's header). */
function startPlaintextTracker(entry?: string) {
  return startTrackerProcess(entry, {
    env: { [BENCH_PLAINTEXT_ENV]: "1" },
    denoFlags: [`--allow-env=${BENCH_PLAINTEXT_ENV}`],
  });
}

/**
 * Register frames built once per file and handed to each of its peers:
 * building them is most of the filler's own CPU, which shares the machine
 * with the tracker.
 */
class FrameCache {
  #frames = new Map<number, { bytes: Uint8Array; uses: number }>();

  get(file: number, uses: number): Uint8Array {
    let entry = this.#frames.get(file);
    if (!entry) {
      const meta = fakeMeta(file);
      const bytes = frameBytes({
        type: "register",
        meta,
        port: FILL_PEER_PORT,
      });
      entry = { bytes, uses: 0 };
      this.#frames.set(file, entry);
    }
    if (++entry.uses >= uses) this.#frames.delete(file);
    return entry.bytes;
  }
}

function fakeId(n: number): string {
  return `${n.toString(16).padStart(8, "0")}${"5eed".repeat(14)}`;
}

/** Deterministic metadata for fake file `n`: same every time it is registered. */
function fakeMeta(n: number): FileMeta {
  const pieceHashes = new Uint8Array(HASH_BYTES);
  new DataView(pieceHashes.buffer).setUint32(0, n);
  pieceHashes.fill(0xab, 4);
  return {
    id: fakeId(n),
    name: `bench-file-${n}.bin`,
    size: FILL_FILE_SIZE,
    pieceSize: FILL_PIECE_SIZE,
    pieceHashes,
  };
}

function frameBytes(message: Message): Uint8Array {
  const { header, binary } = toFrame(message);
  return encodeFrame(header, binary);
}

/** Frame length prefix bytes. */
const PREFIX_BYTES = 4;

/** A reply's JSON header (binary parts are skipped). */
type Reply = Record<string, unknown> & { type: string };

/**
 * A `node:net` socket bound to a chosen local address, reading reply frames
 * and keeping their headers (binary parts are skipped).
 */
class FrameSocket {
  readonly connected: Promise<void>;
  #socket: net.Socket;
  #pending: Buffer = Buffer.alloc(0);
  #replies: Reply[] = [];
  #wake?: () => void;
  #error?: Error;

  constructor(port: number, localAddress: string) {
    this.#socket = net.connect({ host: "127.0.0.1", port, localAddress });
    this.#socket.setNoDelay(true);
    this.connected = new Promise((resolve, reject) => {
      this.#socket.once("connect", () => resolve());
      this.#socket.once("error", reject);
    });
    this.#socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on("error", (error: Error) => {
      this.#error = error;
      this.#wake?.();
    });
    this.#socket.on("close", () => {
      this.#error ??= new Error("Tracker closed the connection");
      this.#wake?.();
    });
  }

  write(bytes: Uint8Array): void {
    this.#socket.write(bytes);
  }

  /** Waits for `count` replies; returns their headers. */
  async replies(count: number, timeoutMs: number): Promise<Reply[]> {
    const deadline = performance.now() + timeoutMs;
    while (this.#replies.length < count) {
      if (this.#error) throw this.#error;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error("Tracker did not answer in time");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.#replies.splice(0, count);
  }

  close(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    let buffer: Buffer = this.#pending.length
      ? Buffer.concat([this.#pending, chunk])
      : chunk;
    while (buffer.length >= PREFIX_BYTES) {
      const length = buffer.readUInt32BE(0);
      if (buffer.length < PREFIX_BYTES + length) break;
      const json = buffer.toString("utf8", PREFIX_BYTES, PREFIX_BYTES + length);
      const header = JSON.parse(json);
      const frameEnd = PREFIX_BYTES + length + (Number(header.binary) || 0);
      if (buffer.length < frameEnd) break;
      this.#replies.push({ ...header, type: String(header.type) });
      buffer = buffer.subarray(frameEnd);
    }
    this.#pending = buffer;
    this.#wake?.();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
