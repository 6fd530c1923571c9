/**
 * `deno task demo`: the whole product on one machine. Starts a tracker on
 * 127.0.0.1, two sharers of a generated 20 MiB file of random bytes, and a
 * get into a temporary folder, all as real `tracker.ts` / `peer.ts`
 * processes; then checks the downloaded bytes against the original, prints
 * the verified result and stops everything. Exits 0 only if the file came
 * out identical.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { type Child, runEntry, spawnEntry } from "./_child.ts";
import { formatSize, formatSpeed } from "../lib/cli/format.ts";

/** Size of the generated file. */
export const DEMO_FILE_BYTES = 20 * 1024 * 1024;
/** Longest wait for a process to print what it is expected to print. */
export const STEP_TIMEOUT_MS = 30_000;
/** Longest the download may take. */
export const GET_TIMEOUT_MS = 120_000;

interface ShareLine {
  id: string;
  address: string;
}

async function main(): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "p2p-demo-" });
  const children: Child[] = [];
  try {
    const source = join(dir, "demo file.bin");
    say(`Writing ${formatSize(DEMO_FILE_BYTES)} of random bytes to ${source}`);
    const expected = await writeRandomFile(source, DEMO_FILE_BYTES);

    const tracker = spawnEntry("tracker.ts", [
      "--host",
      "127.0.0.1",
      "--port",
      "0",
    ]);
    children.push(tracker);
    const line = await tracker.waitForLine(/listening on/, STEP_TIMEOUT_MS);
    const address = line.slice(line.lastIndexOf(" ") + 1);
    say(`Tracker listening on ${address}`);

    const shares: ShareLine[] = [];
    for (const n of [1, 2]) {
      const sharer = spawnEntry("peer.ts", [
        "share",
        source,
        "--tracker",
        address,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--json",
      ]);
      children.push(sharer);
      const json = await sharer.waitForLine(/^\{/, STEP_TIMEOUT_MS);
      const share = JSON.parse(json) as ShareLine;
      shares.push(share);
      say(`Sharer ${n} serving on ${share.address}, ID ${share.id}`);
    }

    const out = join(dir, "downloads");
    say(`Getting ${shares[0].id.slice(0, 16)} into ${out}`);
    const get = await runEntry("peer.ts", [
      "get",
      shares[0].id.slice(0, 16),
      "--tracker",
      address,
      "--out",
      out,
      "--json",
    ], { timeoutMs: GET_TIMEOUT_MS });
    if (get.code !== 0) {
      throw new Error(`peer get exited ${get.code}: ${get.stderr.trim()}`);
    }
    const result = JSON.parse(get.stdout.trim().split("\n").pop() ?? "{}");
    const actual = await sha256File(result.path);
    const sameBytes = await sameContents(source, result.path);
    for (const peer of result.peers as { address: string; bytes: number }[]) {
      say(`  received ${formatSize(peer.bytes)} from ${peer.address}`);
    }
    if (actual !== expected || !sameBytes || result.id !== expected) {
      throw new Error(
        `Downloaded file differs: SHA-256 ${actual}, expected ${expected}.`,
      );
    }
    const seconds = Math.max(result.elapsedMs, 1) / 1000;
    const speed = formatSpeed(result.size / seconds);
    say(
      `Verified: ${result.path} is identical to the original (${
        formatSize(result.size)
      }, SHA-256 ${actual}); downloaded in ${seconds.toFixed(2)} s, ${speed}.`,
    );
    return 0;
  } finally {
    const statuses = await Promise.all(
      children.reverse().map((child) => child.stop()),
    );
    if (statuses.some((status) => !status.success)) {
      say("Warning: a tracker or sharer did not exit cleanly on SIGTERM.");
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    say("Stopped the tracker and both sharers.");
  }
}

async function writeRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  const chunk = new Uint8Array(1 << 20);
  for (let done = 0; done < size; done += chunk.length) {
    for (let i = 0; i < chunk.length; i += 65536) {
      crypto.getRandomValues(chunk.subarray(i, i + 65536));
    }
    const part = chunk.subarray(0, Math.min(chunk.length, size - done));
    hash.update(part);
    for (let written = 0; written < part.length;) {
      written += await file.write(part.subarray(written));
    }
  }
  return hash.digest("hex");
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  // The readable stream closes the file when it ends.
  const file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

async function sameContents(a: string, b: string): Promise<boolean> {
  const [left, right] = await Promise.all([Deno.readFile(a), Deno.readFile(b)]);
  return left.length === right.length &&
    left.every((byte, i) => byte === right[i]);
}

function say(line: string): void {
  console.log(line);
}

if (import.meta.main) {
  const watchdog = setTimeout(() => {
    console.error("The demo took too long and was stopped.");
    Deno.exit(1);
  }, STEP_TIMEOUT_MS * 4 + GET_TIMEOUT_MS);
  try {
    Deno.exitCode = await main();
  } catch (error) {
    console.error(`Demo failed: ${(error as Error).message}`);
    Deno.exitCode = 1;
  } finally {
    clearTimeout(watchdog);
  }
}
