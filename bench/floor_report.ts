/**
 * The floor rows of the loopback report (bench/floor.ts, in clear and
 * encrypted), each beside aria2c when it ran in the same run, and the
 * target of issue #19 (a get at least GET_TARGET_ARIA2_RATIO_19 × aria2c)
 * with what the encrypted floor reaches beside it: no encrypted get on
 * this machine can beat that floor. With an encrypted get's fixed cost
 * (bench/floor_fixed.ts: what a get spends besides its bytes, which the
 * floor's timing leaves out), also the bound they make together: no
 * encrypted get here takes less than the floor plus the fixed cost.
 *
 * @module
 */

import type { Aria2Result } from "./aria2.ts";
import { ms, size } from "./_format.ts";
import type { CryptoResults } from "./crypto.ts";
import type { FloorResult } from "./floor.ts";
import type { FixedCostResult } from "./floor_fixed.ts";
import type { GetResult } from "./transfer.ts";

/** Issue #19: a 1 GiB get on loopback at least this many times aria2c. */
export const GET_TARGET_ARIA2_RATIO_19 = 4;

/** What the floor rows and their target read from a run's results. */
export interface FloorPart {
  /** Logical CPUs of the machine. */
  cpus: number;
  /** The floor in clear. */
  floor?: FloorResult;
  /** The floor through the secret stream. */
  floorEncrypted?: FloorResult;
  /** An encrypted get's fixed cost (gets of a one-piece file). */
  fixedCost?: FixedCostResult;
  /** The aria2c anchor. */
  aria2?: Aria2Result;
  /** A get from 1 sharer as shipped (encrypted), if the run had one. */
  get?: GetResult;
  /** The encryption rows, whose 1-sharer get is preferred to `get`. */
  crypto?: CryptoResults;
}

/** A table row: name, ms, MB/s (the report's own row function). */
export type RowFunction = (name: string, t: number, mbps: number) => void;

/** Adds a row for each floor measured, through `row`. */
export function formatFloors(part: FloorPart, row: RowFunction): void {
  const ways = [
    [part.floor, "Floor"],
    [
      part.floorEncrypted,
      "Floor, encrypted (the same through the secret stream: each 256 KiB sealed and opened, ChaCha20-Poly1305)",
    ],
  ] as const;
  for (const [floor, name] of ways) {
    if (!floor) continue;
    row(
      `${name}: receive over TCP, SHA-256 of each piece and of the whole file (2 threads), write past the page cache, ${
        size(floor.bytes)
      } (median of ${floor.runs.length}: ${
        floor.runs.map((run) => run.toFixed(0)).join(", ")
      } MB/s; receiver ${
        (floor.cpuMs / 1000).toFixed(2)
      } CPU-s, with the sender ${
        ((floor.cpuMs + (floor.senderCpuMs ?? 0)) / 1000).toFixed(2)
      }, all processes ${(floor.busyMs / 1000).toFixed(2)}, so ≥ ${
        ms(busyBound(floor, part.cpus))
      } on ${part.cpus} cores${aria2Ratios(floor, part)}${
        floor.direct ? "" : "; some writes through the page cache"
      })`,
      floor.ms,
      floor.mbps,
    );
  }
  const fixed = part.fixedCost;
  if (fixed) {
    row(
      `Fixed cost of an encrypted get: peer get of a ${
        fixed.bytes / 1024
      } KiB file (one piece) from 1 sharer, spawn to exit: process start, module loading, tracker lookup, handshake, final flush, rename and exit, which the floors leave out (median of ${fixed.runs.length}: ${
        fixed.runs.map((run) => run.toFixed(0)).join(", ")
      } ms, spread ${spreadMs(fixed)} ms; the get itself reported ${
        ms(fixed.reportedMs)
      })`,
      fixed.ms,
      bytesMbps(fixed.bytes, fixed.ms),
    );
  }
  const bound = encryptedGetBound(part);
  if (bound) {
    row(
      `Fastest an encrypted get of ${
        size(bound.bytes)
      } can be here: the encrypted floor plus an encrypted get's fixed cost (${
        ms(bound.floorMs)
      } + ${ms(bound.fixedMs)}), so at most ${
        bound.ratio.toFixed(2)
      }× aria2c's ${ms(bound.aria2Ms)}: ${
        bound.met ? "at least" : "below"
      } the ${GET_TARGET_ARIA2_RATIO_19}× issue #19 asks for`,
      bound.ms,
      bytesMbps(bound.bytes, bound.ms),
    );
  }
}

