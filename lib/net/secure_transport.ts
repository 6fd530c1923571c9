/**
 * Every connection is encrypted: this is where a TCP socket gets its secret
 * stream (`secure/secret_stream.ts`) before it becomes a `Connection`, on
 * the side that connects and the side that accepts, within a deadline. An
 * old peer that speaks the plain protocol is answered in that protocol,
 * with one sentence telling it to upgrade.
 *
 * @module
 */

import {
  acceptSecretStream,
  type ByteStream,
  openSecretStream,
  PlainPeerError,
} from "../secure/secret_stream.ts";
import { encodeFrameHead } from "../protocol/frame.ts";
import { closeQuietly } from "../util/close_quietly.ts";
import { writeAllAsync } from "../util/write_all.ts";
import { SECURE_HANDSHAKE_TIMEOUT_MS } from "../protocol/limits.ts";
import { VERSION } from "../protocol/version.ts";

/**
 * Set `P2P_BENCH_PLAINTEXT=1` in every process of a benchmark run to
 * measure what encryption costs. Both sides must agree; it is not a user
 * setting (the README never offers it), and nothing else reads it.
 */
export const BENCH_PLAINTEXT_ENV = "P2P_BENCH_PLAINTEXT";

/** True when this process runs a plaintext benchmark (see above). */
export const PLAINTEXT_FOR_BENCH: boolean = readBenchSwitch();

/** A finished handshake: the stream to read and write through. */
export interface SecureTransport {
  /** Reads and writes plaintext; seals and opens records underneath. */
  stream: ByteStream;
  /** The name of the key the connecting side proved it holds (NNpsk0). */
  key?: string;
  /**
   * The socket's reads under the records, counted as they come: a record
   * (up to a whole piece) may take many seconds to arrive on a slow link,
   * and its bytes are progress long before it can be opened. Absent on a
   * `compact` connection, which reads the socket itself.
   */
  raw?: CountedReads;
}

/** A socket whose reads are counted as they arrive. */
export class CountedReads implements ByteStream {
  #conn: ByteStream;
  /** Bytes read so far. */
  received = 0;
  /** Called with the count of each read that brought bytes. */
  onBytes?: (count: number) => void;

  /** Counts the reads of `conn` from now on. */
  constructor(conn: ByteStream) {
    this.#conn = conn;
  }

  async read(into: Uint8Array): Promise<number | null> {
    const got = await this.#conn.read(into);
    if (got !== null && got > 0) {
      this.received += got;
      this.onBytes?.(got);
    }
    return got;
  }

  write(data: Uint8Array): Promise<number> {
    return this.#conn.write(data);
  }

  close(): void {
    this.#conn.close();
  }
}

/** A pre-shared key an accepting side knows, by name. */
export interface NamedKey {
  /** The 32-byte key. */
  psk: Uint8Array;
  /** What it unlocks (a private share's lookup key, `team`). */
  name: string;
}

/**
 * The other side took the connection but did not finish the encryption
 * handshake in time (it may not be a p2p peer at all). A `TimedOut`, so
 * code that treats every time-out alike still does.
 */
export class HandshakeTimeoutError extends Deno.errors.TimedOut {
  /** The handshake's time limit in ms. */
  readonly limitMs: number;

  /** Creates the error for a handshake that took over `limitMs`. */
  constructor(limitMs: number) {
    super(`The encryption handshake took over ${limitMs / 1000} s`);
    this.name = "HandshakeTimeoutError";
    this.limitMs = limitMs;
  }
}

/** Options for {@linkcode secureOpen}. */
export interface SecureOpenOptions {
  /** A pre-shared key (a private share's, a team's). @default {none: NN} */
  psk?: Uint8Array;
  /** Ms the handshake may take. @default {SECURE_HANDSHAKE_TIMEOUT_MS} */
  timeoutMs?: number;
  /** Hold as little memory as possible while idle. @default {false} */
  compact?: boolean;
}

