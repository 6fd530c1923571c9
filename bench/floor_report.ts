/**
 * The floor rows of the loopback report (bench/floor.ts, in clear and
 * encrypted), each beside aria2c when it ran in the same run, and the
 * target of issue #19 (a get at least GET_TARGET_ARIA2_RATIO_19 × aria2c)
 * with what the encrypted floor reaches beside it: no encrypted get on
 * this machine can beat that floor.
 *
 * @module
 */

import type { Aria2Result } from "./aria2.ts";
import { ms, size } from "./_format.ts";
import type { CryptoResults } from "./crypto.ts";
import type { FloorResult } from "./floor.ts";
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
  for (const [floor, name] of floors) {
    if (!floor) continue;
    said.push(
      `${name} ${
        (floor.mbps / aria2.mbps).toFixed(2)
      }× (its CPU over ${part.cpus} cores allows ≤ ${
        (boundMbps(floor, part.cpus) / aria2.mbps).toFixed(2)
      }×)`,
    );
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