/** The fastest an encrypted get can be, beside aria2c (see below). */
export interface EncryptedGetBound {
  /** Bytes of the file (the floor's and aria2c's). */
  bytes: number;
  /** The encrypted floor's median ms. */
  floorMs: number;
  /** The fixed cost's median ms. */
  fixedMs: number;
  /** Their sum: no encrypted get of the file here takes less. */
  ms: number;
  /** aria2c's ms, spawn to exit. */
  aria2Ms: number;
  /** aria2c's ms ÷ `ms`: the most × aria2c an encrypted get can reach. */
  ratio: number;
  /** Whether `ratio` is at least GET_TARGET_ARIA2_RATIO_19. */
  met: boolean;
}

/**
 * The encrypted floor's median time plus the fixed cost's median, against
 * aria2c's time for the same bytes; undefined unless all three ran.
 */
export function encryptedGetBound(
  part: FloorPart,
): EncryptedGetBound | undefined {
  const floor = part.floorEncrypted;
  const fixed = part.fixedCost;
  const aria2 = part.aria2?.ran ? part.aria2 : undefined;
  if (!floor || !fixed || !aria2 || aria2.bytes !== floor.bytes) {
    return undefined;
  }
  const ms = floor.ms + fixed.ms;
  const ratio = aria2.wallMs / ms;
  return {
    bytes: floor.bytes,
    floorMs: floor.ms,
    fixedMs: fixed.ms,
    ms,
    aria2Ms: aria2.wallMs,
    ratio,
    met: ratio >= GET_TARGET_ARIA2_RATIO_19,
  };
}

/** The target of issue #19, when aria2c ran beside a get or a floor. */
export function floorTargets(part: FloorPart): {
  name: string;
  goal: string;
  measured: string;
  met?: boolean;
}[] {
  const aria2 = part.aria2?.ran ? part.aria2 : undefined;
  const get = aria2 && encryptedGet(part, aria2.bytes);
  if (!aria2 || (!get && !part.floorEncrypted)) return [];
  const said: string[] = [];
  if (get) said.push(`get ${(get.mbps / aria2.mbps).toFixed(2)}×`);
  const floors = [
    [part.floorEncrypted, "encrypted floor"],
    [part.floor, "plain floor"],
  ] as const;
  const bound = encryptedGetBound(part);
  for (const [floor, name] of floors) {
    if (!floor) continue;
    said.push(
      `${name} ${
        (floor.mbps / aria2.mbps).toFixed(2)
      }× (its CPU over ${part.cpus} cores allows ≤ ${
        (boundMbps(floor, part.cpus) / aria2.mbps).toFixed(2)
      }×)`,
    );
    if (floor === part.floorEncrypted && bound) {
      said.push(
        `encrypted floor + a get's fixed cost (${ms(bound.fixedMs)}) allows ≤ ${
          bound.ratio.toFixed(2)
        }×`,
      );
    }
  }
  return [{
    name: `Get from 1 sharer vs aria2c, ${
      size(aria2.bytes)
    } on 127.0.0.1, encrypted (#19), beside the floors`,
    goal: `≥ ${GET_TARGET_ARIA2_RATIO_19}× aria2c`,
    measured: said.join("; "),
    met: get ? get.mbps / aria2.mbps >= GET_TARGET_ARIA2_RATIO_19 : undefined,
  }];
}

/** Ms no schedule of the floor's work beats: all its CPU over every core. */
export function busyBound(floor: FloorResult, cpus: number): number {
  return floor.busyMs / Math.max(1, cpus);
}

function boundMbps(floor: FloorResult, cpus: number): number {
  return floor.bytes / 1e6 / (busyBound(floor, cpus) / 1000);
}

/** Fastest to slowest of `fixed`'s runs, e.g. `290-340`. */
function spreadMs(fixed: FixedCostResult): string {
  return `${Math.min(...fixed.runs).toFixed(0)}-${
    Math.max(...fixed.runs).toFixed(0)
  }`;
}

function bytesMbps(bytes: number, t: number): number {
  return t > 0 ? bytes / 1e6 / (t / 1000) : 0;
}

function aria2Ratios(floor: FloorResult, part: FloorPart): string {
  if (!part.aria2?.ran || part.aria2.bytes !== floor.bytes) return "";
  const mbps = part.aria2.mbps;
  return `; ${(floor.mbps / mbps).toFixed(2)}× aria2c, its CPU bound ${
    (boundMbps(floor, part.cpus) / mbps).toFixed(2)
  }×`;
}

/**
 * The encrypted get of `bytes` from 1 sharer: the encryption rows' median,
 * else the get row (as shipped).
 */
function encryptedGet(
  part: FloorPart,
  bytes: number,
): { mbps: number } | undefined {
  const row = part.crypto?.gets.find((g) =>
    g.sharers === 1 && g.bytes === bytes
  );
  return row?.encrypted ?? (part.get?.bytes === bytes ? part.get : undefined);
}
