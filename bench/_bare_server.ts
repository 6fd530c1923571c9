/**
 * The flood floor's server (`flood_floor.ts`): the barest server of the
 * tracker's load. It accepts every connection, reads each one's frames
 * (`_flood_frames.ts`) as the tracker does (one socket read of 512 bytes
 * pending, one async function per connection), admits queries within the
 * tracker's rate per address (a token bucket, `lib/tracker/rate_limit.ts`;
 * a query over it waits for its token, this connection reading nothing
 * meanwhile, or past the longest wait is answered `busy`) and answers each
 * request with a reply of the tracker's size. With `cipher`, each record is
 * opened and each reply sealed by `node:crypto`. No handshake, JSON,
 * registry, deadlines or turns.
 *
 * Run as a child: `deno run --allow-net _bare_server.ts '<options JSON>'`;
 * prints `listening on 127.0.0.1:PORT` once it listens, and serves until
 * killed.
 *
 * @module
 */

import { RateLimiter } from "../lib/tracker/rate_limit.ts";
import {
  frame,
  FrameSplitter,
  KIND,
  plaintext,
  QUERY_REPLY_PAYLOAD_BYTES,
  RecordCipher,
  SHORT_REPLY_PAYLOAD_BYTES,
} from "./_flood_frames.ts";

/** Bytes of each connection's socket read: the tracker's PUSH_READ_BYTES. */
export const READ_BYTES = 512;

/** Options of the server, as its one argument (JSON). */
export interface BareServerOptions {
  /** Address to listen on. */
  host: string;
  /** Queries a second one address is admitted. */
  queriesPerSecond: number;
  /** Queries one address may make at once before the rate applies. */
  queryBurst: number;
  /** Longest ms a query over its rate waits for its token before `busy`. */
  rateWaitMs: number;
  /** Open each request and seal each reply (ChaCha20-Poly1305, node:crypto). */
  cipher: boolean;
}

/** The replies, framed once: in clear they are the same bytes every time. */
const PLAIN = {
  query: frame(plaintext(KIND.query, QUERY_REPLY_PAYLOAD_BYTES, false)),
  announce: frame(plaintext(KIND.announce, SHORT_REPLY_PAYLOAD_BYTES, false)),
  busy: frame(plaintext(KIND.busy, SHORT_REPLY_PAYLOAD_BYTES, false)),
};
/** Their plaintexts, to seal per record. */
const SEALABLE = {
  query: plaintext(KIND.query, QUERY_REPLY_PAYLOAD_BYTES, true),
  announce: plaintext(KIND.announce, SHORT_REPLY_PAYLOAD_BYTES, true),
  busy: plaintext(KIND.busy, SHORT_REPLY_PAYLOAD_BYTES, true),
};

/** Listens and serves until the process is killed. */
async function main(options: BareServerOptions): Promise<void> {
  const listener = Deno.listen({ hostname: options.host, port: 0 });
  const limiter = new RateLimiter({
    rate: options.queriesPerSecond,
    burst: options.queryBurst,
  });
  setInterval(() => limiter.sweep(), 5_000);
  const { hostname, port } = listener.addr as Deno.NetAddr;
  console.log(`listening on ${hostname}:${port}`);
  for await (const conn of listener) {
    serve(conn, limiter, options).catch(() => {});
  }
}

/** Answers one connection's requests in order until it ends or errs. */
async function serve(
  conn: Deno.TcpConn,
  limiter: RateLimiter,
  options: BareServerOptions,
): Promise<void> {
  try {
    conn.setNoDelay(true);
    const host = (conn.remoteAddr as Deno.NetAddr).hostname;
    const chunk = new Uint8Array(READ_BYTES);
    const frames = new FrameSplitter();
    const records = options.cipher ? new RecordCipher() : undefined;
    for (;;) {
      let payload: Uint8Array | undefined;
      while ((payload = frames.next()) === undefined) {
        const got = await conn.read(chunk);
        if (got === null) return;
        frames.push(chunk.subarray(0, got));
      }
      const kind = records ? records.open(payload)[0] : payload[0];
      let reply: keyof typeof PLAIN = "announce";
      if (kind === KIND.query) {
        const waitMs = limiter.reserve(host, options.rateWaitMs);
        if (waitMs === undefined) reply = "busy";
        else {
          reply = "query";
          if (waitMs > 0) await sleep(waitMs);
        }
      }
      await writeAll(
        conn,
        records ? frame(records.seal(SEALABLE[reply])) : PLAIN[reply],
      );
    }
  } finally {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    at += await conn.write(bytes.subarray(at));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

if (import.meta.main) await main(JSON.parse(Deno.args[0]));
