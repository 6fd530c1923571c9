/**
 * The fuzzer shared by `tests/fuzz_test.ts` (a short run in every test run)
 * and `scripts/fuzz.ts` (a long one): seeded random and mutated frames fed
 * through {@linkcode FrameReader} and {@linkcode fromFrame}. Bad input may
 * only throw the decoders' own error classes; anything else, or a read that
 * does not finish, is a finding.
 *
 * @module
 */

import { encodeFrame, FrameReader } from "../lib/protocol/frame.ts";
import { fromFrame, type Message, toFrame } from "../lib/protocol/messages.ts";
import { HASH_BYTES, MIN_PIECE_SIZE } from "../lib/protocol/limits.ts";
import { prng } from "./_hostile.ts";

/** Limits the fuzzer reads with: small, so that length fields often hit them. */
const LIMITS = { maxJsonBytes: 4096, maxBinaryBytes: 64 * 1024 };
/** Longest any one input may take to decode before it counts as a hang. */
export const FUZZ_INPUT_TIMEOUT_MS = 1_000;

/** Error classes bad input is allowed to throw. */
export function isExpectedError(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError ||
    error instanceof SyntaxError ||
    error instanceof Deno.errors.UnexpectedEof;
}

/** What a fuzz run found. */
export interface FuzzReport {
  /** Inputs tried. */
  inputs: number;
  /** Messages decoded successfully. */
  decoded: number;
  /** Expected errors, by class name. */
  refused: Record<string, number>;
  /** Unexpected errors or hangs, with the seed and input index to replay them. */
  findings: string[];
}

const ID = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const META = {
  id: ID,
  name: "report.pdf",
  size: 3 * MIN_PIECE_SIZE - 5,
  pieceSize: MIN_PIECE_SIZE,
  pieceHashes: new Uint8Array(3 * HASH_BYTES).fill(1),
};

/** One valid message of every type: the seeds mutations start from. */
const SEEDS: Message[] = [
  { type: "error", code: "bad-request", message: "No piece 9", index: 9 },
  { type: "ok" },
  { type: "register", meta: META, port: 6000 },
  { type: "announce", ids: [ID, ID], port: 6000 },
  { type: "announced", unknown: [ID] },
  { type: "unregister", id: ID, port: 6000 },
  { type: "query", id: ID.slice(0, 16), variant: 1 },
  {
    type: "file",
    meta: META,
    peers: [{ host: "10.0.0.7", port: 6000 }],
    variant: 0,
    variants: 2,
  },
  { type: "list" },
  { type: "search", text: "photos" },
  { type: "files", files: [{ id: ID, name: "a", size: 1, peers: 2 }] },
  { type: "stats" },
  {
    type: "stats-reply",
    stats: { files: 1, peers: 2, registrations: 3, requests: 4, uptimeMs: 5 },
  },
  { type: "hello", version: 2, id: ID },
  { type: "hello", version: 2, id: ID, port: 6001 },
  { type: "welcome", id: ID, pieces: 3 },
  { type: "welcome", id: ID, pieces: 10, have: Uint8Array.from([0xa0, 0x40]) },
  { type: "request", index: 2 },
  { type: "have", index: 5 },
  { type: "cancel", index: 2 },
  { type: "choke" },
  { type: "unchoke" },
  { type: "piece", index: 2, data: new Uint8Array(100).fill(3) },
];

const SEED_BYTES = SEEDS.map((m) => {
  const frame = toFrame(m);
  return encodeFrame(frame.header, frame.binary);
});

/** Values that break fields in interesting ways. */
const NASTY = [
  "1e400",
  "-1",
  "1.5",
  '"7"',
  "9007199254740993",
  "null",
  "[]",
  "{}",
  "true",
  '"__proto__"',
  '{"__proto__":{"type":"ok"}}',
  '"../x"',
  '""',
  "0",
  "4294967295",
  '"\\u0000"',
  '"\\ud800"',
  "[[[[[[[[[[]]]]]]]]]]",
];

