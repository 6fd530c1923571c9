/**
 * What the transport cipher alone costs on this machine, per GiB: the
 * product's CipherState (`lib/secure/noise.ts`, ChaCha20-Poly1305 through
 * Deno's `node:crypto`) sealing, and sealing then opening, 256 KiB records
 * in memory, beside SHA-256 of the same records and, when `openssl` is
 * installed, OpenSSL's own speed for both on this CPU. It says how much of
 * the encrypted floor's extra CPU (`floor.ts`) is the cipher, and what a
 * faster implementation of the same cipher would leave.
 *
 * ```sh
 * flock /tmp/bench.lock deno run --allow-run=openssl bench/cipher_speed.ts
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";
import { CipherState, KEY_BYTES, TAG_BYTES } from "../lib/secure/noise.ts";
import { DEFAULT_PIECE_SIZE } from "../lib/protocol/limits.ts";

/** Bytes each measurement goes through. */
const TOTAL_BYTES = 1024 ** 3;
/** Seconds `openssl speed` runs each algorithm. */
const OPENSSL_SECONDS = 2;
/** A fixed key: the speed does not depend on it. */
const KEY_BYTE = 7;

/** Ms per GiB of `step`, run once per 256 KiB record. */
function msPerGiB(step: () => void): number {
  const started = performance.now();
  for (let done = 0; done < TOTAL_BYTES; done += DEFAULT_PIECE_SIZE) step();
  return performance.now() - started;
}

/** OpenSSL's ms per GiB of `algorithm` at 256 KiB blocks, if it runs. */
async function opensslMsPerGiB(algorithm: string): Promise<number | undefined> {
  try {
    const { stdout, success } = await new Deno.Command("openssl", {
      args: [
        "speed",
        "-seconds",
        String(OPENSSL_SECONDS),
        "-evp",
        algorithm,
        "-bytes",
        String(DEFAULT_PIECE_SIZE),
      ],
      stderr: "null",
    }).output();
    if (!success) return undefined;
    const last = new TextDecoder().decode(stdout).trim().split("\n").pop();
    const kbPerSecond = Number(
      last?.trim().split(/\s+/).pop()?.replace("k", ""),
    );
    if (!Number.isFinite(kbPerSecond) || kbPerSecond <= 0) return undefined;
    return TOTAL_BYTES / (kbPerSecond * 1000) * 1000;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const key = new Uint8Array(KEY_BYTES).fill(KEY_BYTE);
  const plain = new Uint8Array(DEFAULT_PIECE_SIZE);
  crypto.getRandomValues(plain.subarray(0, 65_536));
  const sealed = new Uint8Array(DEFAULT_PIECE_SIZE + TAG_BYTES);
  const none = new Uint8Array(0);
  const alone = new CipherState(key);
  const send = new CipherState(key);
  const receive = new CipherState(key);
  const rows: [string, number | undefined][] = [
    [
      "seal (CipherState.encryptInto)",
      msPerGiB(() => alone.encryptInto(none, plain, sealed, 0)),
    ],
    [
      "seal, then open in place",
      msPerGiB(() => {
        send.encryptInto(none, plain, sealed, 0);
        receive.decryptInto(none, sealed, sealed);
      }),
    ],
    [
      "SHA-256 (node:crypto)",
      msPerGiB(() => createHash("sha256").update(plain).digest()),
    ],
    [
      "OpenSSL ChaCha20-Poly1305, one way",
      await opensslMsPerGiB("chacha20-poly1305"),
    ],
    ["OpenSSL SHA-256", await opensslMsPerGiB("sha256")],
  ];
  console.log("| 256 KiB records | ms per GiB |\n|---|---:|");
  for (const [name, ms] of rows) {
    console.log(`| ${name} | ${ms === undefined ? "—" : ms.toFixed(0)} |`);
  }
}

if (import.meta.main) await main();
