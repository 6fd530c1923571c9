/**
 * Asking DHT nodes whether they answer: one KRPC `ping` (BEP 5) to each,
 * from a socket of its own, counting the replies that come back in time.
 * `peer doctor` uses it to tell whether this machine can join the DHT
 * through its bootstrap nodes. A reply is bytes from anyone, so it is read
 * only up to {@linkcode MAX_PING_REPLY_BYTES}, decoded strictly, and one
 * that is not a reply to a ping sent here is ignored.
 *
 * @module
 */

import type { Socket } from "node:dgram";
import { bindUdp } from "./_dht_guard.ts";
import { bootstrapNode } from "./_dht_setup.ts";
import { concatBytes } from "../util/concat_bytes.ts";

/** Longest reply decoded; a KRPC ping reply is about 50 bytes. */
export const MAX_PING_REPLY_BYTES = 1500;
/** The {@linkcode PingedNode} error of a node whose name does not resolve. */
export const NO_SUCH_HOST = "no such host";
/** Deepest nesting of lists and dictionaries decoded in a reply. */
const MAX_DEPTH = 8;

/** Whether one node answered, and how fast; or why not. */
export interface PingedNode {
  /** The node, as given (`host:port`). */
  node: string;
  /** Ms until its reply, if it replied in time. */
  ms?: number;
  /** Why nothing could be sent to it, in a few words ("no such host"). */
  error?: string;
}

/** Options for {@linkcode pingDhtNodes}. */
export interface PingOptions {
  /** The local IPv4 address to send from. @default {"0.0.0.0"} */
  host?: string;
  /** Ms to wait for the replies. */
  timeoutMs: number;
}

/**
 * Pings each of `nodes` (`host:port`, IPv4 or a name) at once and waits up
 * to `timeoutMs` for their replies; one result per node, in order. Rejects
 * only when no UDP socket can be bound (with the system's error), or with a
 * RangeError for a node that is not `host:port`.
 */
export async function pingDhtNodes(
  nodes: readonly string[],
  options: PingOptions,
): Promise<PingedNode[]> {
  const endpoints = nodes.map(bootstrapNode);
  const socket = await bindUdp(0, options.host ?? "0.0.0.0");
  const results: PingedNode[] = nodes.map((node) => ({ node }));
  const started = performance.now();
  const id = crypto.getRandomValues(new Uint8Array(20));
  const waiting = new Set(results.map((_, i) => i));
  let settle = () => {};
  const done = new Promise<void>((resolve) => settle = resolve);
  const finished = (i: number) => {
    waiting.delete(i);
    if (waiting.size === 0) settle();
  };
  socket.on("message", (bytes: Uint8Array) => {
    const i = replyTo(bytes);
    if (i === undefined || !waiting.has(i)) return;
    results[i].ms = Math.round(performance.now() - started);
    finished(i);
  });
  // A send that fails later (no route) is only seen here: it answers nothing.
  socket.on("error", () => {});
  endpoints.forEach(({ host, port }, i) => {
    const failed = (error?: Error | null) => {
      if (!error) return;
      results[i].error = sendFailure(error);
      finished(i);
    };
    try {
      socket.send(encodePing(id, i), port, host, failed);
    } catch (error) {
      failed(error as Error);
    }
  });
  const timer = setTimeout(settle, options.timeoutMs);
  try {
    if (waiting.size > 0) await done;
  } finally {
    clearTimeout(timer);
    await close(socket);
  }
  return results;
}

/**
 * The KRPC ping query from node `id` (20 bytes) with transaction number
 * `n` (0 to 65535, sent as two bytes).
 *
 * @example
 * ```ts
 * encodePing(id, 0); // d1:ad2:id20:…e1:q4:ping1:t2:\0\01:y1:qe
 * ```
 */
export function encodePing(id: Uint8Array, n: number): Uint8Array {
  const text = (s: string) => new TextEncoder().encode(s);
  return concatBytes([
    text("d1:ad2:id20:"),
    id,
    text("e1:q4:ping1:t2:"),
    new Uint8Array([n >> 8, n & 0xff]),
    text("1:y1:qe"),
  ]);
}

/**
 * The transaction number of a ping that `bytes` reply to (a bencoded
 * dictionary with `y` "r" and a two-byte `t`), or undefined for anything
 * else. Never throws.
 */
export function replyTo(bytes: Uint8Array): number | undefined {
  if (bytes.length > MAX_PING_REPLY_BYTES) return undefined;
  let message: Bencoded;
  try {
    const [value, end] = decode(bytes, 0, 0);
    if (end !== bytes.length) return undefined;
    message = value;
  } catch {
    return undefined;
  }
  if (!(message instanceof Map)) return undefined;
  const y = message.get("y");
  const t = message.get("t");
  if (!(y instanceof Uint8Array) || y.length !== 1 || y[0] !== 0x72) {
    return undefined;
  }
  if (!(t instanceof Uint8Array) || t.length !== 2) return undefined;
  return t[0] << 8 | t[1];
}

/** A bencoded value: bytes, an integer, a list, a dictionary. */
type Bencoded = Uint8Array | number | Bencoded[] | Map<string, Bencoded>;

/** The value at `at` and where it ends; a RangeError for anything malformed. */
function decode(
  bytes: Uint8Array,
  at: number,
  depth: number,
): [Bencoded, number] {
  const byte = bytes[at];
  if (byte === 0x69) { // i<digits>e
    const end = bytes.indexOf(0x65, at);
    const digits = ascii(bytes, at + 1, end);
    if (end < 0 || !/^-?\d{1,15}$/.test(digits)) throw new RangeError("int");
    return [Number(digits), end + 1];
  }
  if (byte === 0x6c || byte === 0x64) { // l…e, d…e
    if (depth >= MAX_DEPTH) throw new RangeError("too deep");
    const items: Bencoded[] = [];
    let next = at + 1;
    while (bytes[next] !== 0x65) {
      if (next >= bytes.length) throw new RangeError("unended");
      const [item, end] = decode(bytes, next, depth + 1);
      items.push(item);
      next = end;
    }
    return [byte === 0x6c ? items : toMap(items), next + 1];
  }
  const colon = bytes.indexOf(0x3a, at);
  const length = ascii(bytes, at, colon);
  if (colon < 0 || !/^\d{1,4}$/.test(length)) throw new RangeError("string");
  const end = colon + 1 + Number(length);
  if (end > bytes.length) throw new RangeError("short");
  return [bytes.subarray(colon + 1, end), end];
}

/** A dictionary's items (key, value, key, value…) as a map; keys are strings. */
function toMap(items: Bencoded[]): Map<string, Bencoded> {
  if (items.length % 2 !== 0) throw new RangeError("odd dictionary");
  const map = new Map<string, Bencoded>();
  for (let i = 0; i < items.length; i += 2) {
    const key = items[i];
    if (!(key instanceof Uint8Array)) throw new RangeError("key");
    map.set(ascii(key, 0, key.length), items[i + 1]);
  }
  return map;
}

function ascii(bytes: Uint8Array, from: number, to: number): string {
  return to < from ? "" : String.fromCharCode(...bytes.subarray(from, to));
}

/** Why a datagram could not be sent, in a few words. */
function sendFailure(error: Error): string {
  const code = (error as { code?: string }).code;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") {
    return NO_SUCH_HOST;
  }
  if (code === "ENETUNREACH" || code === "EHOSTUNREACH") {
    return "no route to it";
  }
  return error.message;
}

function close(socket: Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