/**
 * Runs the connecting side's handshake on `conn`; undefined in a plaintext
 * benchmark. Throws `HandshakeRefusedError`, `PlainPeerError`,
 * `Deno.errors.TimedOut`, or the error of a broken exchange (the caller
 * closes `conn`).
 */
export function secureOpen(
  conn: Deno.Conn,
  options: SecureOpenOptions = {},
): Promise<SecureTransport | undefined> {
  if (PLAINTEXT_FOR_BENCH) return Promise.resolve(undefined);
  const raw = options.compact ? undefined : new CountedReads(conn);
  return withDeadline(
    conn,
    options.timeoutMs,
    async () => ({ stream: await openSecretStream(raw ?? conn, options), raw }),
  );
}

/** Options for {@linkcode secureAccept}. */
export interface SecureAcceptOptions {
  /** Keys a connecting side may prove it holds. @default {none} */
  keys?: () => Iterable<NamedKey>;
  /** Only a connecting side with one of `keys` gets in. */
  requireKey?: boolean;
  /**
   * This side takes no key at all (an open tracker): a connecting side
   * with one is told `no-key-expected`, not `unknown-key`. Never for a
   * peer, whose private shares must not show. @default {false}
   */
  noKeyExpected?: boolean;
  /** Ms the handshake may take. @default {SECURE_HANDSHAKE_TIMEOUT_MS} */
  timeoutMs?: number;
  /** What this side is, in the upgrade sentence for a plain peer. @default {"peer"} */
  role?: "peer" | "tracker";
  /**
   * Hold as little memory as possible while the connection is idle (a
   * tracker's many connections). @default {false}
   */
  compact?: boolean;
}

/**
 * Runs the accepting side's handshake on `conn`; undefined in a plaintext
 * benchmark. A plain-protocol peer is told, in its own protocol, to
 * upgrade; then this throws, as it does on a refusal or a time-out.
 */
export function secureAccept(
  conn: Deno.Conn,
  options: SecureAcceptOptions = {},
): Promise<SecureTransport | undefined> {
  if (PLAINTEXT_FOR_BENCH) return Promise.resolve(undefined);
  const raw = options.compact ? undefined : new CountedReads(conn);
  return withDeadline(conn, options.timeoutMs, async () => {
    try {
      const accepted = await acceptSecretStream(raw ?? conn, options);
      return { stream: accepted.stream, key: accepted.key?.name, raw };
    } catch (error) {
      if (error instanceof PlainPeerError) {
        await tellToUpgrade(conn, options.role ?? "peer");
      }
      throw error;
    }
  });
}

/** The sentence an old, plain-protocol peer is shown. */
export function upgradeSentence(role: "peer" | "tracker"): string {
  return `This ${role} runs p2p ${VERSION} and accepts only encrypted connections: upgrade p2p to ${VERSION} or later.`;
}

async function tellToUpgrade(
  conn: Deno.Conn,
  role: "peer" | "tracker",
): Promise<void> {
  const frame = encodeFrameHead({
    type: "error",
    code: "bad-request",
    message: upgradeSentence(role),
  });
  await writeAllAsync(conn, frame).catch(() => {
    // It left already.
  });
}

/** Runs `work`; if it takes over `ms`, closes `conn` and throws `TimedOut`. */
async function withDeadline<T>(
  conn: Deno.Conn,
  ms: number | undefined,
  work: () => Promise<T>,
): Promise<T> {
  const limit = ms ?? SECURE_HANDSHAKE_TIMEOUT_MS;
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    closeQuietly(conn);
  }, limit);
  try {
    return await work();
  } catch (error) {
    if (late) throw new HandshakeTimeoutError(limit);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function readBenchSwitch(): boolean {
  // Without permission to read it (the tracker), not a bench; and never a
  // permission prompt for it.
  const allowed = Deno.permissions.querySync({
    name: "env",
    variable: BENCH_PLAINTEXT_ENV,
  });
  return allowed.state === "granted" &&
    Deno.env.get(BENCH_PLAINTEXT_ENV) === "1";
}
