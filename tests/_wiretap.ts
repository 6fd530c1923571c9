/**
 * Test helpers for proving what crosses the wire: a TCP relay that records
 * every byte both ways, and a file with a marker repeated through it, so a
 * capture can be searched for the file's contents.
 *
 * @module
 */

import { join } from "node:path";
import type { Address } from "../lib/net/connection.ts";

/** Text repeated through {@linkcode markedFile}: found in a capture, it leaked. */
export const MARKER = "MARKER-7f3a9c-the-file-contents-MARKER";
/** The name {@linkcode markedFile} gives its file. */
export const MARKED_NAME = "quarterly-secret-report.txt";
const LOCAL = "127.0.0.1";

/** A TCP relay to `target` that records every byte, both directions. */
export function recordingRelay(target: Address): AsyncDisposable & {
  address: Address;
  recorded: () => Uint8Array;
} {
  const listener = Deno.listen({ hostname: LOCAL, port: 0 });
  const chunks: Uint8Array[] = [];
  const open = new Set<Deno.Conn>();
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        chunks.push(buffer.slice(0, n));
        for (let done = 0; done < n;) {
          done += await to.write(buffer.subarray(done, n));
        }
      }
    } catch {
      // One side went away.
    } finally {
      for (const conn of [from, to]) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
        open.delete(conn);
      }
    }
  };
  const accepting = (async () => {
    for await (const inbound of listener) {
      const outbound = await Deno.connect({
        hostname: target.host,
        port: target.port,
      });
      open.add(inbound).add(outbound);
      pipe(inbound, outbound);
      pipe(outbound, inbound);
    }
  })().catch(() => {});
  return {
    address: { host: LOCAL, port: listener.addr.port },
    recorded: () => {
      const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const chunk of chunks) {
        all.set(chunk, at);
        at += chunk.length;
      }
      return all;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      await accepting;
    },
  };
}

/** A file of about 1.5 MiB with the marker repeated through it. */
export async function markedFile(dir: string): Promise<string> {
  const path = join(dir, MARKED_NAME);
  const line = `${MARKER}\n`;
  await Deno.writeTextFile(
    path,
    line.repeat(Math.ceil(1_600_000 / line.length)),
  );
  return path;
}

/** True if `needle` occurs in `haystack`. */
export function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}