/** A reader that hands out `bytes` in chunks of random sizes. */
function chunked(bytes: Uint8Array, random: () => number) {
  let at = 0;
  return {
    read(p: Uint8Array): Promise<number | null> {
      if (at >= bytes.length) return Promise.resolve(null);
      const n = Math.min(
        p.length,
        bytes.length - at,
        1 + Math.floor(random() * 64),
      );
      p.set(bytes.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
  };
}

/** Builds input number `i` of the run seeded with `seed`. */
export function fuzzInput(seed: number, i: number): Uint8Array {
  const random = prng(seed * 1_000_003 + i);
  const pick = <T>(list: readonly T[]) =>
    list[Math.floor(random() * list.length)];
  const kind = random();
  if (kind < 0.2) {
    // Pure random bytes, sometimes behind a plausible length prefix.
    const body = Uint8Array.from(
      { length: Math.floor(random() * 300) },
      () => Math.floor(random() * 256),
    );
    if (random() < 0.5) return body;
    const out = new Uint8Array(4 + body.length);
    new DataView(out.buffer).setUint32(0, body.length);
    out.set(body, 4);
    return out;
  }
  if (kind < 0.5) {
    // A valid frame with a few bytes flipped, cut short or repeated.
    const bytes = pick(SEED_BYTES).slice();
    const flips = 1 + Math.floor(random() * 4);
    for (let f = 0; f < flips; f++) {
      bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    }
    if (random() < 0.2) {
      return bytes.subarray(0, Math.floor(random() * bytes.length));
    }
    return bytes;
  }
  // A valid frame's JSON with one field's value replaced by a nasty one.
  const seedMessage = toFrame(pick(SEEDS));
  const header = seedMessage.header;
  const keys = Object.keys(header);
  const key = random() < 0.9
    ? pick(keys)
    : pick(["binary", "__proto__", "constructor"]);
  const parts = keys.filter((k) => k !== key).map((k) =>
    `${JSON.stringify(k)}:${JSON.stringify(header[k])}`
  );
  parts.push(`${JSON.stringify(key)}:${pick(NASTY)}`);
  if (seedMessage.binary.length) {
    parts.push(`"binary":${seedMessage.binary.length}`);
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const out = new Uint8Array(4 + json.length + seedMessage.binary.length);
  new DataView(out.buffer).setUint32(0, json.length);
  out.set(json, 4);
  out.set(seedMessage.binary, 4 + json.length);
  return out;
}

/** Decodes every frame in `bytes`; resolves to how many decoded. */
async function decodeAll(
  bytes: Uint8Array,
  random: () => number,
): Promise<number> {
  const reader = new FrameReader(chunked(bytes, random), LIMITS);
  let decoded = 0;
  for (;;) {
    const frame = await reader.read();
    if (frame === null) return decoded;
    fromFrame(frame);
    decoded++;
  }
}

/** Runs `count` inputs of the run seeded with `seed`. */
export async function fuzz(seed: number, count: number): Promise<FuzzReport> {
  const report: FuzzReport = {
    inputs: 0,
    decoded: 0,
    refused: {},
    findings: [],
  };
  for (let i = 0; i < count; i++) {
    const input = fuzzInput(seed, i);
    report.inputs++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hang = new Promise<"hang">((resolve) => {
      timer = setTimeout(() => resolve("hang"), FUZZ_INPUT_TIMEOUT_MS);
    });
    try {
      const result = await Promise.race([
        decodeAll(input, prng(seed + i)),
        hang,
      ]);
      if (result === "hang") {
        report.findings.push(`seed ${seed} input ${i}: did not finish`);
      } else {
        report.decoded += result;
      }
    } catch (error) {
      if (isExpectedError(error)) {
        const name = (error as Error).constructor.name;
        report.refused[name] = (report.refused[name] ?? 0) + 1;
      } else {
        report.findings.push(`seed ${seed} input ${i}: ${error}`);
      }
    } finally {
      clearTimeout(timer);
    }
  }
  return report;
}
